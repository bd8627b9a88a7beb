// Runs every conformance scenario of the client core (sdk/core/conformance) against this
// package, as docs/sdk-core.md ("Conformance scenarios") specifies: the scenarios are the
// repository's, read from ../core/conformance (run `dart test` in sdk/flutter).

import 'dart:io';

import 'package:test/test.dart';

import 'conformance/runner.dart';

void main() {
  final scenarios = loadScenarios('../core/conformance');

  test('the scenarios are there', () {
    expect(scenarios.length, greaterThanOrEqualTo(30));
  });

  for (final e in scenarios.entries) {
    test(e.key, () async {
      final dir = Directory.systemTemp.createTempSync('tideline-conformance-');
      try {
        await Runner(e.value, dir).run();
      } finally {
        dir.deleteSync(recursive: true);
      }
    });
  }
}
