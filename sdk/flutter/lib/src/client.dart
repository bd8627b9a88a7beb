import 'dart:async';
import 'dart:convert' show JsonUnsupportedObjectError, base64, jsonDecode, jsonEncode, utf8;
import 'dart:io';
import 'dart:math';

import 'package:crypto/crypto.dart';
import 'package:http/http.dart' as http;
import 'package:sqlite3/sqlite3.dart' show Row, StatementParameters;
import 'package:web_socket_channel/io.dart';

import 'cache.dart';
import 'errors.dart';
// The generated models named as the SDK's own (Receipt, Change, Session) stay out.
import 'generated/api.dart'
    show AnonymousRequest, AuthResponse, Credentials, ExchangeRequest, RefreshRequest, TidelineApi, TidelineException, TidelineTransport;
import 'generated/core_sql.dart';
import 'hlc.dart';
import 'json_text.dart';
import 'lock.dart';
import 'model.dart';

part 'auth.dart';
part 'collection.dart';
part 'files.dart';
part 'identify.dart';
part 'pull.dart';
part 'push.dart';
part 'query.dart';
part 'realtime.dart';
part 'sync.dart';
part 'write.dart';

/// Something the client tells its own parts (and the streams it offers): a receipt, the
/// documents whose view changed ("collection/docId"; "*": all), whether they changed by
/// the app's own writes, a status.
final class _Event {
  const _Event({this.receipt, this.changed = const [], this.local = false, this.status, this.attachment});

  final Receipt? receipt;
  final List<String> changed;
  final bool local;
  final SyncStatus? status;

  /// The local id of a file attach just queued for upload.
  final String? attachment;
}

/// A local cache of the user's documents, synced with a Tideline server: the client core
/// of docs/sdk-core.md. Writes go to the cache at once (visible immediately, kept across
/// restarts) and to the server at the next sync.
///
/// ```dart
/// final db = await Tideline.open(path: 'app.db', serverUrl: 'https://api.example.com');
/// if (!(await db.currentStatus()).signedIn) await db.signIn('ada@example.com', password);
/// final todos = db.collection('todos');
/// await todos.put('t1', {'title': 'Buy milk', 'done': false});
/// await todos.patch('t1', [const Change.set('done', true), const Change.inc('edits', 1)]);
/// db.start(); // the realtime loop: syncs now, at every change, and with backoff offline
/// ```
///
/// Several clients (in several processes or isolates: an app and its background
/// isolate) may open one cache file: stamps, ids and the session are taken inside the
/// cache's transactions. Two clients of one file in the same isolate are not supported
/// (a transaction of one would block the isolate the other needs to finish its own).
final class Tideline {
  Tideline._(this._cache, this._api, this._options, this._now, this._filesDir);

  final Cache _cache;
  final TidelineApi _api;
  final TidelineOptions _options;
  final DateTime Function() _now;

  /// Where attached and downloaded files are kept (docs/sdk-core.md, "Attachments").
  final String _filesDir;

  /// One run of the upload queue at a time.
  final _uploadLock = Lock();

  /// One access to the cache at a time, in order: its transactions and its reads.
  final _db = Lock();

  /// One sync (push, pull, sign-out, clear) at a time.
  final _syncLock = Lock();

  /// One refresh of the session at a time.
  final _authLock = Lock();

  String _id = '';
  final _listeners = <void Function(_Event)>[];
  SyncStatus _status = const SyncStatus();
  final _receipts = StreamController<Receipt>.broadcast(sync: true);
  final _statuses = StreamController<SyncStatus>.broadcast(sync: true);
  _Loop? _loop;
  bool _closed = false;

  /// Protocol 2: the open stream's id, from its hello (null: none), which pulls name.
  String? _streamId;

  /// Protocol 2: the stream took over from the last completed pull and has not poked or
  /// closed since: it sends the changes, and a local write is pushed without a pull.
  bool _live = false;

  /// Opens (or creates) the cache at [path] and returns a client of the server at
  /// [serverUrl] ("https://api.example.com"). [auth] is the session to use (null: the one
  /// kept in the cache by an earlier sign-in, or none: signed out). Nothing is sent until
  /// [sync] or [start]: a client works offline from its first call.
  ///
  /// Throws [SqliteUnsupportedException] when the SQLite library cannot run the core,
  /// [CacheException] for a cache of a newer SDK, [OtherUserException] when the cache
  /// belongs to another user than [auth]'s (unless [TidelineOptions.clearOtherUser]).
  static Future<Tideline> open({
    required String path,
    required String serverUrl,
    Session? auth,
    TidelineOptions options = const TidelineOptions(),
  }) async {
    final cache = Cache.open(path);
    final now = options.clock ?? DateTime.now;
    late final Tideline t;
    // Every request says which SDK and install it comes from (identify.dart).
    final client = _IdentifyingClient(options.httpClient ?? http.Client(), () => _clientHeader(t.clientId));
    final api = TidelineApi(TidelineTransport(serverUrl, client: client, clock: now));
    t = Tideline._(cache, api, _normalized(options), now, options.filesDir ?? '$path.files');
    try {
      await t._db.run(() => cache.transaction(() {
            final id = cache.meta('client_id');
            if (id != null) {
              t._id = id;
            } else {
              t._newClientId();
            }
          }));
      if (auth != null) {
        await t._bindSession(auth.userId, auth.accessToken, auth.refreshToken, clear: options.clearOtherUser);
      }
      await t._expirePartials();
      await t._sweepFiles();
      await t._refreshStatus();
    } catch (_) {
      cache.close();
      if (options.httpClient == null) api.transport.client.close();
      rethrow;
    }
    return t;
  }

