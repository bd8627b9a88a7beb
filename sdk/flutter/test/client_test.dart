// The Dart API around the core: collections, typed models, atomic writes, live queries,
// the status and receipts streams, sign-in and sign-out, and the push hook. The
// conformance scenarios (conformance_test.dart) cover the core's procedures themselves.

import 'dart:async';
import 'dart:convert' hide Converter; // Converter: the SDK's
import 'dart:io';

import 'package:http/http.dart' as http;
import 'package:http/testing.dart';
import 'package:test/test.dart';
import 'package:tideline/tideline.dart';

import 'fixtures.dart';

final class Todo {
  const Todo(this.title, {this.done = false});
  final String title;
  final bool done;
}

const todoConverter = Converter<Todo>(
  fromJson: _todoFromJson,
  toJson: _todoToJson,
);

Todo _todoFromJson(Map<String, Object?> json) => Todo(json['title']! as String, done: json['done'] == true);
Map<String, Object?> _todoToJson(Todo t) => {'title': t.title, 'done': t.done};


void main() {
  late Directory dir;
  late List<http.Request> requests;
  late http.Response Function(http.Request) answer;

  setUp(() {
    dir = Directory.systemTemp.createTempSync('tideline-client-');
    requests = [];
    answer = (req) => http.Response('{"code":"unexpected"}', 418);
  });
  tearDown(() => dir.deleteSync(recursive: true));

  Future<Tideline> open({Session? auth}) => Tideline.open(
        path: '${dir.path}/cache.db',
        serverUrl: 'https://api.example.com',
        auth: auth,
        options: TidelineOptions(
          clientId: 'c1',
          httpClient: MockClient((req) async {
            requests.add(req);
            return answer(req);
          }),
        ),
      );

  test('writes are read back at once, by id and by query', () async {
    final db = await open();
    addTearDown(db.close);
    final todos = db.collection('todos');
    await todos.put('t1', {'title': 'Buy milk', 'done': false, 'list': {'name': 'home'}});
    await todos.put('t2', {'title': 'Call Bob', 'done': true});
    await todos.patch('t1', const [Change.inc('edits', 2), Change.add('tags', ['errand'])]);
    final t1 = await todos.get('t1');
    expect(t1!.fields, {'title': 'Buy milk', 'done': false, 'list': {'name': 'home'}, 'edits': 2, 'tags': ['errand']});
    expect(t1.pending, 2);
    expect(t1.version, 0);
    final open = await todos.find(const Query(where: [Filter('done', FilterOp.eq, false), Filter('list.name', FilterOp.eq, 'home')]));
    expect(open.map((d) => d.id), ['t1']);
    final ordered = await todos.find(const Query(orderBy: 'title', descending: true, limit: 1));
    expect(ordered.map((d) => d.id), ['t1']);
    await todos.delete('t1');
    expect(await todos.get('t1'), isNull);
    expect((await db.currentStatus()).pending, 4);
  });

  test('a write group is atomic: an error rolls every write of it back', () async {
    final db = await open();
    addTearDown(db.close);
    await db.write((tx) {
      tx.put('lists', 'l1', {'title': 'Trip'});
      tx.patch('lists', 'l1', const [Change.inc('items', 1)]);
      expect(tx.get('lists', 'l1')!.fields, {'title': 'Trip', 'items': 1});
    });
    await expectLater(
      db.write((tx) async {
        tx.put('items', 'i1', {'what': 'tent'});
        tx.patch('lists', 'l1', const [Change.set(r'$x', 1)]);
      }),
      throwsA(isA<InvalidException>()),
    );
    expect(await db.collection('items').get('i1'), isNull);
    expect((await db.collection('lists').get('l1'))!.fields, {'title': 'Trip', 'items': 1});
    expect((await db.currentStatus()).pending, 2);
  });

  test('names and values the server would refuse are refused locally', () async {
    final db = await open();
    addTearDown(db.close);
    final bad = <Future<void> Function()>[
      () => db.collection('Todos').put('t1', {}),
      () => db.collection('system_x').put('t1', {}),
      () => db.collection('todos').put('t/1', {}),
      () => db.collection('todos').put('t1', {'a.b': 1}),
      () => db.collection('todos').put('t1', {'_id': 1}),
      () => db.collection('todos').patch('t1', const []),
      () => db.collection('todos').patch('t1', const [Change.set('a', 1), Change.inc('a', 1)]),
      () => db.collection('todos').patch('t1', const [Change.op('a', 'inc', 'x')]),
      () => db.collection('todos').patch('t1', const [Change.add('a', [])]),
      () => db.collection('todos').put('t1', {'n': double.nan}),
      () => db.collection('todos').find(const Query(where: [Filter('a..b', FilterOp.eq, 1)])),
      () => db.collection('todos').find(const Query(where: [Filter('a', FilterOp.isIn, <Object>[])])),
      () => db.collection('todos').find(const Query(where: [Filter('a', FilterOp.eq, <Object>[])])),
    ];
    for (final (i, call) in bad.indexed) {
      await expectLater(call(), throwsA(isA<InvalidException>()), reason: 'case $i');
    }
    expect((await db.currentStatus()).pending, 0);
  });

  test('typed collections convert through their Converter', () async {
    final db = await open();
    addTearDown(db.close);
    final todos = db.collection('todos').withConverter(todoConverter);
    await todos.put('t1', const Todo('Buy milk'));
    expect((await todos.get('t1'))!.title, 'Buy milk');
    await todos.untyped.patch('t1', const [Change.set('done', true)]);
    final items = await todos.find();
    expect(items.single.id, 't1');
    expect(items.single.value.done, isTrue);
    expect(items.single.pending, 2);
  });

  test('watch delivers the first result, then one per change of it', () async {
    final db = await open();
    addTearDown(db.close);
    final todos = db.collection('todos');
    await todos.put('a', {'title': 'A', 'done': false});
    final results = <QueryResult>[];
    final sub = todos.watch(const Query(where: [Filter('done', FilterOp.eq, false)])).listen(results.add);
    addTearDown(sub.cancel);
    await todos.put('b', {'title': 'B', 'done': false});
    await db.collection('other').put('x', {'n': 1}); // another collection: no result
    await todos.patch('a', const [Change.set('done', true)]);
    await db.currentStatus(); // queued after the watch's runs
    expect(results.map((r) => [r.docs.map((d) => d.id).toList(), r.added, r.changed, r.removed]), [
      [['a'], ['a'], <String>[], <String>[]],
      [['a', 'b'], ['b'], <String>[], <String>[]],
      [['b'], <String>[], <String>[], ['a']],
    ]);
  });

  test('sign-in keeps the session in the cache; sign-out keeps the documents for the same user', () async {
    answer = (req) => http.Response(jsonEncode(sessionJson('a1', 'r1')), 200);
    var db = await open();
    expect((await db.currentStatus()).signedIn, isFalse);
    await expectLater(db.sync(), throwsA(isA<SignedOutException>()));
    expect(requests, isEmpty, reason: 'no request without a session');
    await db.signIn('ada@example.com', 'pw');
    await db.collection('todos').put('t1', {'title': 'x'});
    await db.close();

    db = await open(); // the session is the cache's
    addTearDown(db.close);
    final st = await db.currentStatus();
    expect(st.signedIn, isTrue);
    expect(st.userId, 'u1');
    answer = (req) => http.Response('', 204);
    await db.signOut();
    expect(requests.last.url.path, '/v1/auth/logout');
    expect(requests.last.headers['Authorization'], 'Bearer a1');
    expect((await db.currentStatus()).signedIn, isFalse);
    expect(await db.collection('todos').get('t1'), isNotNull);
    await db.signOut(clearLocal: true);
    expect(await db.collection('todos').get('t1'), isNull);
    expect(db.clientId, isNot('c1'));
  });

  test('status and receipts are streams; a silent push syncs', () async {
    final db = await open(auth: const Session(userId: 'u1', accessToken: 'a1', refreshToken: 'r1'));
    addTearDown(db.close);
    final statuses = <SyncStatus>[];
    final receipts = <Receipt>[];
    final s1 = db.status.listen(statuses.add);
    final s2 = db.receipts.listen(receipts.add);
    addTearDown(s1.cancel);
    addTearDown(s2.cancel);
    await db.collection('todos').put('t1', {'title': 'x'});
    answer = (req) => switch (req.url.path) {
          '/v1/sync/push' => http.Response(
              jsonEncode({
                'protocol': 1,
                'receipts': [
                  {'id': 1, 'status': 'rejected', 'code': 'forbidden', 'message': 'no', 'field': 'docId'}
                ],
              }),
              200),
          _ => http.Response(jsonEncode({'protocol': 1, 'hasMore': false, 'cursor': 'c1', 'changes': <Object>[]}), 200),
        };
    expect(await db.handlePush({'other': 'x'}), isFalse);
    expect(requests, isEmpty);
    expect(await db.handlePush({'tideline': 'sync'}), isTrue);
    expect(requests.map((r) => r.url.path), ['/v1/sync/push', '/v1/sync/pull']);
    expect(receipts.single.status, 'rejected');
    expect(receipts.single.code, 'forbidden');
    expect(await db.collection('todos').get('t1'), isNull, reason: 'a rejected write leaves the view');
    final last = statuses.last;
    expect(last.hasSyncedOnce, isTrue);
    expect(last.online, isTrue);
    expect(last.lastError, isNull);
    expect(last.uploading || last.downloading, isFalse);
  });

  test('a cache bound to one user refuses another user, and clears when asked', () async {
    var db = await open(auth: const Session(userId: 'u1', accessToken: 'a1'));
    await db.collection('todos').put('t1', {'title': 'mine'});
    await db.close();
    await expectLater(open(auth: const Session(userId: 'u2', accessToken: 'b1')), throwsA(isA<OtherUserException>()));
    db = await Tideline.open(
      path: '${dir.path}/cache.db',
      serverUrl: 'https://api.example.com',
      auth: const Session(userId: 'u2', accessToken: 'b1'),
      options: const TidelineOptions(clearOtherUser: true),
    );
    addTearDown(db.close);
    expect(await db.collection('todos').get('t1'), isNull);
    expect((await db.currentStatus()).userId, 'u2');
  });
}
