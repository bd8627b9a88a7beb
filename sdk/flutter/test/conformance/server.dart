// The scripted server of the conformance runner: it answers the current step's exchanges
// in order, and records every request it did not expect or that differs from the one
// expected (path, bearer token, body; and when given the method, the query, headers,
// and a raw body as text). An answer may drop the connection, or cut its body short
// (cutAfter).

import 'dart:convert';
import 'dart:io';

import 'package:tideline/src/json_text.dart';

import 'matching.dart';

/// A scripted HTTP server on the loopback interface.
final class ScriptServer {
  ScriptServer._(this._server) {
    _server.listen(_handle);
  }

  /// Starts a server on a free port.
  static Future<ScriptServer> start() async => ScriptServer._(await HttpServer.bind(InternetAddress.loopbackIPv4, 0));

  final HttpServer _server;
  List<Object?> _next = const [];
  final _errors = <String>[];

  /// The server's URL.
  String get url => 'http://${_server.address.address}:${_server.port}';

  /// Sets the exchanges the next requests must make.
  void load(List<Object?> exchanges) {
    _next = List.of(exchanges);
    _errors.clear();
  }

  /// What went wrong in the step's exchanges (null: nothing).
  String? done() {
    if (_errors.isNotEmpty) return _errors.join('\n');
    if (_next.isNotEmpty) {
      final request = (_next.first! as Map<String, Object?>)['request']! as Map<String, Object?>;
      return '${_next.length} exchanges left unused, the next to ${request['path']}';
    }
    return null;
  }

  /// Stops the server.
  Future<void> close() => _server.close(force: true);

  Future<void> _handle(HttpRequest req) async {
    final body = await utf8.decodeStream(req);
    if (_next.isEmpty) {
      _errors.add('unexpected request ${req.method} ${req.uri.path} $body');
      req.response.statusCode = 418;
      await req.response.close();
      return;
    }
    final exchange = _next.removeAt(0)! as Map<String, Object?>;
    final want = exchange['request']! as Map<String, Object?>;
    final answer = exchange['response']! as Map<String, Object?>;
    if (req.uri.path != want['path']) _errors.add('request to ${req.uri.path}, want ${want['path']}');
    if (want['method'] case final String m when m != req.method) _errors.add('${req.method} request to ${req.uri.path}, want $m');
    if (want['query'] case final String q when q != req.uri.query) {
      _errors.add('request to ${req.uri.path} with query "${req.uri.query}", want "$q"');
    }
    if (want['headers'] case final Map<String, Object?> headers) {
      for (final e in headers.entries) {
        final got = req.headers.value(e.key) ?? ''; // absent: "", as a header the request must not have
        if (got != e.value) _errors.add('request to ${req.uri.path} with ${e.key} "$got", want "${e.value}"');
      }
    }
    final auth = req.headers.value(HttpHeaders.authorizationHeader) ?? '';
    final token = auth.startsWith('Bearer ') ? auth.substring(7) : '';
    final wantToken = want['token'] as String?;
    if ((wantToken == null) != token.isEmpty || (wantToken != null && wantToken != token)) {
      _errors.add('request to ${req.uri.path} with token "$token", want $wantToken');
    }
    if (want['bytes'] case final String bytes) {
      if (body != bytes) _errors.add('request to ${req.uri.path} with bytes "$body", want "$bytes"');
    } else {
      final got = body.trim().isEmpty ? null : decodeJsonText(body);
      final why = mismatch(want['body'], got, 'body');
      if (why != null) _errors.add('request to ${req.uri.path}: $why\n got $body');
    }
    if (answer['drop'] == true) {
      final socket = await req.response.detachSocket(writeHeaders: false);
      socket.destroy();
      return;
    }
    final status = answer['status'] is JsonNumber ? (answer['status']! as JsonNumber).value.toInt() : 200;
    if ((answer['cutAfter'], answer['bytes']) case (final JsonNumber cut, final String text)) {
      // A download cut midway: the status, the headers with the Content-Length of the
      // whole body, and only its first bytes; then the connection is closed.
      final bytes = utf8.encode(text);
      final head = StringBuffer('HTTP/1.1 $status Cut\r\n')
        ..write('Content-Type: application/octet-stream\r\n')
        ..write('Content-Length: ${bytes.length}\r\n');
      if (answer['headers'] case final Map<String, Object?> headers) {
        for (final e in headers.entries) {
          head.write('${e.key}: ${e.value}\r\n');
        }
      }
      head.write('\r\n');
      final socket = await req.response.detachSocket(writeHeaders: false);
      socket.add(utf8.encode(head.toString()));
      socket.add(bytes.sublist(0, cut.value.toInt().clamp(0, bytes.length)));
      await socket.flush();
      socket.destroy();
      return;
    }
    req.response.statusCode = status;
    req.response.headers.contentType = status >= 400
        ? ContentType('application', 'problem+json')
        : answer.containsKey('bytes')
            ? ContentType('application', 'octet-stream')
            : ContentType.json;
    if (answer['headers'] case final Map<String, Object?> headers) {
      for (final e in headers.entries) {
        req.response.headers.set(e.key, e.value! as String);
      }
    }
    if (answer['bytes'] case final String bytes) {
      req.response.write(bytes);
    } else if (answer.containsKey('body') && status != 204 && req.method != 'HEAD') {
      req.response.write(encodeJsonText(answer['body']));
    }
    await req.response.close();
  }
}
