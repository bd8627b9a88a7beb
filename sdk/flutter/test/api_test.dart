// The generated transport (lib/src/generated/api.dart): what it sends and how it reads
// the server's answers.

import 'dart:convert';

import 'package:http/http.dart' as http;
import 'package:http/testing.dart';
import 'package:test/test.dart';
import 'package:tideline/src/generated/api.dart';

void main() {
  late List<http.Request> sent;
  TidelineApi apiAnswering(http.Response Function(http.Request) answer, {String? token}) {
    sent = [];
    final client = MockClient((req) async {
      sent.add(req);
      return answer(req);
    });
    return TidelineApi(TidelineTransport('https://api.example.com/', client: client, token: token));
  }

  http.Response json(Object body, [int status = 200, Map<String, String> headers = const {}]) =>
      http.Response(jsonEncode(body), status, headers: {'content-type': 'application/json', ...headers});

  const user = {
    'id': 'u1',
    'anonymous': false,
    'createdAt': '2026-11-01T00:00:00.123456789Z',
    'updatedAt': '2026-11-01T00:00:00Z',
    'disabled': false,
    'displayName': 'Ada',
    'emailVerified': true,
    'roles': ['admin'],
  };

  test('an operation without security sends no bearer, even with a token', () async {
    final api = apiAnswering(
        (_) => json({'accessToken': 'a', 'refreshToken': 'r', 'expiresIn': 900, 'sessionId': 's', 'user': user}),
        token: 'secret');
    final res = await api.login(const Credentials(email: 'ada@example.com', password: 'pw'));
    expect(sent.single.url.toString(), 'https://api.example.com/v1/auth/login');
    expect(sent.single.headers['Authorization'], isNull);
    expect(jsonDecode(sent.single.body), {'email': 'ada@example.com', 'password': 'pw'});
    expect(res.user.id, 'u1');
    expect(res.user.roles, ['admin']);
    expect(res.user.createdAt, DateTime.utc(2026, 11, 1, 0, 0, 0, 123, 456));
  });

  test('a secured operation sends the bearer; path and query parameters are escaped', () async {
    final api = apiAnswering((_) => json({'users': <Object>[], 'next': 'n2'}), token: 'secret');
    final page = await api.adminListUsers(email: 'a&b', limit: 10);
    expect(sent.single.headers['Authorization'], 'Bearer secret');
    expect(sent.single.url.queryParameters, {'email': 'a&b', 'limit': '10'});
    expect(page.next, 'n2');
    await api.withToken('other').revokeSession('s/1');
    expect(sent.last.url.path, '/v1/auth/sessions/s%2F1');
    expect(sent.last.headers['Authorization'], 'Bearer other');
  });

  test('a problem answer is a TidelineException with its code, fields and Retry-After', () async {
    final api = apiAnswering((_) => json({
          'type': 'about:blank',
          'title': 'Too Many Requests',
          'status': 429,
          'code': 'rate_limited',
          'detail': 'slow down',
          'request_id': 'r1',
          'fields': {'email': 'taken'},
        }, 429, {'retry-after': '7'}));
    final error = await api
        .signUp(const Credentials(email: 'a@b.c', password: 'pw'))
        .then<TidelineException?>((_) => null, onError: (Object e) => e as TidelineException);
    expect(error, isNotNull);
    expect(error!.status, 429);
    expect(error.code, 'rate_limited');
    expect(error.detail, 'slow down');
    expect(error.requestId, 'r1');
    expect(error.fields, {'email': 'taken'});
    expect(error.retryAfter, const Duration(seconds: 7));
  });

  test('an answer that is not a problem document keeps its status and body', () async {
    final api = apiAnswering((_) => http.Response('<html>bad gateway</html>', 502, headers: {'x-request-id': 'r9'}));
    await expectLater(
        api.getHealthz(),
        throwsA(isA<TidelineException>()
            .having((e) => e.status, 'status', 502)
            .having((e) => e.code, 'code', '')
            .having((e) => e.requestId, 'requestId', 'r9')
            .having((e) => e.body, 'body', contains('bad gateway'))));
  });

  test('models encode what they decode, enums included', () {
    const json = {
      'id': 3,
      'collection': 'todos',
      'docId': 't1',
      'op': 'patch',
      'fields': {'done': true},
      'ops': {
        'n': {'inc': 1.5},
        'tags': {
          'add': ['a']
        },
      },
      'hlc': '1793523601000-00000-c1',
    };
    final m = Mutation.fromJson(json);
    expect(m.op, MutationOp.patch);
    expect(m.ops!['n']!.inc, 1.5);
    expect(m.toJson(), json);
    expect(() => MutationOp.fromJson('upsert'), throwsFormatException);
  });

  test('the stream operation builds its URI', () {
    final api = TidelineApi(TidelineTransport('https://api.example.com'));
    expect(api.syncStreamUri(accessToken: 't').toString(), 'https://api.example.com/v1/sync/stream?access_token=t');
  });
}
