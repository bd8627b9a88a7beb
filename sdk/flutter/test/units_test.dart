// The pieces the conformance scenarios do not isolate: the HLC, text-preserving JSON, the
// Retry-After reader and the version check.

import 'package:test/test.dart';
import 'package:tideline/src/cache.dart';
import 'package:tideline/src/generated/api.dart' show parseRetryAfter;
import 'package:tideline/src/hlc.dart';
import 'package:tideline/src/json_text.dart';
import 'package:tideline/tideline.dart';

void main() {
  group('nextHlc', () {
    test('a new wall starts the counter at 0', () {
      expect(nextHlc(null, 1793523600000, 'c1'), '1793523600000-00000-c1');
      expect(nextHlc('1793523600000-00004-c1', 1793523600001, 'c1'), '1793523600001-00000-c1');
    });
    test('the same millisecond counts up', () {
      expect(nextHlc('1793523600000-00004-c1', 1793523600000, 'c1'), '1793523600000-00005-c1');
    });
    test('a clock set back keeps stamping after the last stamp', () {
      expect(nextHlc('1793527201000-00000-c1', 1793523610000, 'c1'), '1793527201000-00001-c1');
    });
    test('a counter past 99999 moves the wall on', () {
      expect(nextHlc('1793523600000-99999-c1', 1793523600000, 'c1'), '1793523600001-00000-c1');
    });
    test('a small wall is padded to 13 digits', () {
      expect(nextHlc(null, 5, 'n'), '0000000000005-00000-n');
    });
  });

  group('JSON text', () {
    test('numbers keep their text through a round trip', () {
      const text = '{"big":9007199254740993,"f":1.0e+20,"g":3.0,"h":-0.5,"s":"a\\"b\\u00e9","l":[true,null,{}]}';
      final v = decodeJsonText(text);
      expect(encodeJsonText(v), text.replaceAll(r'\u00e9', 'é'));
      final map = v! as Map<String, Object?>;
      expect(map['big'], const JsonNumber('9007199254740993'));
      expect((map['g']! as JsonNumber).value, 3.0);
      expect(plainJson(v), containsPair('big', 9007199254740993));
    });
    test('malformed JSON is a FormatException', () {
      for (final bad in ['{', '[1,]', '{"a" 1}', '01', '"\\x"', 'tru', '1 2']) {
        expect(() => decodeJsonText(bad), throwsFormatException, reason: bad);
      }
    });
  });

  group('parseRetryAfter', () {
    final now = DateTime.utc(2026, 11, 1, 12);
    test('seconds', () => expect(parseRetryAfter('2', now), const Duration(seconds: 2)));
    test('an HTTP date', () {
      expect(parseRetryAfter('Sun, 01 Nov 2026 12:00:30 GMT', now), const Duration(seconds: 30));
      expect(parseRetryAfter('Sun, 01 Nov 2026 11:00:00 GMT', now), Duration.zero);
    });
    test('absent or unreadable', () {
      expect(parseRetryAfter(null, now), isNull);
      expect(parseRetryAfter('soon', now), isNull);
      expect(parseRetryAfter('-1', now), isNull);
    });
  });

  test('versionAtLeast', () {
    expect(versionAtLeast('3.45.1', '3.32.0'), isTrue);
    expect(versionAtLeast('3.32.0', '3.32.0'), isTrue);
    expect(versionAtLeast('3.31.1', '3.32.0'), isFalse);
    expect(versionAtLeast('3.9.0', '3.32.0'), isFalse);
  });

  test('Backoff stays within its bounds', () {
    const b = Backoff(min: Duration(milliseconds: 500), max: Duration(seconds: 30));
    for (var failures = 0; failures < 40; failures++) {
      final w = b.wait(failures);
      expect(w, lessThanOrEqualTo(const Duration(seconds: 30)));
      expect(w.isNegative, isFalse);
    }
  });

  test('Session.fromTokens reads the user from the access token', () {
    // {"sub":"u1"} as a JWT payload; the signature is not checked.
    expect(Session.fromTokens('eyJhbGciOiJub25lIn0.eyJzdWIiOiJ1MSJ9.x', 'r').userId, 'u1');
    expect(Session.fromTokens('not-a-jwt').userId, '');
  });
}
