// The conformance runner of docs/sdk-core.md ("Conformance scenarios"), for the Dart SDK:
// each scenario's state loaded into a cache file, its steps run against clients of that
// file and a scripted server, its expectations checked by the matching rules.

import 'dart:async';
import 'dart:io';

import 'package:sqlite3/sqlite3.dart' as sqlite;
import 'package:test/test.dart';
import 'package:tideline/src/generated/core_sql.dart';
import 'package:tideline/src/json_text.dart';
import 'package:tideline/tideline.dart';

import 'matching.dart';
import 'server.dart';

/// Every scenario of sdk/core/conformance, by file name, decoded with number text kept.
Map<String, Map<String, Object?>> loadScenarios(String dir) {
  final files = Directory(dir)
      .listSync()
      .whereType<File>()
      .where((f) => RegExp(r'^\d+.*\.json$').hasMatch(f.uri.pathSegments.last))
      .toList()
    ..sort((a, b) => a.path.compareTo(b.path));
  return {
    for (final f in files)
      f.uri.pathSegments.last.replaceAll('.json', ''): decodeJsonText(f.readAsStringSync())! as Map<String, Object?>,
  };
}

int _i(Object? v) => (v! as JsonNumber).value.toInt();

Map<String, Object?> _m(Object? v) => v! as Map<String, Object?>;

/// One scenario's run.
final class Runner {
  Runner(this.sc, this.dir)
      : config = _m(sc['config']),
        path = '${dir.path}/cache.db';

  final Map<String, Object?> sc;
  final Directory dir;
  final Map<String, Object?> config;
  final String path;
  late final Directory src = Directory('${dir.path}/src')..createSync(); // the app's own files
  late final ScriptServer srv;
  late final sqlite.Database inspect;
  int now = 0;
  final clients = <String, Tideline>{};
  final receipts = <String, List<Receipt>>{};
  final heard = <Tideline>{};
  final watches = <String, List<QueryResult>>{};
  final subscriptions = <StreamSubscription<Object?>>[];

  /// Runs the scenario; a failed step throws a TestFailure naming it.
  Future<void> run() async {
    final clock = _m(config['clock']);
    now = _i(clock['startMs']);
    srv = await ScriptServer.start();
    try {
      if (sc['state'] case final Map<String, Object?> state) loadState(state);
      inspect = sqlite.sqlite3.open(path);
      try {
        clients['a'] = await open(config['session'] as Map<String, Object?>?, clear: false);
        client('a');
        final steps = sc['steps']! as List<Object?>;
        for (var i = 0; i < steps.length; i++) {
          now += _i(clock['stepMs']);
          final step = _m(steps[i]);
          await _step('step ${i + 1} (${step['do']})', step);
        }
      } finally {
        for (final s in subscriptions) {
          await s.cancel();
        }
        for (final c in clients.values) {
          await c.close();
        }
        inspect.dispose();
      }
    } finally {
      await srv.close();
    }
  }

  // loadState writes the starting cache: migration 1, the rows, then the migrations up to
  // the state's cache version (a version-1 cache keeps user_version 0, as core v1 left it).
  void loadState(Map<String, Object?> state) {
    final db = sqlite.sqlite3.open(path);
    try {
      void named(String sql, Map<String, Object?> params) {
        final stmt = db.prepare(sql);
        try {
          stmt.executeWith(sqlite.StatementParameters.named(params));
        } finally {
          stmt.dispose();
        }
      }

      db.execute(CoreSql.migrations[0]);
      for (final e in (state['meta'] as Map<String, Object?>? ?? const {}).entries) {
        named(CoreSql.setMeta, {':key': e.key, ':value': e.value});
      }
      final server = state['server'] as List<Object?>? ?? const [];
      for (final row in server.map(_m)) {
        named(CoreSql.serverPut, {
          ':collection': row['collection'],
          ':doc_id': row['docId'],
          ':doc': row['doc'] == null ? null : encodeJsonText(row['doc']),
          ':version': _i(row['version']),
          ':seq': _i(row['seq']),
          ':buckets': encodeJsonText(row['buckets']),
        });
      }
      for (final m in (state['outbox'] as List<Object?>? ?? const []).map(_m)) {
        db.execute(
          'INSERT INTO tl_outbox (id, collection, doc_id, op, fields, ops, hlc, base_version, created_at) '
          'VALUES (?, ?, ?, ?, ?, ?, ?, ?, 0)',
          [
            _i(m['id']),
            m['collection'],
            m['docId'],
            m['op'],
            m['fields'] == null ? null : encodeJsonText(m['fields']),
            m['ops'] == null ? null : encodeJsonText(m['ops']),
            m['hlc'],
            _i(m['baseVersion']),
          ],
        );
      }
      if (state['view'] case final List<Object?> view) {
        for (final v in view.map(_m)) {
          db.execute('INSERT INTO tl_view (collection, doc_id, doc, version, pending) VALUES (?, ?, ?, ?, ?)',
              [v['collection'], v['docId'], encodeJsonText(v['doc']), _i(v['version']), _i(v['pending'])]);
        }
      } else {
        for (final row in server.map(_m)) {
          named(CoreSql.viewFromServer, {':collection': row['collection'], ':doc_id': row['docId']});
        }
      }
      for (var v = 1; v < _i(state['cacheVersion']); v++) {
        db.execute(CoreSql.migrations[v]);
        db.execute('PRAGMA user_version = ${v + 1}');
      }
    } finally {
      db.dispose();
    }
  }

