part of 'client.dart';

// Sessions (docs/sdk-core.md, "Sessions and the user"): Tideline's sign-in, sign-out and
// clear call these.
extension on Tideline {
  // _signIn calls an auth endpoint and binds its session ("sign in"); otherUser leaves the
  // cache as it was.
  Future<void> _signIn(Future<AuthResponse> Function() call) async {
    final AuthResponse res;
    try {
      res = await call();
    } on http.ClientException catch (e) {
      throw NetworkException(e);
    }
    await _bindSession(res.user.id, res.accessToken, res.refreshToken);
    _setStatus((s) => s);
  }

  // _signOut is the procedure "sign out (clearLocal)".
  Future<void> _signOut(bool clearLocal) => _syncLock.run(() async {
        final token = await _db.run(() => _cache.meta('access_token'));
        if (token != null) {
          try {
            await _api.withToken(token).logout();
          } on Object {
            // Best effort: the tokens are removed here whatever the server says.
          }
        }
        if (clearLocal) await _clear();
        await _endSession();
      });

  // _bindSession stores a session in the cache, binding the cache to its user (procedure
  // "bind session"): a cache bound to another user is refused, or cleared when [clear].
  Future<void> _bindSession(String userId, String access, String refresh, {bool clear = false}) async {
    final cleared = await _db.run(() => _cache.transaction(() {
          final owner = _cache.meta('user_id');
          var cleared = false;
          if (userId.isNotEmpty && owner != null && owner != userId) {
            if (!clear) {
              throw OtherUserException('the local cache belongs to another user ($owner, not $userId): '
                  'sign out with clearLocal, or open with clearOtherUser');
            }
            _clearTx(this);
            cleared = true;
          }
          if (userId.isNotEmpty) _cache.setMeta('user_id', userId);
          _cache.setMeta('access_token', access);
          _cache.setMeta('refresh_token', refresh);
          return cleared;
        }));
    if (cleared) {
      await _sweepFiles(); // the files of the rows clear deleted
      _emit(const _Event(changed: ['*']));
    }
    await _refreshStatus();
  }

  // _token is the access token kept in the cache.
  Future<String> _token() async {
    final t = await _db.run(() => _cache.meta('access_token'));
    if (t == null) throw const SignedOutException();
    return t;
  }

  // _refresh replaces the session's tokens after [used] was refused. When another process
  // on the cache refreshed meanwhile (the kept token is not the one used), it takes that
  // one. A refresh the server refuses (400, 401, 403) ends the session: the tokens are
  // removed, the outbox and the documents stay (SignedOutException).
  Future<String> _refresh(String used) => _authLock.run(() async {
        final access = await _token();
        if (access != used) return access;
        final refresh = await _db.run(() => _cache.meta('refresh_token'));
        if (refresh == null) throw await _endSession();
        final AuthResponse res;
        try {
          res = await _api.refreshSession(RefreshRequest(refreshToken: refresh));
        } on TidelineException catch (e) {
          if (e.status == 400 || e.status == 401 || e.status == 403) throw await _endSession();
          rethrow;
        } on http.ClientException catch (e) {
          throw NetworkException(e);
        }
        await _bindSession(res.user.id, res.accessToken, res.refreshToken);
        _options.onRefresh?.call(res.accessToken, res.refreshToken);
        return res.accessToken;
      });

  // _endSession removes the session's tokens (procedure "signed out": the user binding,
  // documents and outbox stay) and returns the SignedOutException to throw.
  Future<SignedOutException> _endSession() async {
    await _db.run(() => _cache.transaction(() {
          _cache.setMeta('access_token', null);
          _cache.setMeta('refresh_token', null);
        }));
    await _refreshStatus();
    _setStatus((s) => s);
    return const SignedOutException();
  }

  Future<void> _clear() async {
    await _db.run(() => _cache.transaction(() => _clearTx(this)));
    await _sweepFiles(); // the files of the rows clear deleted
    await _refreshStatus();
    _emit(const _Event(changed: ['*']));
    _setStatus((s) => s.copyWith(lastSynced: () => null, initial: const Progress()));
  }
}
