/// The stamp after [last] (tl_meta hlc, null for none) at wall-clock time [nowMs], for
/// [node]: `<wall ms, 13 digits>-<counter, 5 digits>-<node>`. wall = max(now, last.wall);
/// counter = last.counter + 1 when the wall did not move, else 0; a counter past 99999
/// moves the wall on by 1 ms. The caller reads [last] and stores the result in the
/// transaction that writes the mutation, so that processes sharing a cache never issue
/// one stamp twice (docs/sdk-core.md, "HLC").
String nextHlc(String? last, int nowMs, String node) {
  var wall = 0;
  var counter = 0;
  final parts = (last ?? '').split('-');
  if (parts.length >= 2) {
    final w = int.tryParse(parts[0]);
    final n = int.tryParse(parts[1]);
    if (w != null && n != null) {
      wall = w;
      counter = n;
    }
  }
  if (nowMs > wall) {
    wall = nowMs;
    counter = 0;
  } else {
    counter++;
    if (counter > 99999) {
      wall++;
      counter = 0;
    }
  }
  return '${wall.toString().padLeft(13, '0')}-${counter.toString().padLeft(5, '0')}-$node';
}
