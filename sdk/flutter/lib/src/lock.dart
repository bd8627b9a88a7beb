import 'dart:async';

/// A first-in, first-out asynchronous lock: [run] calls run one at a time, in the order
/// they were made. The order is fixed when [run] is called, synchronously, so a caller
/// that queues work before another knows it runs first.
final class Lock {
  Future<void> _tail = Future<void>.value();

  /// Runs [fn] once every earlier call has finished, and returns its result.
  Future<T> run<T>(FutureOr<T> Function() fn) {
    final previous = _tail;
    final done = Completer<void>();
    _tail = done.future;
    return previous.then((_) => fn()).whenComplete(done.complete);
  }
}