  static TidelineOptions _normalized(TidelineOptions o) => TidelineOptions(
        httpClient: o.httpClient,
        collections: o.collections,
        pushBatch: o.pushBatch <= 0 || o.pushBatch > CoreSql.pushMaxMutations ? CoreSql.pushMaxMutations : o.pushBatch,
        pushBytes: o.pushBytes <= 0 ? CoreSql.pushMaxBytes : o.pushBytes,
        pullLimit: o.pullLimit <= 0 ? CoreSql.pullLimit : o.pullLimit,
        clock: o.clock,
        clearOtherUser: o.clearOtherUser,
        clientId: o.clientId,
        onRefresh: o.onRefresh,
        protocol: o.protocol == 1 ? 1 : 2,
        filesDir: o.filesDir,
        cacheBytes: o.cacheBytes <= 0 ? CoreSql.filesCacheBytes : o.cacheBytes,
      );

  /// The install's id, generated once and kept in the cache (a new one after [clear]).
  String get clientId => _id;

  // _newClientId gives the cache a new client id (a new install, or a cleared cache: the
  // server binds a client id to the first user who pushes with it). Inside a transaction.
  void _newClientId() {
    var id = _options.clientId ?? '';
    if (id.isEmpty || _id.isNotEmpty) {
      final random = Random.secure();
      id = 'dart-${List.generate(12, (_) => random.nextInt(256).toRadixString(16).padLeft(2, '0')).join()}';
    }
    _cache.setMeta('client_id', id);
    _id = id;
  }

  /// Stops the realtime loop, waits for the sync under way, and closes the cache.
  Future<void> close() async {
    if (_closed) return;
    await stop();
    // After the sync under way, if any: it needs the cache to its end.
    await _syncLock.run(() => _db.run(() {
          _closed = true;
          _cache.close();
        }));
    if (_options.httpClient == null) _api.transport.client.close(); // the client open made
    await _receipts.close();
    await _statuses.close();
  }

  /// The receipt of every local write, as the server settles it (merges, conflicts and
  /// rejections included: nothing is dropped silently).
  Stream<Receipt> get receipts => _receipts.stream;

  /// The sync status: its current value at once, then every change.
  Stream<SyncStatus> get status {
    late StreamController<SyncStatus> out;
    StreamSubscription<SyncStatus>? sub;
    out = StreamController<SyncStatus>(
      onListen: () {
        sub = _statuses.stream.listen(out.add);
        unawaited(currentStatus().then((s) {
          if (!out.isClosed) out.add(s);
        }, onError: out.addError));
      },
      onCancel: () => sub?.cancel(),
    );
    return out.stream;
  }

  /// The sync status now. What the cache keeps (pending writes, the session,
  /// has-synced-once) is read again, so it includes what another process did.
  Future<SyncStatus> currentStatus() async {
    await _refreshStatus();
    return _status;
  }

  // _refreshStatus reloads what the status reads from the cache.
  Future<void> _refreshStatus() => _db.run(() {
        final pending = _cache.scalar('outbox_count') as int;
        _status = _status.copyWith(
          pending: pending,
          uploads: _cache.scalar('attachments_count') as int,
          userId: _cache.meta('user_id') ?? '',
          signedIn: (_cache.meta('access_token') ?? '').isNotEmpty,
          hasSyncedOnce: _cache.meta('synced') == '1',
        );
      });

  // _setStatus changes the status and tells the listeners.
  void _setStatus(SyncStatus Function(SyncStatus s) change) {
    _status = change(_status);
    _emit(_Event(status: _status));
  }

  void Function() _subscribe(void Function(_Event) fn) {
    _listeners.add(fn);
    return () => _listeners.remove(fn);
  }

  void _emit(_Event e) {
    for (final fn in List.of(_listeners)) {
      fn(e);
    }
    if (e.receipt case final r?) {
      if (!_receipts.isClosed) _receipts.add(r);
    }
    if (e.status case final s?) {
      if (!_statuses.isClosed) _statuses.add(s);
    }
  }

  /// The collection [name].
  Collection collection(String name) => Collection._(this, name);

  /// Creates an account with [email] and [password] and signs it in; the session is kept
  /// in the cache. A cache bound to another user fails with [OtherUserException] (and
  /// stays as it was).
  Future<void> signUp(String email, String password) =>
      _signIn(() => _api.signUp(Credentials(email: email, password: password)));

  /// Signs in with [email] and [password]; the session is kept in the cache.
  Future<void> signIn(String email, String password) =>
      _signIn(() => _api.login(Credentials(email: email, password: password)));

