// JSON whose numbers keep the text they were written with. The cache stores documents as
// the server sent them (docs/sdk-core.md, "The cache"), and a push sends each mutation as
// it was stored: dart:convert would turn 1.0e+20 into 100000000000000000000.0 and an
// integer past 2^63 into a double. Only the SDK's sync path and its tests use this;
// documents given to the app are plain Dart values (jsonDecode).

import 'dart:convert';

/// A JSON number, as the text it was written with.
final class JsonNumber {
  /// The number written as [text] (JSON number syntax).
  const JsonNumber(this.text);

  /// The number's text.
  final String text;

  /// The number as a Dart value: an int when the text is an integer that fits in 64
  /// bits, else a double.
  num get value => int.tryParse(text) ?? double.parse(text);

  @override
  bool operator ==(Object other) => other is JsonNumber && other.text == text;

  @override
  int get hashCode => text.hashCode;

  @override
  String toString() => text;
}

/// Decodes JSON text: objects are `Map<String, Object?>` (in their order), arrays
/// `List<Object?>`, numbers [JsonNumber]. Throws a FormatException on malformed JSON.
Object? decodeJsonText(String source) {
  final p = _Parser(source);
  p.space();
  final v = p.value();
  p.space();
  if (p.i != source.length) p.fail('unexpected text after the value');
  return v;
}

/// Encodes a value made of null, bool, String, num, [JsonNumber], lists and string-keyed
/// maps; a [JsonNumber] is written as its text.
String encodeJsonText(Object? value) {
  final b = StringBuffer();
  _write(b, value);
  return b.toString();
}

void _write(StringBuffer b, Object? v) {
  switch (v) {
    case null || bool _ || String _ || num _:
      b.write(jsonEncode(v));
    case JsonNumber n:
      b.write(n.text);
    case List<Object?> list:
      b.write('[');
      for (var i = 0; i < list.length; i++) {
        if (i > 0) b.write(',');
        _write(b, list[i]);
      }
      b.write(']');
    case Map<String, Object?> map:
      b.write('{');
      var first = true;
      for (final e in map.entries) {
        if (!first) b.write(',');
        first = false;
        b.write(jsonEncode(e.key));
        b.write(':');
        _write(b, e.value);
      }
      b.write('}');
    default:
      throw JsonUnsupportedObjectError(v);
  }
}

/// Turns [JsonNumber]s (at any depth) into Dart numbers: the value as the app sees it.
Object? plainJson(Object? v) => switch (v) {
      JsonNumber n => n.value,
      List<Object?> list => [for (final e in list) plainJson(e)],
      Map<String, Object?> map => <String, Object?>{for (final e in map.entries) e.key: plainJson(e.value)},
      _ => v,
    };

final _number = RegExp(r'-?(?:0|[1-9][0-9]*)(?:\.[0-9]+)?(?:[eE][+-]?[0-9]+)?');

final class _Parser {
  _Parser(this.s);

  final String s;
  int i = 0;

  Never fail(String why) => throw FormatException('JSON: $why', s, i);

  void space() {
    while (i < s.length) {
      final c = s.codeUnitAt(i);
      if (c != 0x20 && c != 0x09 && c != 0x0A && c != 0x0D) return;
      i++;
    }
  }

  Object? value() {
    if (i >= s.length) fail('unexpected end');
    final c = s[i];
    switch (c) {
      case '{':
        return object();
      case '[':
        return array();
      case '"':
        return string();
      case 't':
        return literal('true', true);
      case 'f':
        return literal('false', false);
      case 'n':
        return literal('null', null);
    }
    final m = _number.matchAsPrefix(s, i);
    if (m == null || m.end == i) fail('unexpected character');
    i = m.end;
    return JsonNumber(m[0]!);
  }

  Object? literal(String word, Object? v) {
    if (!s.startsWith(word, i)) fail('unexpected character');
    i += word.length;
    return v;
  }

  Map<String, Object?> object() {
    i++; // {
    final out = <String, Object?>{};
    space();
    if (i < s.length && s[i] == '}') {
      i++;
      return out;
    }
    while (true) {
      space();
      if (i >= s.length || s[i] != '"') fail('expected a string key');
      final key = string();
      space();
      if (i >= s.length || s[i] != ':') fail('expected :');
      i++;
      space();
      out[key] = value();
      space();
      if (i < s.length && s[i] == ',') {
        i++;
        continue;
      }
      if (i < s.length && s[i] == '}') {
        i++;
        return out;
      }
      fail('expected , or }');
    }
  }

  List<Object?> array() {
    i++; // [
    final out = <Object?>[];
    space();
    if (i < s.length && s[i] == ']') {
      i++;
      return out;
    }
    while (true) {
      space();
      out.add(value());
      space();
      if (i < s.length && s[i] == ',') {
        i++;
        continue;
      }
      if (i < s.length && s[i] == ']') {
        i++;
        return out;
      }
      fail('expected , or ]');
    }
  }

  String string() {
    i++; // "
    final b = StringBuffer();
    while (true) {
      if (i >= s.length) fail('unterminated string');
      final c = s.codeUnitAt(i);
      if (c == 0x22) {
        i++;
        return b.toString();
      }
      if (c < 0x20) fail('control character in a string');
      if (c != 0x5C) {
        b.writeCharCode(c);
        i++;
        continue;
      }
      if (i + 1 >= s.length) fail('unterminated escape');
      final e = s[i + 1];
      i += 2;
      switch (e) {
        case '"' || r'\' || '/':
          b.write(e);
        case 'b':
          b.writeCharCode(0x08);
        case 'f':
          b.writeCharCode(0x0C);
        case 'n':
          b.writeCharCode(0x0A);
        case 'r':
          b.writeCharCode(0x0D);
        case 't':
          b.writeCharCode(0x09);
        case 'u':
          if (i + 4 > s.length) fail('short \\u escape');
          final code = int.tryParse(s.substring(i, i + 4), radix: 16);
          if (code == null) fail('bad \\u escape');
          b.writeCharCode(code);
          i += 4;
        default:
          fail('bad escape');
      }
    }
  }
}
