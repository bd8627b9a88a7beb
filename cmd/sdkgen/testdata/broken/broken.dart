// A Dart file with one syntax error, on line 4 (a call that is never closed): the syntax
// check must report it as broken.dart:4.
void main() {
  print('unclosed';
}