  /// Signs in as a new anonymous user; the session is kept in the cache.
  Future<void> signInAnonymously() => _signIn(() => _api.signInAnonymously(body: const AnonymousRequest()));

  /// Signs in with an external identity provider's ID token ([provider]: "oidc:google",
  /// "firebase"); the session is kept in the cache.
  Future<void> signInWithIdToken(String provider, String idToken) =>
      _signIn(() => _api.exchangeToken(ExchangeRequest(provider: provider, token: idToken)));

  /// Ends the session: tells the server (best effort: offline, the session stays valid
  /// there until it expires) and removes the tokens from the cache. With [clearLocal] the
  /// cache is cleared as well ([clear]); without, the documents and unsent writes stay for
  /// the same user's next sign-in (another user's is refused: [OtherUserException]).
  Future<void> signOut({bool clearLocal = false}) => _signOut(clearLocal);

  /// Empties the cache: documents, unsent writes, cursor, session and user binding; the
  /// install gets a new client id (the server binds one to its first user).
  Future<void> clear() => _syncLock.run(_clear);

  /// Pushes the outbox and pulls until the cache is caught up. Throws the first error
  /// ([NetworkException], [TidelineException], [SignedOutException],
  /// [OtherUserException]); what was done before it is kept, and the next sync goes on.
  Future<void> sync() => _run(() async {
        await _push();
        await _pull();
      }, whole: true);

  /// Sends the outbox without pulling.
  Future<void> push() => _run(_push, whole: false);

  /// Pulls until caught up without pushing: pending writes stay in the outbox and are
  /// rebased on what arrives.
  Future<void> pull() => _run(_pull, whole: false);

  /// The realtime loop's reaction to one message of the server's stream: at hello and
  /// poke it syncs (naming the stream in its pulls, protocol 2); at changes (protocol 2)
  /// it applies the message as a pulled page; at expired it refreshes the session and
  /// returns the message to send back ({"type":"auth","token":...}). [start] does this for
  /// its own stream; an app with its own transport, and a conformance runner, call it
  /// directly (and [streamClosed] when the transport closes).
  Future<String?> handleStreamMessage(String message) async {
    Object? syncError;
    final reply = await _streamMessage(message, () async {
      try {
        await sync();
      } on Object catch (e) {
        syncError = e;
      }
    });
    if (syncError case final e?) throw e;
    return reply;
  }

  /// Tells the client that its stream closed (an app that runs its own transport calls
  /// it): it is not live, and pulls again until a new stream is handed over.
  void streamClosed() => _setStream(null, live: false);

  /// Whether the realtime stream is live (protocol 2): it sends the changes itself.
  bool get live => _live;

  /// Starts the realtime loop (docs/sdk-core.md, "Realtime loop"): it syncs at once,
  /// keeps the server's stream open and syncs at each hello and poke, after each local
  /// write and every minute; offline it backs off ([backoff], and at least the server's
  /// Retry-After). It stops at [stop], or by itself when the session ends
  /// (SignedOutException) or the cache is another user's (OtherUserException): the
  /// status's lastError says which. Starting a running loop does nothing.
  void start({Backoff backoff = const Backoff()}) {
    if (_closed || (_loop != null && !_loop!._stopped)) return;
    _loop = _Loop(this, backoff)..start();
  }

  /// Stops the realtime loop (after the sync under way, if any).
  Future<void> stop() async {
    final loop = _loop;
    _loop = null;
    await loop?.stop();
  }

  /// Pauses the realtime loop when the app leaves the foreground
  /// (AppLifecycleState.paused): the stream closes and syncs wait for [resume], except
  /// those of [handlePush].
  void pause() => _loop?.pause();

  /// Resumes the realtime loop when the app comes back (AppLifecycleState.resumed, or
  /// the network is back): it syncs at once and reopens the stream.
  void resume() => _loop?.resume();

  /// Handles a push message's data: a Tideline silent push ({"tideline": "sync"}) syncs
  /// now, and the future completes when that sync is done (what a background message
  /// handler must wait for). Returns false for a message that is not Tideline's. A failed
  /// sync is not thrown: it is the status's lastError, and the next sync goes on.
  Future<bool> handlePush(Map<String, Object?> data) async {
    if (data['tideline'] != 'sync') return false;
    try {
      await sync();
    } on Object {
      // In the status (lastError); the realtime loop, or the next push, tries again.
    }
    return true;
  }

  /// Runs [fn]'s writes as one local transaction: the app sees all of them at once, or
  /// none when [fn] throws (the error is rethrown), and a crash keeps all or none. The
  /// cache is held for the whole of [fn]: await no network call in it.
  Future<void> write(FutureOr<void> Function(WriteTx tx) fn) async {
    final changed = await _db.run(() async {
      final tx = WriteTx._(this);
      _cache.begin();
      try {
        await fn(tx);
        _cache.commit();
      } catch (_) {
        _cache.rollback();
        rethrow;
      } finally {
        tx._open = false;
      }
      return tx._changed;
    });
    await _refreshStatus();
    if (changed.isNotEmpty) _emit(_Event(changed: changed, local: true));
  }
}