  Future<Tideline> open(Map<String, Object?>? session, {required bool clear}) {
    final push = _m(config['push']);
    return Tideline.open(
      path: path,
      serverUrl: srv.url,
      auth: session == null
          ? null
          : Session(
              userId: session['userId']! as String,
              accessToken: session['accessToken']! as String,
              refreshToken: session['refreshToken']! as String,
            ),
      options: TidelineOptions(
        clock: () => DateTime.fromMillisecondsSinceEpoch(now),
        clientId: config['clientId']! as String,
        pullLimit: _i(config['pullLimit']),
        pushBatch: _i(push['maxMutations']),
        pushBytes: _i(push['maxBytes']),
        collections: (config['collections'] as List<Object?>?)?.cast<String>(),
        clearOtherUser: clear,
        protocol: _i(config['protocol']),
        cacheBytes: config['files'] is Map<String, Object?> ? _i(_m(config['files'])['cacheBytes']) : 0,
      ),
    );
  }

  // client is the step's client, opened on first use (client b: a second process; client
  // a after a reopen that failed), with the cache's own session.
  Future<Tideline> clientFor(Object? name) async {
    final n = name as String? ?? 'a';
    clients[n] ??= await open(null, clear: false);
    return client(n);
  }

  Tideline client(String name) {
    final c = clients[name]!;
    final got = receipts.putIfAbsent(name, () => []);
    if (heard.add(c)) subscriptions.add(c.receipts.listen(got.add));
    return c;
  }

  Never _fail(String where, String why) => throw TestFailure('$where: $why');

  void _checkError(String where, Object? want, Object? error) {
    final why = errorMismatch(want, error);
    if (why != null) _fail(where, why);
  }

  Future<void> _exchange(String where, Map<String, Object?> step, Future<void> Function() call) async {
    srv.load(step['exchanges']! as List<Object?>);
    Object? error;
    try {
      await call();
    } on Object catch (e) {
      error = e;
    }
    final why = srv.done();
    if (why != null) _fail(where, '$why (the call threw $error)');
    _checkError(where, step['error'], error);
  }

