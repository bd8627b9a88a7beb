// The realtime loop against a WebSocket server on the loopback interface: it syncs when
// started and at hello, refreshes the session when the upgrade is refused with 401,
// answers expired with the new token, closes the stream at pause and reconnects at
// resume. Every wait is on something the server saw, never on time.

import 'dart:async';
import 'dart:convert';
import 'dart:io';

import 'package:test/test.dart';
import 'package:tideline/tideline.dart';

import 'fixtures.dart';


/// A server with the routes the loop uses, telling the test what it saw.
final class Server {
  Server(this.http) {
    http.listen(_handle);
  }

  final HttpServer http;
  final seen = StreamController<String>.broadcast(); // "pull", "refresh", "stream 401", "connected", "closed", messages
  final sockets = <WebSocket>[];
  var refreshes = 0;

  String get url => 'http://${http.address.address}:${http.port}';

  Future<void> _handle(HttpRequest req) async {
    final token = (req.headers.value(HttpHeaders.authorizationHeader) ?? '').replaceFirst('Bearer ', '');
    switch (req.uri.path) {
      case '/v1/sync/stream':
        if (token == 'a1') {
          // The first token has expired: the loop must refresh and come back.
          req.response.statusCode = 401;
          req.response.write(jsonEncode({'status': 401, 'code': 'unauthenticated'}));
          await req.response.close();
          seen.add('stream 401');
          return;
        }
        final ws = await WebSocketTransformer.upgrade(req);
        sockets.add(ws);
        seen.add('connected $token');
        ws.add(jsonEncode({'type': 'hello', 'seq': 1}));
        ws.listen((m) => seen.add('message $m'), onDone: () => seen.add('closed'));
      case '/v1/auth/refresh':
        await utf8.decodeStream(req);
        refreshes++;
        req.response.write(jsonEncode(sessionJson('a${refreshes + 1}', 'r${refreshes + 1}')));
        await req.response.close();
        seen.add('refresh');
      case '/v1/sync/pull':
        await utf8.decodeStream(req);
        req.response.write(jsonEncode({'protocol': 1, 'hasMore': false, 'cursor': 'c', 'changes': <Object>[]}));
        await req.response.close();
        seen.add('pull $token');
      default:
        req.response.statusCode = 404;
        await req.response.close();
    }
  }
}

void main() {
  test('start, 401 at the upgrade, hello, expired, pause and resume', () async {
    final server = Server(await HttpServer.bind(InternetAddress.loopbackIPv4, 0));
    addTearDown(() => server.http.close(force: true));
    final dir = Directory.systemTemp.createTempSync('tideline-realtime-');
    addTearDown(() => dir.deleteSync(recursive: true));
    final events = StreamQueue(server.seen.stream);
    final db = await Tideline.open(
      path: '${dir.path}/cache.db',
      serverUrl: server.url,
      auth: const Session(userId: 'u1', accessToken: 'a1', refreshToken: 'r1'),
    );
    addTearDown(db.close);

    db.start(backoff: const Backoff(min: Duration.zero, max: Duration.zero));
    // The sync at start and the stream's upgrade run side by side; wait for both.
    await events.waitFor('connected a2'); // refused with 401, refreshed, connected again
    await events.waitFor('pull a2'); // hello: a sync with the new token

    server.sockets.last.add(jsonEncode({'type': 'expired'}));
    await events.waitFor('refresh');
    await events.waitFor('message {"type":"auth","token":"a3"}');

    db.pause();
    await events.waitFor('closed');
    db.resume();
    await events.waitFor('connected a3');
    await events.waitFor('pull a3');

    await db.stop();
    await events.waitFor('closed');
    expect((await db.currentStatus()).lastError, isNull);
  });
}

/// Reads a stream's events in order.
final class StreamQueue {
  StreamQueue(Stream<String> stream) {
    stream.listen((e) {
      _seen.add(e);
      _check();
    });
  }

  final _seen = <String>[];
  String? _want;
  Completer<void>? _waiting;

  /// Waits until [event] was seen (events before it are skipped).
  Future<void> waitFor(String event) {
    _want = event;
    final c = _waiting = Completer<void>();
    _check();
    return c.future;
  }

  void _check() {
    final want = _want, c = _waiting;
    if (want == null || c == null) return;
    final i = _seen.indexOf(want);
    if (i < 0) return;
    _seen.removeRange(0, i + 1);
    _want = null;
    _waiting = null;
    c.complete();
  }
}
