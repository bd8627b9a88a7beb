// The matching rules of docs/sdk-core.md ("Conformance scenarios", 5): exact, with
// numbers compared by their text, and "$any" matching any value that is present.

import 'dart:convert';

import 'package:tideline/src/json_text.dart';

/// Why [got] does not match [want] (both decoded by decodeJsonText, or made by
/// [tree]); null when it does.
String? mismatch(Object? want, Object? got, String at) {
  if (want == r'$any') return got == null ? '$at: missing' : null;
  if (want is Map<String, Object?>) {
    if (got is! Map<String, Object?>) return '$at: want an object, got ${show(got)}';
    for (final k in got.keys) {
      if (!want.containsKey(k)) return '$at.$k: unexpected (${show(got[k])})';
    }
    for (final k in want.keys) {
      if (!got.containsKey(k)) return '$at.$k: missing';
      final why = mismatch(want[k], got[k], '$at.$k');
      if (why != null) return why;
    }
    return null;
  }
  if (want is List<Object?>) {
    if (got is! List<Object?> || got.length != want.length) return '$at: want ${show(want)}, got ${show(got)}';
    for (var i = 0; i < want.length; i++) {
      final why = mismatch(want[i], got[i], '$at[$i]');
      if (why != null) return why;
    }
    return null;
  }
  // Scalars: the same JSON type and text (a JsonNumber keeps a number's text).
  if (want.runtimeType != got.runtimeType || want != got) return '$at: want ${show(want)}, got ${show(got)}';
  return null;
}

/// [v] (plain Dart values: what the SDK returns) as the tree decodeJsonText makes, a
/// number written as Dart writes it.
Object? tree(Object? v) => switch (v) {
      num n => JsonNumber(jsonEncode(n)),
      List<Object?> list => [for (final e in list) tree(e)],
      Map<String, Object?> map => <String, Object?>{for (final e in map.entries) e.key: tree(e.value)},
      _ => v,
    };

/// A tree as JSON text, for messages.
String show(Object? v) => encodeJsonText(v);