  Future<void> _step(String where, Map<String, Object?> s) async {
    switch (s['do']) {
      case 'put' || 'patch' || 'delete':
        final c = await clientFor(s['client']);
        await _catching(where, s['error'], () => c.write((tx) => apply(tx, {...s, 'op': s['do']})));
      case 'write':
        final c = await clientFor(s['client']);
        await _catching(where, s['error'], () => c.write((tx) {
              for (final w in (s['writes']! as List<Object?>).map(_m)) {
                apply(tx, w);
              }
            }));
      case 'sync':
        final c = await clientFor(s['client']);
        await _exchange(where, s, c.sync);
      case 'push':
        final c = await clientFor(s['client']);
        await _exchange(where, s, c.push);
      case 'pull':
        final c = await clientFor(s['client']);
        await _exchange(where, s, c.pull);
      case 'stream':
        final c = await clientFor(s['client']);
        String? reply;
        await _exchange(where, s, () async => reply = await c.handleStreamMessage(encodeJsonText(s['message'])));
        final why = mismatch(s['reply'], reply == null ? null : decodeJsonText(reply!), 'reply');
        if (why != null) _fail(where, why);
      case 'reopen':
        final name = s['client'] as String? ?? 'a';
        await clients.remove(name)?.close();
        Object? error;
        try {
          clients[name] = await open(s['session'] as Map<String, Object?>?, clear: s['clearOtherUser'] == true);
          client(name);
        } on Object catch (e) {
          error = e;
        }
        _checkError(where, s['error'], error);
      case 'signIn':
        final c = await clientFor(s['client']);
        await _exchange(where, s, () => c.signIn(s['email']! as String, s['password']! as String));
      case 'signOut':
        final c = await clientFor(s['client']);
        await _exchange(where, s, () => c.signOut(clearLocal: s['clearLocal'] == true));
      case 'clear':
        final c = await clientFor(s['client']);
        await _catching(where, null, c.clear);
      case 'attach':
        final c = await clientFor(s['client']);
        final f = _m(s['file']);
        final local = File('${src.path}/${f['name']}')..writeAsStringSync(f['content']! as String);
        await _catching(
            where,
            s['error'],
            () => c.attach(s['collection']! as String, s['docId']! as String, s['field']! as String, local.path,
                contentType: f['contentType']! as String));
      case 'upload':
        final c = await clientFor(s['client']);
        await _exchange(where, s, c.upload);
      case 'openFile' || 'pin':
        final c = await clientFor(s['client']);
        final ref = FileRef.from(plainJson(s['ref']));
        if (ref == null) _fail(where, 'ref ${show(s['ref'])} is not a file reference');
        String? got;
        await _exchange(where, s, () async {
          got = s['do'] == 'pin'
              ? await c.pin(s['collection']! as String, s['docId']! as String, ref)
              : await c.openFile(s['collection']! as String, s['docId']! as String, ref);
        });
        if (s['content'] case final String want) {
          final held = File(got!).readAsStringSync();
          if (held != want) _fail(where, 'the file opened holds "$held", want "$want"');
        }
      case 'unpin':
        final c = await clientFor(s['client']);
        await _catching(where, s['error'], () => c.unpin(s['fileId']! as String));
      case 'setClock':
        now = _i(s['ms']);
      case 'watch':
        final c = await clientFor(s['client']);
        final got = watches[s['watch']! as String] = [];
        subscriptions.add(c.collection(s['collection']! as String).watch(query(s['query'])).listen(got.add));
      default:
        final why = await _expect(s);
        if (why != null) _fail(where, why);
    }
  }

  Future<void> _catching(String where, Object? want, Future<void> Function() call) async {
    Object? error;
    try {
      await call();
    } on Object catch (e) {
      error = e;
    }
    _checkError(where, want, error);
  }

