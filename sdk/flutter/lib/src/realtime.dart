part of 'client.dart';

/// The realtime loop (docs/sdk-core.md, "Realtime loop"): it keeps the stream open while
/// the app is in the foreground and syncs at hello and poke, after local writes, at a
/// silent push, when resumed, and every minute as a safety net; after a failed sync it
/// waits max(backoff, Retry-After). With protocol 2 it applies the changes the stream
/// sends, and while the stream is live a local write is pushed without a pull.
/// SignedOutException and OtherUserException stop it.
final class _Loop {
  _Loop(this.t, this.backoff);

  final Tideline t;
  final Backoff backoff;
  bool _stopped = false, _paused = false;
  bool _poked = false;
  bool _pullWanted = true; // the next sync pulls: at start, hello, poke, resume, the minute's net
  Completer<void>? _wake; // the sync loop's wait
  Completer<void>? _reconnect; // the stream loop's wait
  WebSocket? _socket;
  late final Future<void> _syncing, _following, _uploading;
  bool _uploadPoked = true; // run the upload queue at once
  Completer<void>? _uploadWake;
  void Function()? _unsubscribe;

  void start() {
    _unsubscribe = t._subscribe((e) {
      if (e.local) _signal(); // a local write: push it (and pull too unless the stream is live)
      if (e.attachment != null) _wakeUploads(); // a file attached: upload it
    });
    _poked = true; // sync at once
    _syncing = _syncLoop();
    _following = _followLoop();
    _uploading = _uploadLoop();
  }

  /// Asks for a whole sync (push, then pull); pokes coalesce: at most one sync runs and
  /// one waits.
  void poke() {
    _pullWanted = true;
    _signal();
  }

  // _signal wakes the sync loop.
  void _signal() {
    _poked = true;
    final w = _wake;
    _wake = null;
    if (w != null && !w.isCompleted) w.complete();
  }

  void pause() {
    if (_paused) return;
    _paused = true;
    final socket = _socket;
    if (socket != null) unawaited(socket.close(1001));
  }

  void resume() {
    if (!_paused) return;
    _paused = false;
    poke();
    final r = _reconnect;
    _reconnect = null;
    if (r != null && !r.isCompleted) r.complete();
  }

  Future<void> stop() async {
    _stopped = true;
    _unsubscribe?.call();
    final socket = _socket;
    if (socket != null) unawaited(socket.close(1001));
    poke();
    _wakeUploads();
    final r = _reconnect;
    if (r != null && !r.isCompleted) r.complete();
    await Future.wait([_syncing, _following, _uploading]);
  }

  // _waitWake waits for a poke, or [timeout] (null: a poke only); false when the
  // timeout ended it.
  Future<bool> _waitWake(Duration? timeout) async {
    if (_poked || _stopped) return true;
    final w = _wake = Completer<void>();
    var woken = true;
    final timer = timeout == null
        ? null
        : Timer(timeout, () {
            woken = false;
            if (!w.isCompleted) w.complete();
          });
    await w.future;
    timer?.cancel();
    return woken;
  }

  Future<void> _syncLoop() async {
    var failures = 0;
    while (!_stopped) {
      if (_paused) {
        // In the background: no sync until resume (a silent push syncs through
        // handlePush). A local write's poke is kept for then.
        await (_wake = Completer<void>()).future;
        continue;
      }
      _poked = false;
      final pull = _pullWanted || !t._live;
      _pullWanted = false;
      Object? error;
      try {
        if (pull) {
          await t.sync();
        } else {
          await t.push(); // the stream is live: it brings what the other devices write
        }
      } on Object catch (e) {
        error = e;
      }
      if (error is SignedOutException || error is OtherUserException) {
        _stopped = true; // the app signs in again, or clears, and starts the loop anew
        final socket = _socket;
        if (socket != null) unawaited(socket.close(1000));
        final r = _reconnect;
        if (r != null && !r.isCompleted) r.complete();
        return;
      }
      var next = const Duration(minutes: 1);
      if (error != null) {
        failures++;
        next = backoff.wait(failures);
        if (error case TidelineException(:final retryAfter?) when retryAfter > next) next = retryAfter;
      } else {
        failures = 0;
        _wakeUploads(); // the server is reachable: uploads waiting for it go on
      }
      if (!await _waitWake(next)) _pullWanted = true; // the safety net, or the wait after a failure
    }
  }

  void _wakeUploads() {
    _uploadPoked = true;
    final w = _uploadWake;
    _uploadWake = null;
    if (w != null && !w.isCompleted) w.complete();
  }

