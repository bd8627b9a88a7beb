part of 'client.dart';

// Identify the client (docs/sdk-core.md, "Identify the client"): every push, pull and
// stream carries the Tideline-Client header, which the server records for the admin
// console's sync health and never serves a request differently for. Written by hand: the
// generated transport leaves transport-wide headers to the SDK's HTTP client.

/// The SDK's version, as in pubspec.yaml (kept in step by hand, with CHANGELOG.md).
const String sdkVersion = '0.1.0';

/// The sync protocol version this SDK speaks (docs/sync-protocol.md).
const int protocolVersion = 1;

/// The Tideline-Client header of the install [clientId].
String _clientHeader(String clientId) => 'sdk=flutter/$sdkVersion; protocol=$protocolVersion; client=$clientId';

/// An http.Client that sends the Tideline-Client header with every request it sends
/// through [_inner]; [_header] is read at each request (the client id changes when the
/// cache is cleared).
final class _IdentifyingClient extends http.BaseClient {
  _IdentifyingClient(this._inner, this._header);

  final http.Client _inner;
  final String Function() _header;

  @override
  Future<http.StreamedResponse> send(http.BaseRequest request) {
    request.headers['Tideline-Client'] = _header();
    return _inner.send(request);
  }

  @override
  void close() => _inner.close();
}