  Future<String?> _expect(Map<String, Object?> s) async {
    final c = await clientFor(s['client']);
    switch (s['do']) {
      case 'expectView':
        final docs = await c.collection(s['collection']! as String).find();
        final why = mismatch(s['docs'], {for (final d in docs) d.id: decodeJsonText(d.json)}, 'view');
        if (why != null) return why;
        return mismatch(s['pending'], tree({for (final d in docs) d.id: d.pending}), 'pending');
      case 'expectOutbox':
        final rows = inspect.select('SELECT id, collection, doc_id, op, fields, ops, hlc, base_version FROM tl_outbox ORDER BY id');
        final got = [
          for (final r in rows)
            {
              'id': tree(r['id']),
              'collection': r['collection'],
              'docId': r['doc_id'],
              'op': r['op'],
              if (r['fields'] case final String f) 'fields': decodeJsonText(f),
              if (r['ops'] case final String o) 'ops': decodeJsonText(o),
              'hlc': r['hlc'],
              'baseVersion': tree(r['base_version']),
            },
        ];
        final why = mismatch(s['mutations'], got, 'outbox');
        if (why != null) return '$why\n got ${show(got)}';
        final pending = (await c.currentStatus()).pending;
        return pending == got.length ? null : 'status pending $pending, outbox ${got.length}';
      case 'expectReceipts':
        final got = receipts[s['client'] as String? ?? 'a']!;
        final list = [for (final r in got) receiptJson(r)];
        got.clear();
        final why = mismatch(s['receipts'], list, 'receipts');
        return why == null ? null : '$why\n got ${show(list)}';
      case 'expectServer':
        final rows = inspect.select('SELECT doc, version, seq, buckets FROM tl_server WHERE collection = ? AND doc_id = ?',
            [s['collection'], s['docId']]);
        final got = rows.isEmpty
            ? null
            : {
                'doc': rows.first['doc'] == null ? null : decodeJsonText(rows.first['doc'] as String),
                'version': tree(rows.first['version']),
                'seq': tree(rows.first['seq']),
                'buckets': decodeJsonText(rows.first['buckets'] as String),
              };
        return mismatch(s['copy'], got, 'server copy');
      case 'expectMeta':
        for (final e in _m(s['meta']).entries) {
          final rows = inspect.select('SELECT value FROM tl_meta WHERE key = ?', [e.key]);
          final got = rows.isEmpty ? null : rows.first['value'] as String;
          if (got != e.value && !(e.value == r'$any' && got != null)) return 'meta ${e.key} = $got, want ${e.value}';
        }
        if (s['cacheVersion'] case final JsonNumber v) {
          final got = inspect.select('PRAGMA user_version').first.columnAt(0) as int;
          if (got != v.value) return 'cache version $got, want $v';
        }
        return null;
      case 'expectStatus':
        final st = await c.currentStatus();
        final want = _m(s['status']);
        return mismatch(
            want,
            tree({
              'pending': st.pending,
              'signedIn': st.signedIn,
              'userId': st.userId,
              'hasSyncedOnce': st.hasSyncedOnce,
              if (want.containsKey('live')) 'live': st.live, // compared only when the scenario says
            }),
            'status');
      case 'expectQuery':
        Object? error;
        var ids = <String>[];
        try {
          ids = [for (final d in await c.collection(s['collection']! as String).find(query(s['query']))) d.id];
        } on Object catch (e) {
          error = e;
        }
        final why = errorMismatch(s['error'], error);
        if (why != null) return why;
        return mismatch(s['ids'], ids, 'ids');
      case 'expectWatch':
        await c.currentStatus(); // the watch's runs were queued on the cache before this
        final got = watches[s['watch']! as String]!;
        final list = [
          for (final r in got)
            {'ids': [for (final d in r.docs) d.id], 'added': r.added, 'changed': r.changed, 'removed': r.removed},
        ];
        got.clear();
        final why = mismatch(s['snapshots'], list, 'snapshots');
        return why == null ? null : '$why\n got ${show(list)}';
      case 'expectAttachments':
        final queue = await c.attachments();
        final list = [
          for (final a in queue)
            {
              'localId': a.localId,
              'collection': a.collection,
              'docId': a.docId,
              'field': a.field,
              'state': a.state,
              'attempts': tree(a.attempts),
              'uploadUrl': a.uploadUrl,
              'offset': tree(a.offset),
            },
        ];
        final why = mismatch(s['attachments'], list, 'attachments');
        if (why != null) return '$why\n got ${show(list)}';
        final uploads = (await c.currentStatus()).uploads;
        if (uploads != queue.length) return 'status uploads $uploads, queue ${queue.length}';
        return _filesOnDisk(c);
      case 'expectFiles':
        final files = await c.cachedFiles();
        final list = [
          for (final f in files)
            {'fileId': f.id, 'collection': f.collection, 'docId': f.docId, 'size': tree(f.size), 'pinned': f.pinned},
        ];
        final why = mismatch(s['files'], list, 'files');
        if (why != null) return '$why\n got ${show(list)}';
        if (s.containsKey('partials')) {
          final parts = [
            for (final p in _partials())
              {'fileId': p.fileId, 'collection': p.collection, 'docId': p.docId, 'size': tree(p.size)},
          ];
          final why = mismatch(s['partials'], parts, 'partials');
          if (why != null) return '$why\n got ${show(parts)}';
        }
        return _filesOnDisk(c);
    }
    return 'unknown step ${s['do']}';
  }
}

extension on Runner {
  // _partials reads the partial downloads (tl_downloads), by file id, each with its
  // file's size on disk (-1: missing).
  List<({String fileId, String collection, String docId, String path, int size})> _partials() => [
        for (final r in inspect.select('SELECT file_id, collection, doc_id, path FROM tl_downloads ORDER BY file_id'))
          (
            fileId: r['file_id'] as String,
            collection: r['collection'] as String,
            docId: r['doc_id'] as String,
            path: '$path.files/${r['path']}',
            size: File('$path.files/${r['path']}').existsSync() ? File('$path.files/${r['path']}').lengthSync() : -1,
          ),
      ];