  // _uploadLoop runs the upload queue (docs/sdk-core.md, "When uploads run"): at start,
  // when a file is attached, after every sync that reached the server, every minute, and
  // after a failure with backoff. Not while paused (an upload needs the foreground, or a
  // platform background task the app starts).
  Future<void> _uploadLoop() async {
    var failures = 0;
    while (!_stopped) {
      if (_paused || !_uploadPoked) {
        final w = _uploadWake = Completer<void>();
        final timer = _paused ? null : Timer(const Duration(minutes: 1), _wakeUploads);
        await w.future;
        timer?.cancel();
        continue;
      }
      _uploadPoked = false;
      Object? error;
      try {
        await t.upload();
      } on Object catch (e) {
        error = e;
      }
      if (error is SignedOutException || error is OtherUserException) return;
      if (error == null) {
        failures = 0;
        continue;
      }
      failures++;
      var wait = backoff.wait(failures);
      if (error case TidelineException(:final retryAfter?) when retryAfter > wait) wait = retryAfter;
      final w = _uploadWake = Completer<void>();
      final timer = Timer(wait, _wakeUploads);
      await w.future;
      timer.cancel();
    }
  }

  // _followLoop keeps the stream open while the loop runs and is not paused, and
  // reconnects after backoff when it closes.
  Future<void> _followLoop() async {
    var failures = 0;
    while (!_stopped) {
      if (_paused) {
        final r = _reconnect = Completer<void>();
        await r.future;
        continue;
      }
      Object? error;
      try {
        await _follow(() => failures = 0);
      } on Object catch (e) {
        error = e;
      }
      if (_stopped) return;
      if (error is SignedOutException || error is OtherUserException) return;
      if (_paused) continue;
      failures++;
      var wait = backoff.wait(failures);
      if (error case TidelineException(:final retryAfter?) when retryAfter > wait) wait = retryAfter;
      final r = _reconnect = Completer<void>();
      final timer = Timer(wait, () {
        if (!r.isCompleted) r.complete();
      });
      await r.future;
      timer.cancel();
    }
  }

  // _follow reads one connection of the stream until it closes; hello and poke poke the
  // sync loop (rather than syncing on the reading side), expired is answered at once.
  Future<void> _follow(void Function() connected) async {
    var token = await t._token();
    WebSocket socket;
    try {
      socket = await _connect(token);
    } on TidelineException catch (e) {
      if (e.status != 401) rethrow;
      token = await t._refresh(token);
      socket = await _connect(token);
    }
    if (_stopped || _paused) {
      await socket.close(1001);
      return;
    }
    _socket = socket;
    final channel = IOWebSocketChannel(socket);
    connected();
    try {
      await for (final message in channel.stream) {
        if (message is! String) continue;
        final reply = await t._streamMessage(message, () async => poke());
        if (reply != null) channel.sink.add(reply);
      }
    } finally {
      _socket = null;
      t.streamClosed(); // not live: pull again until a new stream is handed over
      await channel.sink.close();
    }
  }

  // _connect opens GET /v1/sync/stream with the bearer token. The upgrade is made here,
  // over HttpClient, rather than by WebSocket.connect, to read the status of a refusal:
  // a 401 refreshes the session, a 503 says when to come back (Retry-After).
  Future<WebSocket> _connect(String token) async {
    final uri = t._api.syncStreamUri(protocol: t._options.protocol >= 2 ? t._options.protocol : null);
    final client = HttpClient()..connectionTimeout = const Duration(seconds: 30);
    try {
      final random = Random.secure();
      final key = base64.encode(List<int>.generate(16, (_) => random.nextInt(256)));
      final req = await client.getUrl(uri);
      req.headers
        ..set(HttpHeaders.connectionHeader, 'Upgrade')
        ..set(HttpHeaders.upgradeHeader, 'websocket')
        ..set('Sec-WebSocket-Version', '13')
        ..set('Sec-WebSocket-Key', key)
        ..set(HttpHeaders.authorizationHeader, 'Bearer $token')
        ..set('Tideline-Client', _clientHeader(t.clientId));
      final res = await req.close();
      if (res.statusCode != HttpStatus.switchingProtocols) {
        final body = await utf8.decodeStream(res);
        throw TidelineException.fromResponse(
          http.Response(body, res.statusCode, headers: {
            if (res.headers.value('retry-after') case final v?) 'retry-after': v,
            if (res.headers.value('x-request-id') case final v?) 'x-request-id': v,
          }),
          now: t._now(),
        );
      }
      final accept = base64.encode(sha1.convert(utf8.encode('${key}258EAFA5-E914-47DA-95CA-C5AB0DC85B11')).bytes);
      if (res.headers.value('sec-websocket-accept') != accept) {
        throw const WebSocketException('the server did not accept the WebSocket key');
      }
      final socket = await res.detachSocket();
      return WebSocket.fromUpgradedSocket(socket, serverSide: false);
    } on SocketException catch (e) {
      throw NetworkException(e);
    } on HttpException catch (e) {
      throw NetworkException(e);
    } on WebSocketException catch (e) {
      throw NetworkException(e);
    } finally {
      client.close();
    }
  }
}
