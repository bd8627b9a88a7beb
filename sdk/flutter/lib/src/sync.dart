part of 'client.dart';

extension on Tideline {
  // _run runs one sync step (push, pull, or both) under the sync lock and records its
  // outcome in the status.
  Future<void> _run(Future<void> Function() steps, {required bool whole}) => _syncLock.run(() async {
        try {
          await steps();
        } catch (e) {
          await _finish(e, whole: whole);
          rethrow;
        }
        await _finish(null, whole: whole);
      });

  Future<void> _finish(Object? error, {required bool whole}) async {
    try {
      await _refreshStatus();
    } on Object {
      // The status keeps its last values; the sync's own error matters more.
    }
    _setStatus((s) => s.copyWith(
          online: error == null || error is! NetworkException,
          lastError: () => error,
          uploading: false,
          downloading: false,
          lastSynced: error == null && whole ? () => _now() : null,
        ));
  }

  // _call posts [body] to [path] with the access token, refreshing it once after a 401,
  // and maps the answers that are not a success (docs/sdk-core.md, "Errors").
  Future<String> _call(String path, String body) async {
    var token = await _token();
    for (var attempt = 0;; attempt++) {
      try {
        final res = await _api.transport.withToken(token).send('POST', path, body: body, auth: true);
        return res.body;
      } on TidelineException catch (e) {
        switch (e.status) {
          case 401 when attempt == 0:
            token = await _refresh(token);
            continue;
          case 401:
            throw await _endSession();
          case 413:
            throw const _TooLarge();
          case 410:
            throw const _InvalidCursor();
          case 400 when e.code == 'invalid_cursor':
            throw const _InvalidCursor();
          case 403:
            throw OtherUserException('the server says the client id belongs to another user', e);
        }
        rethrow;
      } on http.ClientException catch (e) {
        throw NetworkException(e);
      } on SocketException catch (e) {
        throw NetworkException(e);
      } on HttpException catch (e) {
        throw NetworkException(e);
      }
    }
  }

  // _streamMessage is the realtime loop's reaction to one message of the server's stream
  // (docs/sdk-core.md, "Realtime loop"): hello and poke call [sync] (hello names the
  // stream, a poke says it fell behind: not live); changes (protocol 2) is applied as a
  // stream page; expired refreshes the session and returns the message to send back. Any
  // other message is ignored.
  Future<String?> _streamMessage(String message, Future<void> Function() sync) async {
    final Object? m;
    try {
      m = jsonDecode(message);
    } on FormatException {
      return null; // not ours: ignored
    }
    if (m is! Map<String, Object?>) return null;
    switch (m['type']) {
      case 'hello':
        _setStream(m['stream'] is String ? m['stream']! as String : null, live: false);
        await sync();
      case 'poke':
        _setStream(_streamId, live: false); // it fell behind: pull, naming it, to hand it over again
        await sync();
      case 'changes' when _options.protocol >= 2:
        await _applyStreamPage(message);
      case 'expired':
        final token = await _refresh(await _token());
        return jsonEncode({'type': 'auth', 'token': token});
    }
    return null;
  }

  // _setStream records the open stream's id (from its hello; null: none) and whether it
  // is live, and tells the app when that changes. Protocol 1 has neither.
  void _setStream(String? id, {required bool live}) {
    if (_options.protocol < 2) {
      id = null;
      live = false;
    }
    final changed = _streamId != id || _live != live;
    _streamId = id;
    _live = live;
    if (changed) _setStatus((s) => s.copyWith(live: live));
  }

  // _handedOver records a completed pull's answer: the stream it named is live when the
  // server said so, and it is still the open one.
  void _handedOver(String? stream, bool live) {
    if (stream != null && stream == _streamId) _setStream(stream, live: live);
  }
}