  // _filesOnDisk: the files directory holds exactly the queue's copies, the cached files
  // and the partial downloads, with their sizes.
  Future<String?> _filesOnDisk(Tideline c) async {
    final want = <String, int>{for (final f in await c.cachedFiles()) f.path: f.size};
    for (final r in inspect.select('SELECT path, size FROM tl_attachments')) {
      want['$path.files/${r['path']}'] = r['size'] as int;
    }
    for (final p in _partials()) {
      want[p.path] = p.size; // on disk, whatever its length
    }
    final have = <String, int>{};
    final root = Directory('$path.files');
    if (root.existsSync()) {
      for (final e in root.listSync(recursive: true).whereType<File>()) {
        have[e.path] = e.lengthSync();
      }
    }
    final same = have.length == want.length && have.entries.every((e) => want[e.key] == e.value);
    return same ? null : 'the files directory holds $have, want $want';
  }
}

/// Runs one write of a scenario in the transaction.
void apply(WriteTx tx, Map<String, Object?> w) {
  final collection = w['collection']! as String, id = w['docId']! as String;
  switch (w['op']) {
    case 'put':
      tx.put(collection, id, plainJson(w['fields'] ?? const <String, Object?>{})! as Map<String, Object?>);
    case 'delete':
      tx.delete(collection, id);
    default:
      final fields = w['fields'] as Map<String, Object?>? ?? const {};
      final ops = w['ops'] as Map<String, Object?>? ?? const {};
      tx.patch(collection, id, [
        for (final k in fields.keys.toList()..sort()) Change.set(k, plainJson(fields[k])),
        for (final k in ops.keys.toList()..sort())
          for (final op in _m(ops[k]).entries) Change.op(k, op.key, plainJson(op.value)),
      ]);
  }
}

/// A scenario's query.
Query query(Object? q) {
  if (q is! Map<String, Object?>) return const Query();
  return Query(
    where: [
      for (final w in (q['where'] as List<Object?>? ?? const []).map(_m))
        Filter(w['field']! as String, FilterOp.values.firstWhere((o) => o.symbol == w['op'], orElse: () => FilterOp.eq),
            plainJson(w['value'])),
    ],
    orderBy: q['orderBy'] as String? ?? '',
    descending: q['desc'] == true,
    limit: q['limit'] == null ? 0 : _i(q['limit']),
  );
}

/// A receipt as scenarios write it: id, collection, docId and status always; code,
/// message, field and doc when set; deleted, duplicate, hlcClamped, local when true.
Map<String, Object?> receiptJson(Receipt r) => {
      'id': tree(r.mutationId),
      'collection': r.collection,
      'docId': r.docId,
      'status': r.status,
      if (r.code.isNotEmpty) 'code': r.code,
      if (r.message.isNotEmpty) 'message': r.message,
      if (r.field.isNotEmpty) 'field': r.field,
      if (r.docJson case final String doc) 'doc': decodeJsonText(doc),
      if (r.deleted) 'deleted': true,
      if (r.duplicate) 'duplicate': true,
      if (r.hlcClamped) 'hlcClamped': true,
      if (r.local) 'local': true,
      if (r.attachment.isNotEmpty) 'attachment': r.attachment,
    };

/// How the runner names an error (docs/sdk-core.md, "Errors").
(String, int, Duration?) errorKind(Object error) => switch (error) {
      OtherUserException e => ('otherUser', e.status, e.server?.retryAfter),
      TidelineException e => ('server', e.status, e.retryAfter),
      SignedOutException _ => ('signedOut', 0, null),
      InvalidException _ => ('invalid', 0, null),
      NoFileException _ => ('noFile', 0, null),
      _ => ('network', 0, null),
    };

/// Why [error] is not the error a step wants (null or absent: none).
String? errorMismatch(Object? want, Object? error) {
  if (want is! Map<String, Object?>) return error == null ? null : 'error $error, want none';
  if (error == null) return 'no error, want ${show(want)}';
  final (kind, status, retryAfter) = errorKind(error);
  if (kind != want['kind']) return 'error $error is $kind, want ${want['kind']}';
  if (want['status'] case final JsonNumber s when s.value != status) return 'error $error has status $status, want $s';
  if (want['retryAfterMs'] case final JsonNumber ms when ms.value != retryAfter?.inMilliseconds) {
    return 'error $error has Retry-After $retryAfter, want $ms ms';
  }
  return null;
}
