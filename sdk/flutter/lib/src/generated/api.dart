// GENERATED CODE - DO NOT EDIT. cmd/sdkgen writes it from openapi.yaml:
// go generate ./cmd/sdkgen
//
// The HTTP layer of the Tideline API: a model class (or enum, or sealed type) per schema,
// a typed method per operation on TidelineApi, and one TidelineTransport that adds the
// bearer token, reads Retry-After and turns every answer that is not a success into a
// TidelineException.

// ignore_for_file: lines_longer_than_80_chars, unnecessary_brace_in_string_interps, sort_constructors_first

import 'dart:convert';

import 'package:http/http.dart' as http;

/// An answer of the server that is not a success: an RFC 9457 problem document with
/// Tideline's stable [code] (docs: openapi.yaml, "Errors").
final class TidelineException implements Exception {
  /// Creates a [TidelineException].
  const TidelineException({
    required this.status,
    required this.code,
    this.title,
    this.detail,
    this.fields = const {},
    this.requestId,
    this.retryAfter,
    this.body = '',
  });

  /// Reads a problem answer; a body that is not a problem document leaves [code] empty.
  factory TidelineException.fromResponse(http.Response res, {DateTime? now}) {
    Map<String, Object?> problem = const {};
    try {
      final decoded = jsonDecode(res.body);
      if (decoded is Map<String, Object?>) problem = decoded;
    } on FormatException {
      // Not JSON (a proxy's page, an empty body): the status says what happened.
    }
    final fields = problem['fields'];
    return TidelineException(
      status: res.statusCode,
      code: problem['code'] is String ? problem['code']! as String : '',
      title: problem['title'] is String ? problem['title']! as String : null,
      detail: problem['detail'] is String ? problem['detail']! as String : null,
      fields: fields is Map<String, Object?>
          ? Map<String, String>.unmodifiable({
              for (final e in fields.entries)
                if (e.value is String) e.key: e.value! as String,
            })
          : const {},
      requestId: problem['request_id'] is String
          ? problem['request_id']! as String
          : res.headers['x-request-id'],
      retryAfter: parseRetryAfter(res.headers['retry-after'], now ?? DateTime.now()),
      body: res.body,
    );
  }

  /// The HTTP status.
  final int status;

  /// The stable error code (invalid, unauthenticated, forbidden, rate_limited...); empty
  /// when the answer was not a problem document.
  final String code;

  /// The HTTP status text.
  final String? title;

  /// A message safe to show to a user.
  final String? detail;

  /// For invalid: the reason for each invalid field.
  final Map<String, String> fields;

  /// The request id to quote when reporting the error.
  final String? requestId;

  /// The server's Retry-After: wait at least this long before trying again.
  final Duration? retryAfter;

  /// The answer's body as it came.
  final String body;

  @override
  String toString() => 'TidelineException: the server answered $status $code'
      '${detail == null ? '' : ': $detail'}'
      '${requestId == null ? '' : ' (request $requestId)'}';
}

/// Reads a Retry-After header: delay-seconds, or an HTTP date (IMF-fixdate) counted from
/// [now]. Null when absent or unreadable.
Duration? parseRetryAfter(String? header, DateTime now) {
  if (header == null) return null;
  final value = header.trim();
  final seconds = int.tryParse(value);
  if (seconds != null) return seconds < 0 ? null : Duration(seconds: seconds);
  final date = _parseHttpDate(value);
  if (date == null) return null;
  final wait = date.difference(now);
  return wait.isNegative ? Duration.zero : wait;
}

const _months = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];

// _parseHttpDate reads an IMF-fixdate ("Sun, 06 Nov 1994 08:49:37 GMT").
DateTime? _parseHttpDate(String s) {
  final m = RegExp(r'^[A-Za-z]{3}, (\d{2}) ([A-Za-z]{3}) (\d{4}) (\d{2}):(\d{2}):(\d{2}) GMT$').firstMatch(s);
  if (m == null) return null;
  final month = _months.indexOf(m.group(2)!);
  if (month < 0) return null;
  return DateTime.utc(int.parse(m.group(3)!), month + 1, int.parse(m.group(1)!),
      int.parse(m.group(4)!), int.parse(m.group(5)!), int.parse(m.group(6)!));
}

/// Sends the requests of [TidelineApi]: the one place where the bearer token is added
/// and where an answer that is not a success becomes a [TidelineException].
final class TidelineTransport {
  /// A transport to the server at [baseUrl] ("https://api.example.com"), sending through
  /// [client] (a new http.Client when null), with [token] as the bearer of the
  /// operations that need one.
  TidelineTransport(String baseUrl, {http.Client? client, this.token, DateTime Function()? clock})
      : baseUrl = baseUrl.endsWith('/') ? baseUrl.substring(0, baseUrl.length - 1) : baseUrl,
        client = client ?? http.Client(),
        clock = clock ?? DateTime.now;

  TidelineTransport._(this.baseUrl, this.client, this.token, this.clock);

  /// The server's base URL, without a trailing slash.
  final String baseUrl;

  /// The HTTP client the requests go through.
  final http.Client client;

  /// The access token (or admin API key) sent as "Authorization: Bearer <token>" with
  /// the operations that need one; null: none is sent.
  final String? token;

  /// The clock a Retry-After date is counted from.
  final DateTime Function() clock;

  /// The same transport with another token.
  TidelineTransport withToken(String? token) => TidelineTransport._(baseUrl, client, token, clock);

  /// Sends one request and returns its answer when it is a success (1xx or 2xx).
  /// [path] is already escaped; [body] is JSON text. Any other answer throws a
  /// [TidelineException]; a connection that fails throws what the client throws
  /// (http.ClientException).
  Future<http.Response> send(String method, String path,
      {Map<String, String> query = const {}, String? body, bool auth = false}) async {
    var uri = Uri.parse('$baseUrl$path');
    if (query.isNotEmpty) uri = uri.replace(queryParameters: query);
    final req = http.Request(method, uri);
    req.headers['Accept'] = 'application/json';
    if (body != null) {
      req.headers['Content-Type'] = 'application/json';
      req.bodyBytes = utf8.encode(body);
    }
    final bearer = token;
    if (auth && bearer != null) req.headers['Authorization'] = 'Bearer $bearer';
    final res = await http.Response.fromStream(await client.send(req));
    if (res.statusCode < 300) return res;
    throw TidelineException.fromResponse(res, now: clock());
  }

  /// The URI of [path] (already escaped) with [query], on the server.
  Uri uri(String path, {Map<String, String> query = const {}}) {
    final uri = Uri.parse('$baseUrl$path');
    return query.isEmpty ? uri : uri.replace(queryParameters: query);
  }
}

Map<String, Object?> _object(String body) {
  final decoded = jsonDecode(body);
  if (decoded is Map<String, Object?>) return decoded;
  throw FormatException('expected a JSON object', body);
}

String _date(DateTime t) => t.toUtc().toIso8601String();

/// The Tideline API: one method per operation of openapi.yaml.
final class TidelineApi {
  /// The API over [transport].
  TidelineApi(this.transport);

  /// The transport the requests go through.
  final TidelineTransport transport;

  /// The same API with another bearer token.
  TidelineApi withToken(String? token) => TidelineApi(transport.withToken(token));

  /// Create an account with email and password
  ///
  /// Creates the account, signs it in (a new session) and sends a verification email.
  /// Emails are normalised (trimmed, lower-case). Passwords need at least 8 characters
  /// and must not be a commonly used password or the email. Rate limited per IP.
  ///
  /// `POST /v1/auth/signup`
  Future<AuthResponse> signUp(Credentials body) async {
    final res = await transport.send('POST', '/v1/auth/signup', body: jsonEncode(body.toJson()));
    return AuthResponse.fromJson(_object(res.body));
  }

  /// Sign in with email and password
  ///
  /// A wrong password and an unknown email give the same `invalid_credentials` error in
  /// the same time. Failed sign-ins are limited per account (the limit refills, so nobody
  /// is locked out for good) and all attempts per IP.
  ///
  /// `POST /v1/auth/login`
  Future<AuthResponse> login(Credentials body) async {
    final res = await transport.send('POST', '/v1/auth/login', body: jsonEncode(body.toJson()));
    return AuthResponse.fromJson(_object(res.body));
  }

  /// Sign in as a new anonymous user
  ///
  /// Creates a user with no email or password and signs it in. The app can later turn it
  /// into a permanent account with `POST /v1/auth/link`, keeping its id and data. The
  /// access token has `is_anonymous: true`. Rate limited per IP like sign-up.
  ///
  /// `POST /v1/auth/anonymous`
  Future<AuthResponse> signInAnonymously({AnonymousRequest? body}) async {
    final res = await transport.send('POST', '/v1/auth/anonymous', body: switch (body) { final value? => jsonEncode(value.toJson()), null => null });
    return AuthResponse.fromJson(_object(res.body));
  }

  /// Give an anonymous user an email and password
  ///
  /// The calling anonymous user becomes a permanent account with the same id, so
  /// everything it owns stays its own. Returns a new access token for the same session
  /// (the refresh token is unchanged). `conflict` when the caller is not anonymous,
  /// `email_taken` when another account has the email.
  ///
  /// `POST /v1/auth/link` (bearer token)
  Future<LinkResponse> linkAccount(LinkRequest body) async {
    final res = await transport.send('POST', '/v1/auth/link', body: jsonEncode(body.toJson()), auth: true);
    return LinkResponse.fromJson(_object(res.body));
  }

  /// Exchange a refresh token for new tokens
  ///
  /// Returns a new access token and a new refresh token; the presented refresh token is
  /// spent. Presenting it again within the grace window (10 s) returns the same new
  /// tokens' refresh token again; later it revokes the session and answers 401
  /// `refresh_token_reused`. Rate limited per IP.
  ///
  /// `POST /v1/auth/refresh`
  Future<AuthResponse> refreshSession(RefreshRequest body) async {
    final res = await transport.send('POST', '/v1/auth/refresh', body: jsonEncode(body.toJson()));
    return AuthResponse.fromJson(_object(res.body));
  }

  /// End the current session
  ///
  /// The session's refresh tokens stop working at once; its access tokens are refused on
  /// this node at once and on other nodes within the session check interval (30 s).
  ///
  /// `POST /v1/auth/logout` (bearer token)
  Future<void> logout() async {
    await transport.send('POST', '/v1/auth/logout', auth: true);
  }

  /// List your active sessions
  ///
  /// `GET /v1/auth/sessions` (bearer token)
  Future<SessionList> listSessions() async {
    final res = await transport.send('GET', '/v1/auth/sessions', auth: true);
    return SessionList.fromJson(_object(res.body));
  }

  /// End one of your sessions
  ///
  /// A session of another user is `not_found`, as if it did not exist.
  ///
  /// `DELETE /v1/auth/sessions/{sessionId}` (bearer token)
  Future<void> revokeSession(String sessionId) async {
    await transport.send('DELETE', '/v1/auth/sessions/${Uri.encodeComponent(sessionId)}', auth: true);
  }

  /// Sign in with an external ID token
  ///
  /// Exchanges an ID token of a configured external identity provider for a Tideline
  /// session: `oidc:<name>` for an OpenID Connect issuer (Auth0, Okta, Keycloak, Google,
  /// Apple, Cognito: bring your own auth), or `firebase` for a Firebase Auth ID token (for
  /// apps moving from Firebase). The first exchange of an identity creates a user (201),
  /// later ones sign in to it (200). A new user takes the token's email only when the
  /// provider verified it and no account has it: an identity is never joined to an
  /// existing account by email; a signed-in user links one with `POST /v1/auth/identities`.
  ///
  /// `POST /v1/auth/token`
  Future<AuthResponse> exchangeToken(ExchangeRequest body) async {
    final res = await transport.send('POST', '/v1/auth/token', body: jsonEncode(body.toJson()));
    return AuthResponse.fromJson(_object(res.body));
  }

  /// Link an external identity to your account
  ///
  /// From now on, exchanging ID tokens of this identity signs in to your account. An
  /// anonymous account becomes permanent (same id). `conflict` when the identity is
  /// linked to another account.
  ///
  /// `POST /v1/auth/identities` (bearer token)
  Future<Identity> linkIdentity(ExchangeRequest body) async {
    final res = await transport.send('POST', '/v1/auth/identities', body: jsonEncode(body.toJson()), auth: true);
    return Identity.fromJson(_object(res.body));
  }

  /// Email a password reset link
  ///
  /// Always 202, whether or not the email has an account, in the same time (the email
  /// is sent in the background): the answer never reveals which emails have accounts.
  /// Rate limited per IP and per email address.
  ///
  /// `POST /v1/auth/password/forgot`
  Future<void> forgotPassword(EmailRequest body) async {
    await transport.send('POST', '/v1/auth/password/forgot', body: jsonEncode(body.toJson()));
  }

  /// Set a new password with a reset token
  ///
  /// The token (from the reset email) works once and expires after an hour. Every
  /// session of the account ends; sign in with the new password.
  ///
  /// `POST /v1/auth/password/reset`
  Future<void> resetPassword(ResetPasswordRequest body) async {
    await transport.send('POST', '/v1/auth/password/reset', body: jsonEncode(body.toJson()));
  }

  /// Confirm an email address with a verification token
  ///
  /// `POST /v1/auth/email/verify`
  Future<void> verifyEmail(TokenRequest body) async {
    await transport.send('POST', '/v1/auth/email/verify', body: jsonEncode(body.toJson()));
  }

  /// Send a new verification email
  ///
  /// `conflict` when the account has no unverified email. Rate limited per address.
  ///
  /// `POST /v1/auth/email/resend` (bearer token)
  Future<void> resendVerification() async {
    await transport.send('POST', '/v1/auth/email/resend', auth: true);
  }

  /// The public keys that verify access tokens
  ///
  /// A JSON Web Key Set of Ed25519 keys (RFC 8037). After a key rotation it lists the new
  /// key and the old ones until every token they signed has expired; verifiers should
  /// refetch it when a token names an unknown `kid`.
  ///
  /// `GET /.well-known/jwks.json`
  Future<JWKS> getJWKS() async {
    final res = await transport.send('GET', '/.well-known/jwks.json');
    return JWKS.fromJson(_object(res.body));
  }

  /// Your account
  ///
  /// `GET /v1/me` (bearer token)
  Future<User> getMe() async {
    final res = await transport.send('GET', '/v1/me', auth: true);
    return User.fromJson(_object(res.body));
  }

  /// Change your display name or password
  ///
  /// Absent fields stay as they are. Changing the password needs `currentPassword` (when
  /// the account has one) and ends every other session and every outstanding password
  /// reset link. A wrong `currentPassword` counts as a failed sign-in of the account
  /// (`auth.limits.loginFailures`): past the limit, every check of the current password
  /// is 429 until it refills.
  ///
  /// `PATCH /v1/me` (bearer token)
  Future<User> updateMe(MeUpdate body) async {
    final res = await transport.send('PATCH', '/v1/me', body: jsonEncode(body.toJson()), auth: true);
    return User.fromJson(_object(res.body));
  }

  /// Delete your account
  ///
  /// Deletes the account, its sessions and everything it owns: each synced document it
  /// owns becomes a tombstone (its fields are gone; every device that could read it
  /// deletes it at its next pull), the groups it owns are deleted (their members drop the
  /// group's bucket), it leaves every other group, its devices are deleted, and so are
  /// the files it uploaded and its uploads in progress.
  ///
  /// `DELETE /v1/me` (bearer token)
  Future<void> deleteMe() async {
    await transport.send('DELETE', '/v1/me', auth: true);
  }

  /// List users
  ///
  /// Users in creation order, a page at a time. Follow `next` for the next page.
  ///
  /// `GET /v1/admin/users` (bearer token)
  Future<UserPage> adminListUsers({String? email, String? after, int? limit}) async {
    final res = await transport.send('GET', '/v1/admin/users', query: {if (email case final value?) 'email': value, if (after case final value?) 'after': value, if (limit case final value?) 'limit': '$value'}, auth: true);
    return UserPage.fromJson(_object(res.body));
  }

  /// Get a user
  ///
  /// `GET /v1/admin/users/{userId}` (bearer token)
  Future<User> adminGetUser(String userId) async {
    final res = await transport.send('GET', '/v1/admin/users/${Uri.encodeComponent(userId)}', auth: true);
    return User.fromJson(_object(res.body));
  }

  /// Disable a user, set roles, mark the email verified
  ///
  /// Absent fields stay as they are. Disabling a user ends their sessions. Admins cannot
  /// disable themselves or take their own `admin` role away (`forbidden`).
  ///
  /// `PATCH /v1/admin/users/{userId}` (bearer token)
  Future<User> adminUpdateUser(String userId, AdminUserUpdate body) async {
    final res = await transport.send('PATCH', '/v1/admin/users/${Uri.encodeComponent(userId)}', body: jsonEncode(body.toJson()), auth: true);
    return User.fromJson(_object(res.body));
  }

  /// Delete a user and everything they own
  ///
  /// As `DELETE /v1/me` does for the caller's own account.
  ///
  /// `DELETE /v1/admin/users/{userId}` (bearer token)
  Future<void> adminDeleteUser(String userId) async {
    await transport.send('DELETE', '/v1/admin/users/${Uri.encodeComponent(userId)}', auth: true);
  }

  /// List a user's active sessions
  ///
  /// `GET /v1/admin/users/{userId}/sessions` (bearer token)
  Future<SessionList> adminListUserSessions(String userId) async {
    final res = await transport.send('GET', '/v1/admin/users/${Uri.encodeComponent(userId)}/sessions', auth: true);
    return SessionList.fromJson(_object(res.body));
  }

  /// List admin API keys
  ///
  /// The keys themselves are never shown again; `prefix` tells them apart.
  ///
  /// `GET /v1/admin/keys` (bearer token)
  Future<AdminKeyList> adminListKeys() async {
    final res = await transport.send('GET', '/v1/admin/keys', auth: true);
    return AdminKeyList.fromJson(_object(res.body));
  }

  /// Create an admin API key
  ///
  /// The response holds the key (`secret`) this once; only its hash is stored.
  ///
  /// `POST /v1/admin/keys` (bearer token)
  Future<CreatedAdminKey> adminCreateKey(AdminKeyRequest body) async {
    final res = await transport.send('POST', '/v1/admin/keys', body: jsonEncode(body.toJson()), auth: true);
    return CreatedAdminKey.fromJson(_object(res.body));
  }

  /// Revoke an admin API key
  ///
  /// `DELETE /v1/admin/keys/{keyId}` (bearer token)
  Future<void> adminDeleteKey(String keyId) async {
    await transport.send('DELETE', '/v1/admin/keys/${Uri.encodeComponent(keyId)}', auth: true);
  }

  /// Read the audit log
  ///
  /// Auth events, newest first: signup, signup_anonymous, login, login_failed, link,
  /// logout, session_revoked, refresh_token_reused, password_reset_requested,
  /// password_reset, password_changed, email_verified, user_updated, user_deleted,
  /// admin_created, admin_granted, admin_key_created, admin_key_deleted,
  /// signing_key_rotated; and what admins do through other features, named
  /// `<feature>.<event>` with the admin as `actor`: sync.document_deleted (the console
  /// deleted a document; `detail` has its collection, id, scope and version). Follow
  /// `next` for older events.
  ///
  /// `GET /v1/admin/audit` (bearer token)
  Future<AuditPage> adminListAudit({String? userId, String? type, String? before, int? limit}) async {
    final res = await transport.send('GET', '/v1/admin/audit', query: {if (userId case final value?) 'userId': value, if (type case final value?) 'type': value, if (before case final value?) 'before': value, if (limit case final value?) 'limit': '$value'}, auth: true);
    return AuditPage.fromJson(_object(res.body));
  }

  /// Rotate the access token signing key
  ///
  /// A new key signs from now on; tokens signed by the old keys keep working until they
  /// expire, so nobody is signed out. `api keys rotate` does the same from the command line.
  ///
  /// `POST /v1/admin/signing-keys/rotate` (bearer token)
  Future<AdminRotateSigningKeyResponse> adminRotateSigningKey() async {
    final res = await transport.send('POST', '/v1/admin/signing-keys/rotate', auth: true);
    return AdminRotateSigningKeyResponse.fromJson(_object(res.body));
  }

  /// Push a batch of mutations
  ///
  /// Applies the mutations in order and answers one receipt per mutation, in order. A
  /// rejected mutation never blocks the ones after it. Resending a batch, or any part of
  /// it, applies nothing twice (receipts say `duplicate`). The whole batch is refused
  /// (nothing applied) when it is empty, has more than 500 mutations (413), its ids are
  /// not strictly increasing, or `clientId` belongs to another user (403). See
  /// docs/sync-protocol.md.
  ///
  /// `POST /v1/sync/push` (bearer token)
  Future<PushResponse> syncPush(PushRequest body) async {
    final res = await transport.send('POST', '/v1/sync/push', body: jsonEncode(body.toJson()), auth: true);
    return PushResponse.fromJson(_object(res.body));
  }

  /// Pull changes since a cursor
  ///
  /// Returns the changes of the documents the caller may read, after `cursor` (none: an
  /// initial sync), in sequence order, each document once in its latest state. Pull
  /// again with the new `cursor` while `hasMore` is true. An initial sync sends no
  /// tombstones. A malformed, forged or foreign cursor is 400 `invalid_cursor`; more than
  /// 100 `collections` is 400 `invalid`. Every cursor the server issues is at most 256 KiB
  /// and accepted back; a user who reads too many buckets (about 4,000 groups) for one is
  /// 413 `too_large`.
  ///
  /// `POST /v1/sync/pull` (bearer token)
  Future<PullResponse> syncPull({PullRequest? body}) async {
    final res = await transport.send('POST', '/v1/sync/pull', body: switch (body) { final value? => jsonEncode(value.toJson()), null => null }, auth: true);
    return PullResponse.fromJson(_object(res.body));
  }

  /// Realtime changes and pokes over a WebSocket
  ///
  /// Upgrades to a WebSocket on which the server sends JSON text messages
  /// (`StreamMessage`): `{"type":"hello","seq":N}` when connected, `{"type":"poke","seq":N}`
  /// when changes land in one of your buckets (pull then; a poke is a hint, never the
  /// data), and `{"type":"expired"}` when the access token expires, after which the
  /// client sends `{"type":"auth","token":"<new access token>"}` within 30 s or the
  /// server closes the connection (code 1008). On shutdown the server closes with 1001
  /// (going away): reconnect and pull. A client that was disconnected pulls from its
  /// cursor on reconnect: it misses nothing. Joining a group pokes at once when made
  /// through the node holding the stream, within 30 s otherwise; a role granted or taken
  /// applies to the stream within a minute (at its session check). The access token goes
  /// in the `Authorization` header, or, for browsers, the `access_token` query parameter.
  /// Past the node's stream limit, 503 with Retry-After. Past the streams one account may
  /// hold on the node (`sync.maxStreamsPerUser`, 10 by default), 429 `rate_limited` with
  /// Retry-After: close a stream, or pull meanwhile.
  ///
  /// Protocol 2 (`?protocol=2`): the hello carries `"protocol":2` and the stream's id
  /// (`"stream"`). A pull that names the stream (`PullRequest.stream`) and completes
  /// (`hasMore` false, `live` true) hands the stream over: from then on it sends
  /// `{"type":"changes","seq":N,"changes":[Change...],"cursor":"..."}`, which the client
  /// applies exactly as a pull page, until it falls behind and sends a poke (pull again,
  /// naming the stream). Messages are at most 256 KiB.
  ///
  /// `GET /v1/sync/stream` (bearer token)
  Uri syncStreamUri({String? accessToken, int? protocol}) => transport.uri('/v1/sync/stream', query: {if (accessToken case final value?) 'access_token': value, if (protocol case final value?) 'protocol': '$value'});

  /// Realtime changes and pokes as server-sent events
  ///
  /// The same as `/v1/sync/stream`, for clients that cannot use WebSockets: a
  /// `text/event-stream` with events `hello` and `poke` (data `{"seq":N}`), a comment
  /// every 30 s to keep proxies from closing it, and an `expired` event when the access
  /// token expires, after which the server ends the stream (reconnect with a new token).
  /// The limits of `/v1/sync/stream` apply, counted together with it: 429 past the
  /// account's streams on the node, 503 past the node's.
  /// With `?protocol=2`, every event's data is the whole `StreamMessage` of the
  /// WebSocket (`hello` with the stream's id, `poke`, `changes`, `expired`).
  ///
  /// `GET /v1/sync/events` (bearer token)
  Uri syncEventsUri({String? accessToken, int? protocol}) => transport.uri('/v1/sync/events', query: {if (accessToken case final value?) 'access_token': value, if (protocol case final value?) 'protocol': '$value'});

  /// Your groups
  ///
  /// `GET /v1/groups` (bearer token)
  Future<GroupList> listGroups() async {
    final res = await transport.send('GET', '/v1/groups', auth: true);
    return GroupList.fromJson(_object(res.body));
  }

  /// Create a group
  ///
  /// You become its owner and first member. Share a document of an `owner-shared`
  /// collection with the group through its `_acl` (`group:<id>`); members read it (and
  /// write it, when named in `write`) through the bucket `group:<id>`.
  ///
  /// `POST /v1/groups` (bearer token)
  Future<Group> createGroup(CreateGroupRequest body) async {
    final res = await transport.send('POST', '/v1/groups', body: jsonEncode(body.toJson()), auth: true);
    return Group.fromJson(_object(res.body));
  }

  /// A group's members
  ///
  /// For its members and admins; for anyone else the group does not exist (404).
  ///
  /// `GET /v1/groups/{groupId}/members` (bearer token)
  Future<MemberList> listGroupMembers(String groupId) async {
    final res = await transport.send('GET', '/v1/groups/${Uri.encodeComponent(groupId)}/members', auth: true);
    return MemberList.fromJson(_object(res.body));
  }

  /// Add a member
  ///
  /// The group's owner or an admin. The new member's devices sync the group's documents
  /// at their next pull (an initial sync of just that bucket). 403 for a member who is not
  /// the owner; 404 for anyone else who is not a member (the same answer as for a group
  /// that does not exist, whoever the path names), and, for the owner, for an unknown
  /// user.
  ///
  /// `POST /v1/groups/{groupId}/members/{userId}` (bearer token)
  Future<void> addGroupMember(String groupId, String userId) async {
    await transport.send('POST', '/v1/groups/${Uri.encodeComponent(groupId)}/members/${Uri.encodeComponent(userId)}', auth: true);
  }

  /// Remove a member, or leave
  ///
  /// The owner or an admin removes anyone but the owner (409 for the owner); a member
  /// removes themselves, and anyone else is 403. To a caller who is not a member the
  /// group does not exist: 404, the same answer as for a group that does not exist,
  /// whoever the path names. The removed member's devices are told at their next pull
  /// (`removedBuckets`).
  ///
  /// `DELETE /v1/groups/{groupId}/members/{userId}` (bearer token)
  Future<void> removeGroupMember(String groupId, String userId) async {
    await transport.send('DELETE', '/v1/groups/${Uri.encodeComponent(groupId)}/members/${Uri.encodeComponent(userId)}', auth: true);
  }

  /// List configured collections
  ///
  /// `GET /v1/admin/collections` (bearer token)
  Future<CollectionList> adminListCollections() async {
    final res = await transport.send('GET', '/v1/admin/collections', auth: true);
    return CollectionList.fromJson(_object(res.body));
  }

  /// Get a collection's configuration
  ///
  /// `GET /v1/admin/collections/{name}` (bearer token)
  Future<CollectionConfig> adminGetCollection(String name) async {
    final res = await transport.send('GET', '/v1/admin/collections/${Uri.encodeComponent(name)}', auth: true);
    return CollectionConfig.fromJson(_object(res.body));
  }

  /// Create or replace a collection's configuration
  ///
  /// Applies to pushes on every node within 5 seconds. A collection defined in the
  /// configuration file cannot be changed here (`conflict`). Changing `read` between
  /// `owner` and the other rules does not move existing documents (owner collections keep
  /// each user's documents in a namespace of their own).
  ///
  /// `PUT /v1/admin/collections/{name}` (bearer token)
  Future<CollectionConfig> adminPutCollection(String name, CollectionSettings body) async {
    final res = await transport.send('PUT', '/v1/admin/collections/${Uri.encodeComponent(name)}', body: jsonEncode(body.toJson()), auth: true);
    return CollectionConfig.fromJson(_object(res.body));
  }

  /// Remove a collection's configuration
  ///
  /// The documents stay; the collection behaves as unconfigured (owner-private, lww).
  ///
  /// `DELETE /v1/admin/collections/{name}` (bearer token)
  Future<void> adminDeleteCollection(String name) async {
    await transport.send('DELETE', '/v1/admin/collections/${Uri.encodeComponent(name)}', auth: true);
  }

  /// Liveness
  ///
  /// Answers 200 while the process runs and serves HTTP. It does not touch the storage
  /// engine: use `/readyz` for that.
  ///
  /// `GET /healthz`
  Future<Health> getHealthz() async {
    final res = await transport.send('GET', '/healthz');
    return Health.fromJson(_object(res.body));
  }

  /// Readiness
  ///
  /// Answers 200 when the storage engine answers a ping within two seconds (on MongoDB,
  /// the replica set's primary, which serves every read and write), and 503 with code
  /// `unavailable` otherwise. Load balancers should route traffic only to ready nodes.
  ///
  /// `GET /readyz`
  Future<Readiness> getReadyz() async {
    final res = await transport.send('GET', '/readyz');
    return Readiness.fromJson(_object(res.body));
  }

  /// Prometheus metrics
  ///
  /// Metrics in the Prometheus text exposition format: Go runtime and process metrics,
  /// `tideline_http_requests_total{method,route,status}` and
  /// `tideline_http_request_duration_seconds{method,route}`. Restrict access to it at the
  /// network or proxy level in production.
  ///
  /// `GET /metrics`
  Future<String> getMetrics() async => (await transport.send('GET', '/metrics')).body;

  /// This API description
  ///
  /// The OpenAPI document the server was built from, byte for byte.
  ///
  /// `GET /openapi.yaml`
  Future<String> getOpenAPI() async => (await transport.send('GET', '/openapi.yaml')).body;

  /// The icon browsers show
  ///
  /// The icon of the API reference and the admin console, cached for a day.
  ///
  /// `GET /favicon.ico`
  Future<String> getFavicon() async => (await transport.send('GET', '/favicon.ico')).body;

  /// API reference
  ///
  /// A readable reference of this API rendered from the OpenAPI document, served from
  /// assets embedded in the binary (no CDN, no script).
  ///
  /// `GET /docs`
  Future<String> getDocs() async => (await transport.send('GET', '/docs')).body;

  /// Your devices
  ///
  /// `GET /v1/devices` (bearer token)
  Future<PushDeviceList> listDevices() async {
    final res = await transport.send('GET', '/v1/devices', auth: true);
    return PushDeviceList.fromJson(_object(res.body));
  }

  /// Register this install for push
  ///
  /// Creates or updates the install `deviceId` (generated by the app once per install,
  /// such as a UUID) of the signed-in user, bound to the current session: signing out
  /// (or any end of the session) unbinds its push token, so a signed-out phone gets no
  /// more of the user's notifications. Call it at every app start and whenever the
  /// provider issues a new token. A token registered before by another install, of any
  /// user, moves to this one: one token, one owner. Another user's install with the same
  /// `deviceId` is a different device and is never touched. The session must be active in
  /// the store when the token is bound (not only in a node's cache of it): a session that
  /// has ended is 401, even within the 30 s in which another node may still accept its
  /// access token.
  ///
  /// `POST /v1/devices` (bearer token)
  Future<PushDevice> registerDevice(DeviceRegistration body) async {
    final res = await transport.send('POST', '/v1/devices', body: jsonEncode(body.toJson()), auth: true);
    return PushDevice.fromJson(_object(res.body));
  }

  /// Remove one of your devices
  ///
  /// The install gets no more pushes, and leaves its topics.
  ///
  /// `DELETE /v1/devices/{deviceId}` (bearer token)
  Future<void> deleteDevice(String deviceId) async {
    await transport.send('DELETE', '/v1/devices/${Uri.encodeComponent(deviceId)}', auth: true);
  }

  /// Subscribe one of your devices to a topic
  ///
  /// Idempotent. A device may be in at most 200 topics (413 past that).
  ///
  /// `PUT /v1/devices/{deviceId}/topics/{topic}` (bearer token)
  Future<void> subscribeTopic(String deviceId, String topic) async {
    await transport.send('PUT', '/v1/devices/${Uri.encodeComponent(deviceId)}/topics/${Uri.encodeComponent(topic)}', auth: true);
  }

  /// Unsubscribe one of your devices from a topic
  ///
  /// Idempotent.
  ///
  /// `DELETE /v1/devices/{deviceId}/topics/{topic}` (bearer token)
  Future<void> unsubscribeTopic(String deviceId, String topic) async {
    await transport.send('DELETE', '/v1/devices/${Uri.encodeComponent(deviceId)}/topics/${Uri.encodeComponent(topic)}', auth: true);
  }

  /// Push topics and their sizes
  ///
  /// `GET /v1/admin/push/topics` (bearer token)
  Future<TopicList> adminListTopics() async {
    final res = await transport.send('GET', '/v1/admin/push/topics', auth: true);
    return TopicList.fromJson(_object(res.body));
  }

  /// Send a push campaign
  ///
  /// Queues a notification to an audience: all devices, some users, some devices, a
  /// topic, or a segment. Delivery is durable and asynchronous: follow the campaign with
  /// `GET /v1/admin/push/campaigns/{campaignId}`. With the same `idempotencyKey` as an
  /// earlier campaign, nothing new is queued and that campaign is returned.
  ///
  /// `POST /v1/admin/push/campaigns` (bearer token)
  Future<Campaign> adminCreateCampaign(CampaignRequest body) async {
    final res = await transport.send('POST', '/v1/admin/push/campaigns', body: jsonEncode(body.toJson()), auth: true);
    return Campaign.fromJson(_object(res.body));
  }

  /// Campaigns, newest first
  ///
  /// `GET /v1/admin/push/campaigns` (bearer token)
  Future<CampaignPage> adminListCampaigns({String? before, int? limit}) async {
    final res = await transport.send('GET', '/v1/admin/push/campaigns', query: {if (before case final value?) 'before': value, if (limit case final value?) 'limit': '$value'}, auth: true);
    return CampaignPage.fromJson(_object(res.body));
  }

  /// A campaign with its counts and first errors
  ///
  /// `GET /v1/admin/push/campaigns/{campaignId}` (bearer token)
  Future<Campaign> adminGetCampaign(String campaignId) async {
    final res = await transport.send('GET', '/v1/admin/push/campaigns/${Uri.encodeComponent(campaignId)}', auth: true);
    return Campaign.fromJson(_object(res.body));
  }

  /// Cancel a queued or sending campaign
  ///
  /// What was not sent yet never is. A completed or cancelled campaign answers 409.
  ///
  /// `POST /v1/admin/push/campaigns/{campaignId}/cancel` (bearer token)
  Future<Campaign> adminCancelCampaign(String campaignId) async {
    final res = await transport.send('POST', '/v1/admin/push/campaigns/${Uri.encodeComponent(campaignId)}/cancel', auth: true);
    return Campaign.fromJson(_object(res.body));
  }

  /// Get a short-lived download URL
  ///
  /// A URL that downloads the file without an `Authorization` header until it expires
  /// (`files.signedUrlTtl`, 15 minutes by default), for views that cannot send one (an
  /// image element, a video player, a system share sheet). It is granted on the same
  /// terms as a download (`GET /v1/files/{fileId}`: the uploader, or a reader of the
  /// document named by `collection` and `doc` that refers to the file); anyone else gets
  /// 404. The URL is relative to the server's base URL (`/v1/files/{fileId}/content?...`).
  /// Whoever holds it can download the file until it expires, also after the reference
  /// is removed: it is a short-lived capability, like a presigned S3 URL.
  ///
  /// `POST /v1/files/{fileId}/url` (bearer token)
  Future<FileUrl> createFileUrl(String fileId, {String? collection, String? doc}) async {
    final res = await transport.send('POST', '/v1/files/${Uri.encodeComponent(fileId)}/url', query: {if (collection case final value?) 'collection': value, if (doc case final value?) 'doc': value}, auth: true);
    return FileUrl.fromJson(_object(res.body));
  }
}

final class FileUrl {
  /// Creates a [FileUrl].
  const FileUrl({
    required this.url,
    required this.expiresAt,
  });

  /// Decodes a [FileUrl] from its JSON object.
  factory FileUrl.fromJson(Map<String, Object?> json) => FileUrl(
        url: json['url'] as String,
        expiresAt: DateTime.parse(json['expiresAt'] as String),
      );

  /// The path and query of the download, relative to the server's base URL.
  final String url;

  /// When the URL stops working.
  final DateTime expiresAt;

  /// Encodes this [FileUrl] as its JSON object.
  Map<String, Object?> toJson() => {
        'url': url,
        'expiresAt': _date(expiresAt),
      };
}

final class PushRequest {
  /// Creates a [PushRequest].
  const PushRequest({
    this.protocol,
    required this.clientId,
    required this.mutations,
  });

  /// Decodes a [PushRequest] from its JSON object.
  factory PushRequest.fromJson(Map<String, Object?> json) => PushRequest(
        protocol: json['protocol'] == null ? null : (json['protocol'] as num).toInt(),
        clientId: json['clientId'] as String,
        mutations: List<Mutation>.unmodifiable((json['mutations'] as List<Object?>).map((e0) => Mutation.fromJson(e0 as Map<String, Object?>))),
      );

  /// The sync protocol version the client speaks (absent - 1). The server answers in `min(this, 2)`, and says which in the response's `protocol`.
  final int? protocol;

  /// The install's id, chosen by the client once and kept; bound to the first user who pushes with it.
  final String clientId;

  final List<Mutation> mutations;

  /// Encodes this [PushRequest] as its JSON object.
  Map<String, Object?> toJson() => {
        if (protocol case final value?) 'protocol': value,
        'clientId': clientId,
        'mutations': [for (final e0 in mutations) e0.toJson()],
      };
}

final class Mutation {
  /// Creates a [Mutation].
  const Mutation({
    required this.id,
    required this.collection,
    required this.docId,
    required this.op,
    this.fields,
    this.ops,
    this.hlc,
    this.baseVersion,
  });

  /// Decodes a [Mutation] from its JSON object.
  factory Mutation.fromJson(Map<String, Object?> json) => Mutation(
        id: (json['id'] as num).toInt(),
        collection: json['collection'] as String,
        docId: json['docId'] as String,
        op: MutationOp.fromJson(json['op'] as String),
        fields: json['fields'] == null ? null : Map<String, Object?>.unmodifiable(json['fields'] as Map<String, Object?>),
        ops: json['ops'] == null ? null : Map<String, FieldOp>.unmodifiable((json['ops'] as Map<String, Object?>).map((k0, e0) => MapEntry(k0, FieldOp.fromJson(e0 as Map<String, Object?>)))),
        hlc: json['hlc'] == null ? null : json['hlc'] as String,
        baseVersion: json['baseVersion'] == null ? null : (json['baseVersion'] as num).toInt(),
      );

  /// The client's mutation id, strictly increasing per client.
  final int id;

  final String collection;

  final String docId;

  final MutationOp op;

  /// put: the whole document; patch: the top-level fields to set (null unsets).
  final Map<String, Object?>? fields;

  /// Commutative operations on top-level fields (patch only).
  final Map<String, FieldOp>? ops;

  /// Hybrid logical clock stamp `<13-digit ms>-<5-digit counter>-<node>`; absent: the server stamps the mutation.
  final String? hlc;

  /// The document version the client last saw.
  final int? baseVersion;

  /// Encodes this [Mutation] as its JSON object.
  Map<String, Object?> toJson() => {
        'id': id,
        'collection': collection,
        'docId': docId,
        'op': op.toJson(),
        if (fields case final value?) 'fields': value,
        if (ops case final value?) 'ops': {for (final e0 in value.entries) e0.key: e0.value.toJson()},
        if (hlc case final value?) 'hlc': value,
        if (baseVersion case final value?) 'baseVersion': value,
      };
}

/// Exactly one operation.
final class FieldOp {
  /// Creates a [FieldOp].
  const FieldOp({
    this.inc,
    this.max,
    this.min,
    this.add,
    this.remove,
  });

  /// Decodes a [FieldOp] from its JSON object.
  factory FieldOp.fromJson(Map<String, Object?> json) => FieldOp(
        inc: json['inc'] == null ? null : json['inc'] as num,
        max: json['max'] == null ? null : json['max'] as num,
        min: json['min'] == null ? null : json['min'] as num,
        add: json['add'] == null ? null : List<Object?>.unmodifiable((json['add'] as List<Object?>).map((e0) => e0)),
        remove: json['remove'] == null ? null : List<Object?>.unmodifiable((json['remove'] as List<Object?>).map((e0) => e0)),
      );

  final num? inc;

  final num? max;

  final num? min;

  final List<Object?>? add;

  final List<Object?>? remove;

  /// Encodes this [FieldOp] as its JSON object.
  Map<String, Object?> toJson() => {
        if (inc case final value?) 'inc': value,
        if (max case final value?) 'max': value,
        if (min case final value?) 'min': value,
        if (add case final value?) 'add': value,
        if (remove case final value?) 'remove': value,
      };
}

final class PushResponse {
  /// Creates a [PushResponse].
  const PushResponse({
    required this.protocol,
    required this.receipts,
  });

  /// Decodes a [PushResponse] from its JSON object.
  factory PushResponse.fromJson(Map<String, Object?> json) => PushResponse(
        protocol: (json['protocol'] as num).toInt(),
        receipts: List<Receipt>.unmodifiable((json['receipts'] as List<Object?>).map((e0) => Receipt.fromJson(e0 as Map<String, Object?>))),
      );

  /// The sync protocol version of the answer (1 or 2).
  final int protocol;

  final List<Receipt> receipts;

  /// Encodes this [PushResponse] as its JSON object.
  Map<String, Object?> toJson() => {
        'protocol': protocol,
        'receipts': [for (final e0 in receipts) e0.toJson()],
      };
}

final class Receipt {
  /// Creates a [Receipt].
  const Receipt({
    required this.id,
    required this.status,
    this.seq,
    this.version,
    this.code,
    this.message,
    this.field,
    this.doc,
    this.deleted,
    this.duplicate,
    this.hlcClamped,
  });

  /// Decodes a [Receipt] from its JSON object.
  factory Receipt.fromJson(Map<String, Object?> json) => Receipt(
        id: (json['id'] as num).toInt(),
        status: ReceiptStatus.fromJson(json['status'] as String),
        seq: json['seq'] == null ? null : (json['seq'] as num).toInt(),
        version: json['version'] == null ? null : (json['version'] as num).toInt(),
        code: json['code'] == null ? null : json['code'] as String,
        message: json['message'] == null ? null : json['message'] as String,
        field: json['field'] == null ? null : json['field'] as String,
        doc: json['doc'] == null ? null : Map<String, Object?>.unmodifiable(json['doc'] as Map<String, Object?>),
        deleted: json['deleted'] == null ? null : json['deleted'] as bool,
        duplicate: json['duplicate'] == null ? null : json['duplicate'] as bool,
        hlcClamped: json['hlcClamped'] == null ? null : json['hlcClamped'] as bool,
      );

  final int id;

  final ReceiptStatus status;

  final int? seq;

  final int? version;

  /// Why a mutation was rejected: invalid, forbidden, too_large, schema_violation, unknown_collection, id_reused.
  final String? code;

  final String? message;

  /// The offending field of a rejection, such as `fields.title`.
  final String? field;

  /// The document after the push (after the whole batch), for merged and conflict receipts and duplicates.
  final Map<String, Object?>? doc;

  final bool? deleted;

  /// The server had processed this mutation before; nothing was applied again. The receipt carries the document as it is now (doc, deleted, seq, version).
  final bool? duplicate;

  /// The mutation's HLC was too far ahead of the server's clock; the server's was used.
  final bool? hlcClamped;

  /// Encodes this [Receipt] as its JSON object.
  Map<String, Object?> toJson() => {
        'id': id,
        'status': status.toJson(),
        if (seq case final value?) 'seq': value,
        if (version case final value?) 'version': value,
        if (code case final value?) 'code': value,
        if (message case final value?) 'message': value,
        if (field case final value?) 'field': value,
        if (doc case final value?) 'doc': value,
        if (deleted case final value?) 'deleted': value,
        if (duplicate case final value?) 'duplicate': value,
        if (hlcClamped case final value?) 'hlcClamped': value,
      };
}

final class PullRequest {
  /// Creates a [PullRequest].
  const PullRequest({
    this.protocol,
    this.stream,
    this.cursor,
    this.collections,
    this.limit,
    this.fresh,
  });

  /// Decodes a [PullRequest] from its JSON object.
  factory PullRequest.fromJson(Map<String, Object?> json) => PullRequest(
        protocol: json['protocol'] == null ? null : (json['protocol'] as num).toInt(),
        stream: json['stream'] == null ? null : json['stream'] as String,
        cursor: json['cursor'] == null ? null : json['cursor'] as String,
        collections: json['collections'] == null ? null : List<String>.unmodifiable((json['collections'] as List<Object?>).map((e0) => e0 as String)),
        limit: json['limit'] == null ? null : (json['limit'] as num).toInt(),
        fresh: json['fresh'] == null ? null : json['fresh'] as bool,
      );

  /// The sync protocol version the client speaks (absent - 1). The server answers in `min(this, 2)`, and says which in the response's `protocol`.
  final int? protocol;

  /// Protocol 2 - the id of the caller's realtime stream (from its hello). When this page completes the pull (`hasMore` false), the stream takes over and sends the changes after `cursor` itself (`live` true).
  final String? stream;

  /// The cursor of the previous pull; absent for an initial sync.
  final String? cursor;

  /// Pull only these collections (at most 100); the subscription may change from one pull to the next with the same cursor.
  final List<String>? collections;

  /// The most changes in the page (default 500).
  final int? limit;

  /// The client holds no documents (a new install). Only then does the initial sync of a bucket leave out tombstones and evictions. A client that has pushed before its first pull holds the documents its receipts gave it, so it must not send `fresh`.
  final bool? fresh;

  /// Encodes this [PullRequest] as its JSON object.
  Map<String, Object?> toJson() => {
        if (protocol case final value?) 'protocol': value,
        if (stream case final value?) 'stream': value,
        if (cursor case final value?) 'cursor': value,
        if (collections case final value?) 'collections': value,
        if (limit case final value?) 'limit': value,
        if (fresh case final value?) 'fresh': value,
      };
}

final class PullResponse {
  /// Creates a [PullResponse].
  const PullResponse({
    required this.protocol,
    this.live,
    this.collections,
    this.removedBuckets,
    this.resetBuckets,
    this.resetComplete,
    required this.changes,
    required this.cursor,
    required this.hasMore,
  });

  /// Decodes a [PullResponse] from its JSON object.
  factory PullResponse.fromJson(Map<String, Object?> json) => PullResponse(
        protocol: (json['protocol'] as num).toInt(),
        live: json['live'] == null ? null : json['live'] as bool,
        collections: json['collections'] == null ? null : List<String>.unmodifiable((json['collections'] as List<Object?>).map((e0) => e0 as String)),
        removedBuckets: json['removedBuckets'] == null ? null : List<String>.unmodifiable((json['removedBuckets'] as List<Object?>).map((e0) => e0 as String)),
        resetBuckets: json['resetBuckets'] == null ? null : List<String>.unmodifiable((json['resetBuckets'] as List<Object?>).map((e0) => e0 as String)),
        resetComplete: json['resetComplete'] == null ? null : List<String>.unmodifiable((json['resetComplete'] as List<Object?>).map((e0) => e0 as String)),
        changes: List<Change>.unmodifiable((json['changes'] as List<Object?>).map((e0) => Change.fromJson(e0 as Map<String, Object?>))),
        cursor: json['cursor'] as String,
        hasMore: json['hasMore'] as bool,
      );

  /// The sync protocol version of the answer (1 or 2).
  final int protocol;

  /// Protocol 2 - the request's stream took over from this page's cursor - it sends the later changes itself until it pokes. Absent - it did not (no stream named, more pages to come, another node's stream, a subscription or reset under way), and it pokes as in protocol 1.
  final bool? live;

  /// The collections the cursor covers now (absent - all). Drop local documents of collections no longer covered.
  final List<String>? collections;

  /// Buckets the caller no longer reads (left a group, lost a role). Drop the local documents left in none of your buckets.
  final List<String>? removedBuckets;

  /// Buckets synced again from the start because the cursor is older than the server keeps deletions. Mark your local documents of these buckets; keep those sent again; drop the others at resetComplete. Pending local writes are kept.
  final List<String>? resetBuckets;

  /// Reset buckets whose new sync is complete - drop their marked documents that were not sent again.
  final List<String>? resetComplete;

  final List<Change> changes;

  final String cursor;

  final bool hasMore;

  /// Encodes this [PullResponse] as its JSON object.
  Map<String, Object?> toJson() => {
        'protocol': protocol,
        if (live case final value?) 'live': value,
        if (collections case final value?) 'collections': value,
        if (removedBuckets case final value?) 'removedBuckets': value,
        if (resetBuckets case final value?) 'resetBuckets': value,
        if (resetComplete case final value?) 'resetComplete': value,
        'changes': [for (final e0 in changes) e0.toJson()],
        'cursor': cursor,
        'hasMore': hasMore,
      };
}

/// A message of the realtime stream (a WebSocket text message, or the data of a server-sent event with protocol 2). `hello` - connected (pull now; protocol 2 - with the stream's id). `poke` - changes up to `seq` are waiting - pull. `changes` (protocol 2) - the changes after the last message's cursor, up to `seq`, applied exactly as a pull page, with the new `cursor`. `expired` - renew the access token. Other types are ignored.
final class StreamMessage {
  /// Creates a [StreamMessage].
  const StreamMessage({
    required this.type,
    this.seq,
    this.protocol,
    this.stream,
    this.changes,
    this.cursor,
  });

  /// Decodes a [StreamMessage] from its JSON object.
  factory StreamMessage.fromJson(Map<String, Object?> json) => StreamMessage(
        type: StreamMessageType.fromJson(json['type'] as String),
        seq: json['seq'] == null ? null : (json['seq'] as num).toInt(),
        protocol: json['protocol'] == null ? null : (json['protocol'] as num).toInt(),
        stream: json['stream'] == null ? null : json['stream'] as String,
        changes: json['changes'] == null ? null : List<Change>.unmodifiable((json['changes'] as List<Object?>).map((e0) => Change.fromJson(e0 as Map<String, Object?>))),
        cursor: json['cursor'] == null ? null : json['cursor'] as String,
      );

  final StreamMessageType type;

  /// The watermark the message is at.
  final int? seq;

  /// hello, protocol 2 - the protocol of the stream.
  final int? protocol;

  /// hello, protocol 2 - the stream's id, for PullRequest.stream.
  final String? stream;

  final List<Change>? changes;

  /// changes - the cursor after them, signed for this stream.
  final String? cursor;

  /// Encodes this [StreamMessage] as its JSON object.
  Map<String, Object?> toJson() => {
        'type': type.toJson(),
        if (seq case final value?) 'seq': value,
        if (protocol case final value?) 'protocol': value,
        if (stream case final value?) 'stream': value,
        if (changes case final value?) 'changes': [for (final e0 in value) e0.toJson()],
        if (cursor case final value?) 'cursor': value,
      };
}

final class Change {
  /// Creates a [Change].
  const Change({
    required this.collection,
    required this.docId,
    required this.op,
    this.doc,
    required this.version,
    required this.seq,
    required this.buckets,
  });

  /// Decodes a [Change] from its JSON object.
  factory Change.fromJson(Map<String, Object?> json) => Change(
        collection: json['collection'] as String,
        docId: json['docId'] as String,
        op: ChangeOp.fromJson(json['op'] as String),
        doc: json['doc'] == null ? null : Map<String, Object?>.unmodifiable(json['doc'] as Map<String, Object?>),
        version: (json['version'] as num).toInt(),
        seq: (json['seq'] as num).toInt(),
        buckets: List<String>.unmodifiable((json['buckets'] as List<Object?>).map((e0) => e0 as String)),
      );

  final String collection;

  final String docId;

  /// upsert: replace the local document with `doc`. delete: remove it (a tombstone). evict: the caller may no longer read it (it was unshared, or left the caller's buckets): drop it.
  final ChangeOp op;

  /// The document, for upserts.
  final Map<String, Object?>? doc;

  final int version;

  final int seq;

  /// The document's buckets that the caller is in (empty for an evict).
  final List<String> buckets;

  /// Encodes this [Change] as its JSON object.
  Map<String, Object?> toJson() => {
        'collection': collection,
        'docId': docId,
        'op': op.toJson(),
        if (doc case final value?) 'doc': value,
        'version': version,
        'seq': seq,
        'buckets': buckets,
      };
}

final class DeviceRegistration {
  /// Creates a [DeviceRegistration].
  const DeviceRegistration({
    required this.deviceId,
    required this.platform,
    this.pushToken,
    this.appVersion,
    this.locale,
    this.timezone,
  });

  /// Decodes a [DeviceRegistration] from its JSON object.
  factory DeviceRegistration.fromJson(Map<String, Object?> json) => DeviceRegistration(
        deviceId: json['deviceId'] as String,
        platform: DeviceRegistrationPlatform.fromJson(json['platform'] as String),
        pushToken: json['pushToken'] == null ? null : json['pushToken'] as String,
        appVersion: json['appVersion'] == null ? null : json['appVersion'] as String,
        locale: json['locale'] == null ? null : json['locale'] as String,
        timezone: json['timezone'] == null ? null : json['timezone'] as String,
      );

  /// Generated by the app once per install (a UUID); 1 to 128 of `A-Za-z0-9._:-`.
  final String deviceId;

  final DeviceRegistrationPlatform platform;

  /// The FCM registration token. Absent or empty while the user has not allowed notifications.
  final String? pushToken;

  /// Such as `2.3.1`; campaigns can target version ranges.
  final String? appVersion;

  /// A BCP 47 language tag, such as `en-GB`.
  final String? locale;

  /// An IANA time zone, such as `Europe/Rome`, for sends at a local time. Absent means UTC.
  final String? timezone;

  /// Encodes this [DeviceRegistration] as its JSON object.
  Map<String, Object?> toJson() => {
        'deviceId': deviceId,
        'platform': platform.toJson(),
        if (pushToken case final value?) 'pushToken': value,
        if (appVersion case final value?) 'appVersion': value,
        if (locale case final value?) 'locale': value,
        if (timezone case final value?) 'timezone': value,
      };
}

final class PushDevice {
  /// Creates a [PushDevice].
  const PushDevice({
    required this.id,
    required this.deviceId,
    required this.platform,
    required this.hasPushToken,
    this.appVersion,
    this.locale,
    this.timezone,
    required this.topics,
    required this.createdAt,
    required this.lastSeen,
    required this.current,
  });

  /// Decodes a [PushDevice] from its JSON object.
  factory PushDevice.fromJson(Map<String, Object?> json) => PushDevice(
        id: json['id'] as String,
        deviceId: json['deviceId'] as String,
        platform: PushDevicePlatform.fromJson(json['platform'] as String),
        hasPushToken: json['hasPushToken'] as bool,
        appVersion: json['appVersion'] == null ? null : json['appVersion'] as String,
        locale: json['locale'] == null ? null : json['locale'] as String,
        timezone: json['timezone'] == null ? null : json['timezone'] as String,
        topics: List<String>.unmodifiable((json['topics'] as List<Object?>).map((e0) => e0 as String)),
        createdAt: DateTime.parse(json['createdAt'] as String),
        lastSeen: DateTime.parse(json['lastSeen'] as String),
        current: json['current'] as bool,
      );

  /// The server's id of this device (admins target it).
  final String id;

  final String deviceId;

  final PushDevicePlatform platform;

  /// Whether pushes can reach it (a token is registered and its session has not ended).
  final bool hasPushToken;

  final String? appVersion;

  final String? locale;

  final String? timezone;

  final List<String> topics;

  final DateTime createdAt;

  final DateTime lastSeen;

  /// Registered by the session making this request.
  final bool current;

  /// Encodes this [PushDevice] as its JSON object.
  Map<String, Object?> toJson() => {
        'id': id,
        'deviceId': deviceId,
        'platform': platform.toJson(),
        'hasPushToken': hasPushToken,
        if (appVersion case final value?) 'appVersion': value,
        if (locale case final value?) 'locale': value,
        if (timezone case final value?) 'timezone': value,
        'topics': topics,
        'createdAt': _date(createdAt),
        'lastSeen': _date(lastSeen),
        'current': current,
      };
}

final class PushDeviceList {
  /// Creates a [PushDeviceList].
  const PushDeviceList({
    required this.devices,
  });

  /// Decodes a [PushDeviceList] from its JSON object.
  factory PushDeviceList.fromJson(Map<String, Object?> json) => PushDeviceList(
        devices: List<PushDevice>.unmodifiable((json['devices'] as List<Object?>).map((e0) => PushDevice.fromJson(e0 as Map<String, Object?>))),
      );

  final List<PushDevice> devices;

  /// Encodes this [PushDeviceList] as its JSON object.
  Map<String, Object?> toJson() => {
        'devices': [for (final e0 in devices) e0.toJson()],
      };
}

final class TopicList {
  /// Creates a [TopicList].
  const TopicList({
    required this.topics,
  });

  /// Decodes a [TopicList] from its JSON object.
  factory TopicList.fromJson(Map<String, Object?> json) => TopicList(
        topics: List<TopicCount>.unmodifiable((json['topics'] as List<Object?>).map((e0) => TopicCount.fromJson(e0 as Map<String, Object?>))),
      );

  final List<TopicCount> topics;

  /// Encodes this [TopicList] as its JSON object.
  Map<String, Object?> toJson() => {
        'topics': [for (final e0 in topics) e0.toJson()],
      };
}

/// Exactly one of `all`, `userIds`, `deviceIds`, `topic` and `segment`. Only devices with a push token are reached.
final class CampaignTarget {
  /// Creates a [CampaignTarget].
  const CampaignTarget({
    this.all,
    this.userIds,
    this.deviceIds,
    this.topic,
    this.segment,
  });

  /// Decodes a [CampaignTarget] from its JSON object.
  factory CampaignTarget.fromJson(Map<String, Object?> json) => CampaignTarget(
        all: json['all'] == null ? null : json['all'] as bool,
        userIds: json['userIds'] == null ? null : List<String>.unmodifiable((json['userIds'] as List<Object?>).map((e0) => e0 as String)),
        deviceIds: json['deviceIds'] == null ? null : List<String>.unmodifiable((json['deviceIds'] as List<Object?>).map((e0) => e0 as String)),
        topic: json['topic'] == null ? null : json['topic'] as String,
        segment: json['segment'] == null ? null : CampaignSegment.fromJson(json['segment'] as Map<String, Object?>),
      );

  /// Every device.
  final bool? all;

  /// Every device of these users.
  final List<String>? userIds;

  /// These devices, by the server's `id` of each (not the app's `deviceId`).
  final List<String>? deviceIds;

  /// The devices subscribed to this topic; a topic no device is in is refused (400), which catches typos.
  final String? topic;

  /// Devices matching every condition given (an empty segment is every device).
  final CampaignSegment? segment;

  /// Encodes this [CampaignTarget] as its JSON object.
  Map<String, Object?> toJson() => {
        if (all case final value?) 'all': value,
        if (userIds case final value?) 'userIds': value,
        if (deviceIds case final value?) 'deviceIds': value,
        if (topic case final value?) 'topic': value,
        if (segment case final value?) 'segment': value.toJson(),
      };
}

/// Devices matching every condition given (an empty segment is every device).
final class CampaignSegment {
  /// Creates a [CampaignSegment].
  const CampaignSegment({
    this.platforms,
    this.minAppVersion,
    this.maxAppVersion,
    this.locales,
    this.lastSeenWithinSeconds,
  });

  /// Decodes a [CampaignSegment] from its JSON object.
  factory CampaignSegment.fromJson(Map<String, Object?> json) => CampaignSegment(
        platforms: json['platforms'] == null ? null : List<CampaignSegmentPlatformsItem>.unmodifiable((json['platforms'] as List<Object?>).map((e0) => CampaignSegmentPlatformsItem.fromJson(e0 as String))),
        minAppVersion: json['minAppVersion'] == null ? null : json['minAppVersion'] as String,
        maxAppVersion: json['maxAppVersion'] == null ? null : json['maxAppVersion'] as String,
        locales: json['locales'] == null ? null : List<String>.unmodifiable((json['locales'] as List<Object?>).map((e0) => e0 as String)),
        lastSeenWithinSeconds: json['lastSeenWithinSeconds'] == null ? null : (json['lastSeenWithinSeconds'] as num).toInt(),
      );

  final List<CampaignSegmentPlatformsItem>? platforms;

  /// Inclusive; versions compare as dotted numbers (2.10 is above 2.9). Devices without a version are outside any bound.
  final String? minAppVersion;

  /// Inclusive.
  final String? maxAppVersion;

  /// A device matches a locale exactly, or by its language (`en` matches `en-GB`).
  final List<String>? locales;

  /// Devices that registered (opened the app) within this many seconds before the send.
  final int? lastSeenWithinSeconds;

  /// Encodes this [CampaignSegment] as its JSON object.
  Map<String, Object?> toJson() => {
        if (platforms case final value?) 'platforms': [for (final e0 in value) e0.toJson()],
        if (minAppVersion case final value?) 'minAppVersion': value,
        if (maxAppVersion case final value?) 'maxAppVersion': value,
        if (locales case final value?) 'locales': value,
        if (lastSeenWithinSeconds case final value?) 'lastSeenWithinSeconds': value,
      };
}

final class CampaignNotification {
  /// Creates a [CampaignNotification].
  const CampaignNotification({
    this.title,
    this.body,
    this.imageUrl,
  });

  /// Decodes a [CampaignNotification] from its JSON object.
  factory CampaignNotification.fromJson(Map<String, Object?> json) => CampaignNotification(
        title: json['title'] == null ? null : json['title'] as String,
        body: json['body'] == null ? null : json['body'] as String,
        imageUrl: json['imageUrl'] == null ? null : json['imageUrl'] as String,
      );

  final String? title;

  final String? body;

  /// An https URL of an image shown with the notification.
  final String? imageUrl;

  /// Encodes this [CampaignNotification] as its JSON object.
  Map<String, Object?> toJson() => {
        if (title case final value?) 'title': value,
        if (body case final value?) 'body': value,
        if (imageUrl case final value?) 'imageUrl': value,
      };
}

final class CampaignOptions {
  /// Creates a [CampaignOptions].
  const CampaignOptions({
    this.priority,
    this.ttlSeconds,
    this.collapseKey,
    this.badge,
    this.sound,
    this.silent,
  });

  /// Decodes a [CampaignOptions] from its JSON object.
  factory CampaignOptions.fromJson(Map<String, Object?> json) => CampaignOptions(
        priority: json['priority'] == null ? null : CampaignOptionsPriority.fromJson(json['priority'] as String),
        ttlSeconds: json['ttlSeconds'] == null ? null : (json['ttlSeconds'] as num).toInt(),
        collapseKey: json['collapseKey'] == null ? null : json['collapseKey'] as String,
        badge: json['badge'] == null ? null : (json['badge'] as num).toInt(),
        sound: json['sound'] == null ? null : json['sound'] as String,
        silent: json['silent'] == null ? null : json['silent'] as bool,
      );

  /// high (the default) is delivered at once; normal may wait for the device to wake.
  final CampaignOptionsPriority? priority;

  /// How long FCM keeps trying to reach an offline device (0 or absent - FCM's default of 4 weeks).
  final int? ttlSeconds;

  /// Messages with one collapse key replace each other while a device is offline.
  final String? collapseKey;

  /// The app icon's badge (iOS).
  final int? badge;

  /// `default` or the name of a sound file in the app.
  final String? sound;

  /// Data only, shows nothing; wakes the app (APNs content-available). Leave out `notification`.
  final bool? silent;

  /// Encodes this [CampaignOptions] as its JSON object.
  Map<String, Object?> toJson() => {
        if (priority case final value?) 'priority': value.toJson(),
        if (ttlSeconds case final value?) 'ttlSeconds': value,
        if (collapseKey case final value?) 'collapseKey': value,
        if (badge case final value?) 'badge': value,
        if (sound case final value?) 'sound': value,
        if (silent case final value?) 'silent': value,
      };
}

final class CampaignRequest {
  /// Creates a [CampaignRequest].
  const CampaignRequest({
    required this.target,
    this.notification,
    this.data,
    this.options,
    this.sendAt,
    this.localTime,
    this.dryRun,
    this.idempotencyKey,
  });

  /// Decodes a [CampaignRequest] from its JSON object.
  factory CampaignRequest.fromJson(Map<String, Object?> json) => CampaignRequest(
        target: CampaignTarget.fromJson(json['target'] as Map<String, Object?>),
        notification: json['notification'] == null ? null : CampaignNotification.fromJson(json['notification'] as Map<String, Object?>),
        data: json['data'] == null ? null : Map<String, String>.unmodifiable((json['data'] as Map<String, Object?>).map((k0, e0) => MapEntry(k0, e0 as String))),
        options: json['options'] == null ? null : CampaignOptions.fromJson(json['options'] as Map<String, Object?>),
        sendAt: json['sendAt'] == null ? null : DateTime.parse(json['sendAt'] as String),
        localTime: json['localTime'] == null ? null : json['localTime'] as bool,
        dryRun: json['dryRun'] == null ? null : json['dryRun'] as bool,
        idempotencyKey: json['idempotencyKey'] == null ? null : json['idempotencyKey'] as String,
      );

  /// Exactly one of `all`, `userIds`, `deviceIds`, `topic` and `segment`. Only devices with a push token are reached.
  final CampaignTarget target;

  final CampaignNotification? notification;

  /// Key/values given to the app. With the title and body, at most 4096 bytes (FCM's limit, 413 past it). Keys `from`, `notification`, `message_type` and those starting with `google.`, `gcm.`, `apns-` or `tideline.` are reserved.
  final Map<String, String>? data;

  final CampaignOptions? options;

  /// When to send (absent - at once; within a year). With `localTime`, only its date and wall time count, in each device's time zone.
  final DateTime? sendAt;

  /// Send at `sendAt`'s wall time in each device's own time zone (UTC for devices without one); where that time has passed, at once.
  final bool? localTime;

  /// Resolve the audience and count it, and send nothing.
  final bool? dryRun;

  /// A retried request with the same key returns the first campaign instead of sending again.
  final String? idempotencyKey;

  /// Encodes this [CampaignRequest] as its JSON object.
  Map<String, Object?> toJson() => {
        'target': target.toJson(),
        if (notification case final value?) 'notification': value.toJson(),
        if (data case final value?) 'data': value,
        if (options case final value?) 'options': value.toJson(),
        if (sendAt case final value?) 'sendAt': _date(value),
        if (localTime case final value?) 'localTime': value,
        if (dryRun case final value?) 'dryRun': value,
        if (idempotencyKey case final value?) 'idempotencyKey': value,
      };
}

final class CampaignCounts {
  /// Creates a [CampaignCounts].
  const CampaignCounts({
    required this.targeted,
    required this.pending,
    required this.sent,
    required this.failed,
    required this.pruned,
    required this.cancelled,
  });

  /// Decodes a [CampaignCounts] from its JSON object.
  factory CampaignCounts.fromJson(Map<String, Object?> json) => CampaignCounts(
        targeted: (json['targeted'] as num).toInt(),
        pending: (json['pending'] as num).toInt(),
        sent: (json['sent'] as num).toInt(),
        failed: (json['failed'] as num).toInt(),
        pruned: (json['pruned'] as num).toInt(),
        cancelled: (json['cancelled'] as num).toInt(),
      );

  /// Devices in the audience (known once the campaign starts).
  final int targeted;

  final int pending;

  /// Accepted by FCM.
  final int sent;

  final int failed;

  /// FCM said the token is no longer valid; it was removed from its device.
  final int pruned;

  /// Not sent because the campaign was cancelled, or the device was deleted or signed out before its turn.
  final int cancelled;

  /// Encodes this [CampaignCounts] as its JSON object.
  Map<String, Object?> toJson() => {
        'targeted': targeted,
        'pending': pending,
        'sent': sent,
        'failed': failed,
        'pruned': pruned,
        'cancelled': cancelled,
      };
}

final class CampaignError {
  /// Creates a [CampaignError].
  const CampaignError({
    required this.deviceId,
    required this.userId,
    required this.error,
    required this.at,
  });

  /// Decodes a [CampaignError] from its JSON object.
  factory CampaignError.fromJson(Map<String, Object?> json) => CampaignError(
        deviceId: json['deviceId'] as String,
        userId: json['userId'] as String,
        error: json['error'] as String,
        at: DateTime.parse(json['at'] as String),
      );

  /// The server's id of the device.
  final String deviceId;

  final String userId;

  final String error;

  final DateTime at;

  /// Encodes this [CampaignError] as its JSON object.
  Map<String, Object?> toJson() => {
        'deviceId': deviceId,
        'userId': userId,
        'error': error,
        'at': _date(at),
      };
}

final class Campaign {
  /// Creates a [Campaign].
  const Campaign({
    required this.id,
    required this.status,
    required this.target,
    this.notification,
    this.data,
    this.options,
    this.sendAt,
    required this.localTime,
    required this.dryRun,
    this.idempotencyKey,
    this.createdBy,
    required this.createdAt,
    this.startedAt,
    this.finishedAt,
    required this.counts,
    required this.errors,
  });

  /// Decodes a [Campaign] from its JSON object.
  factory Campaign.fromJson(Map<String, Object?> json) => Campaign(
        id: json['id'] as String,
        status: CampaignStatus.fromJson(json['status'] as String),
        target: CampaignTarget.fromJson(json['target'] as Map<String, Object?>),
        notification: json['notification'] == null ? null : CampaignNotification.fromJson(json['notification'] as Map<String, Object?>),
        data: json['data'] == null ? null : Map<String, String>.unmodifiable((json['data'] as Map<String, Object?>).map((k0, e0) => MapEntry(k0, e0 as String))),
        options: json['options'] == null ? null : CampaignOptions.fromJson(json['options'] as Map<String, Object?>),
        sendAt: json['sendAt'] == null ? null : DateTime.parse(json['sendAt'] as String),
        localTime: json['localTime'] as bool,
        dryRun: json['dryRun'] as bool,
        idempotencyKey: json['idempotencyKey'] == null ? null : json['idempotencyKey'] as String,
        createdBy: json['createdBy'] == null ? null : json['createdBy'] as String,
        createdAt: DateTime.parse(json['createdAt'] as String),
        startedAt: json['startedAt'] == null ? null : DateTime.parse(json['startedAt'] as String),
        finishedAt: json['finishedAt'] == null ? null : DateTime.parse(json['finishedAt'] as String),
        counts: CampaignCounts.fromJson(json['counts'] as Map<String, Object?>),
        errors: List<CampaignError>.unmodifiable((json['errors'] as List<Object?>).map((e0) => CampaignError.fromJson(e0 as Map<String, Object?>))),
      );

  final String id;

  final CampaignStatus status;

  /// Exactly one of `all`, `userIds`, `deviceIds`, `topic` and `segment`. Only devices with a push token are reached.
  final CampaignTarget target;

  final CampaignNotification? notification;

  final Map<String, String>? data;

  final CampaignOptions? options;

  final DateTime? sendAt;

  final bool localTime;

  final bool dryRun;

  final String? idempotencyKey;

  /// The admin user who sent it (absent for an admin key).
  final String? createdBy;

  final DateTime createdAt;

  /// When its audience was resolved.
  final DateTime? startedAt;

  /// When it completed or was cancelled.
  final DateTime? finishedAt;

  final CampaignCounts counts;

  /// The first failed deliveries (up to 10).
  final List<CampaignError> errors;

  /// Encodes this [Campaign] as its JSON object.
  Map<String, Object?> toJson() => {
        'id': id,
        'status': status.toJson(),
        'target': target.toJson(),
        if (notification case final value?) 'notification': value.toJson(),
        if (data case final value?) 'data': value,
        if (options case final value?) 'options': value.toJson(),
        if (sendAt case final value?) 'sendAt': _date(value),
        'localTime': localTime,
        'dryRun': dryRun,
        if (idempotencyKey case final value?) 'idempotencyKey': value,
        if (createdBy case final value?) 'createdBy': value,
        'createdAt': _date(createdAt),
        if (startedAt case final value?) 'startedAt': _date(value),
        if (finishedAt case final value?) 'finishedAt': _date(value),
        'counts': counts.toJson(),
        'errors': [for (final e0 in errors) e0.toJson()],
      };
}

final class CampaignPage {
  /// Creates a [CampaignPage].
  const CampaignPage({
    required this.campaigns,
    this.next,
  });

  /// Decodes a [CampaignPage] from its JSON object.
  factory CampaignPage.fromJson(Map<String, Object?> json) => CampaignPage(
        campaigns: List<Campaign>.unmodifiable((json['campaigns'] as List<Object?>).map((e0) => Campaign.fromJson(e0 as Map<String, Object?>))),
        next: json['next'] == null ? null : json['next'] as String,
      );

  final List<Campaign> campaigns;

  /// Give it as `before` for the next page; absent on the last one.
  final String? next;

  /// Encodes this [CampaignPage] as its JSON object.
  Map<String, Object?> toJson() => {
        'campaigns': [for (final e0 in campaigns) e0.toJson()],
        if (next case final value?) 'next': value,
      };
}

final class TopicCount {
  /// Creates a [TopicCount].
  const TopicCount({
    required this.topic,
    required this.devices,
  });

  /// Decodes a [TopicCount] from its JSON object.
  factory TopicCount.fromJson(Map<String, Object?> json) => TopicCount(
        topic: json['topic'] as String,
        devices: (json['devices'] as num).toInt(),
      );

  final String topic;

  /// How many devices are subscribed.
  final int devices;

  /// Encodes this [TopicCount] as its JSON object.
  Map<String, Object?> toJson() => {
        'topic': topic,
        'devices': devices,
      };
}

final class Group {
  /// Creates a [Group].
  const Group({
    required this.id,
    required this.name,
    required this.ownerId,
    required this.createdAt,
    required this.role,
  });

  /// Decodes a [Group] from its JSON object.
  factory Group.fromJson(Map<String, Object?> json) => Group(
        id: json['id'] as String,
        name: json['name'] as String,
        ownerId: json['ownerId'] as String,
        createdAt: DateTime.parse(json['createdAt'] as String),
        role: GroupRole.fromJson(json['role'] as String),
      );

  final String id;

  final String name;

  final String ownerId;

  final DateTime createdAt;

  /// Your role in the group.
  final GroupRole role;

  /// Encodes this [Group] as its JSON object.
  Map<String, Object?> toJson() => {
        'id': id,
        'name': name,
        'ownerId': ownerId,
        'createdAt': _date(createdAt),
        'role': role.toJson(),
      };
}

final class GroupList {
  /// Creates a [GroupList].
  const GroupList({
    required this.groups,
  });

  /// Decodes a [GroupList] from its JSON object.
  factory GroupList.fromJson(Map<String, Object?> json) => GroupList(
        groups: List<Group>.unmodifiable((json['groups'] as List<Object?>).map((e0) => Group.fromJson(e0 as Map<String, Object?>))),
      );

  final List<Group> groups;

  /// Encodes this [GroupList] as its JSON object.
  Map<String, Object?> toJson() => {
        'groups': [for (final e0 in groups) e0.toJson()],
      };
}

final class MemberList {
  /// Creates a [MemberList].
  const MemberList({
    required this.members,
  });

  /// Decodes a [MemberList] from its JSON object.
  factory MemberList.fromJson(Map<String, Object?> json) => MemberList(
        members: List<GroupMember>.unmodifiable((json['members'] as List<Object?>).map((e0) => GroupMember.fromJson(e0 as Map<String, Object?>))),
      );

  final List<GroupMember> members;

  /// Encodes this [MemberList] as its JSON object.
  Map<String, Object?> toJson() => {
        'members': [for (final e0 in members) e0.toJson()],
      };
}

final class GroupMember {
  /// Creates a [GroupMember].
  const GroupMember({
    required this.userId,
    required this.role,
    required this.addedAt,
  });

  /// Decodes a [GroupMember] from its JSON object.
  factory GroupMember.fromJson(Map<String, Object?> json) => GroupMember(
        userId: json['userId'] as String,
        role: GroupMemberRole.fromJson(json['role'] as String),
        addedAt: DateTime.parse(json['addedAt'] as String),
      );

  final String userId;

  final GroupMemberRole role;

  final DateTime addedAt;

  /// Encodes this [GroupMember] as its JSON object.
  Map<String, Object?> toJson() => {
        'userId': userId,
        'role': role.toJson(),
        'addedAt': _date(addedAt),
      };
}

final class CollectionSettings {
  /// Creates a [CollectionSettings].
  const CollectionSettings({
    this.policy,
    this.read,
    this.schema,
    this.maxDocBytes,
    this.notify,
  });

  /// Decodes a [CollectionSettings] from its JSON object.
  factory CollectionSettings.fromJson(Map<String, Object?> json) => CollectionSettings(
        policy: json['policy'] == null ? null : CollectionSettingsPolicy.fromJson(json['policy'] as String),
        read: json['read'] == null ? null : CollectionSettingsRead.fromJson(json['read'] as String),
        schema: json['schema'] == null ? null : Map<String, Object?>.unmodifiable(json['schema'] as Map<String, Object?>),
        maxDocBytes: json['maxDocBytes'] == null ? null : (json['maxDocBytes'] as num).toInt(),
        notify: json['notify'] == null ? null : json['notify'] as bool,
      );

  final CollectionSettingsPolicy? policy;

  final CollectionSettingsRead? read;

  /// A JSON Schema every document must match.
  final Map<String, Object?>? schema;

  final int? maxDocBytes;

  /// Wake users' offline devices when their documents change (default true).
  final bool? notify;

  /// Encodes this [CollectionSettings] as its JSON object.
  Map<String, Object?> toJson() => {
        if (policy case final value?) 'policy': value.toJson(),
        if (read case final value?) 'read': value.toJson(),
        if (schema case final value?) 'schema': value,
        if (maxDocBytes case final value?) 'maxDocBytes': value,
        if (notify case final value?) 'notify': value,
      };
}

final class CollectionConfig {
  /// Creates a [CollectionConfig].
  const CollectionConfig({
    required this.name,
    required this.policy,
    required this.read,
    this.schema,
    required this.maxDocBytes,
    required this.notify,
    required this.source,
    this.updatedAt,
  });

  /// Decodes a [CollectionConfig] from its JSON object.
  factory CollectionConfig.fromJson(Map<String, Object?> json) => CollectionConfig(
        name: json['name'] as String,
        policy: CollectionConfigPolicy.fromJson(json['policy'] as String),
        read: CollectionConfigRead.fromJson(json['read'] as String),
        schema: json['schema'] == null ? null : Map<String, Object?>.unmodifiable(json['schema'] as Map<String, Object?>),
        maxDocBytes: (json['maxDocBytes'] as num).toInt(),
        notify: json['notify'] as bool,
        source: CollectionConfigSource.fromJson(json['source'] as String),
        updatedAt: json['updatedAt'] == null ? null : DateTime.parse(json['updatedAt'] as String),
      );

  final String name;

  final CollectionConfigPolicy policy;

  final CollectionConfigRead read;

  final Map<String, Object?>? schema;

  final int maxDocBytes;

  final bool notify;

  /// config: defined in tideline.yaml (read-only here); api: defined through this API.
  final CollectionConfigSource source;

  final DateTime? updatedAt;

  /// Encodes this [CollectionConfig] as its JSON object.
  Map<String, Object?> toJson() => {
        'name': name,
        'policy': policy.toJson(),
        'read': read.toJson(),
        if (schema case final value?) 'schema': value,
        'maxDocBytes': maxDocBytes,
        'notify': notify,
        'source': source.toJson(),
        if (updatedAt case final value?) 'updatedAt': _date(value),
      };
}

final class CollectionList {
  /// Creates a [CollectionList].
  const CollectionList({
    required this.collections,
  });

  /// Decodes a [CollectionList] from its JSON object.
  factory CollectionList.fromJson(Map<String, Object?> json) => CollectionList(
        collections: List<CollectionConfig>.unmodifiable((json['collections'] as List<Object?>).map((e0) => CollectionConfig.fromJson(e0 as Map<String, Object?>))),
      );

  final List<CollectionConfig> collections;

  /// Encodes this [CollectionList] as its JSON object.
  Map<String, Object?> toJson() => {
        'collections': [for (final e0 in collections) e0.toJson()],
      };
}

/// Describes the device signing in; shown in the session list.
final class Device {
  /// Creates a [Device].
  const Device({
    this.name,
    this.platform,
  });

  /// Decodes a [Device] from its JSON object.
  factory Device.fromJson(Map<String, Object?> json) => Device(
        name: json['name'] == null ? null : json['name'] as String,
        platform: json['platform'] == null ? null : json['platform'] as String,
      );

  final String? name;

  final String? platform;

  /// Encodes this [Device] as its JSON object.
  Map<String, Object?> toJson() => {
        if (name case final value?) 'name': value,
        if (platform case final value?) 'platform': value,
      };
}

final class Credentials {
  /// Creates a [Credentials].
  const Credentials({
    required this.email,
    required this.password,
    this.device,
  });

  /// Decodes a [Credentials] from its JSON object.
  factory Credentials.fromJson(Map<String, Object?> json) => Credentials(
        email: json['email'] as String,
        password: json['password'] as String,
        device: json['device'] == null ? null : Device.fromJson(json['device'] as Map<String, Object?>),
      );

  final String email;

  final String password;

  /// Describes the device signing in; shown in the session list.
  final Device? device;

  /// Encodes this [Credentials] as its JSON object.
  Map<String, Object?> toJson() => {
        'email': email,
        'password': password,
        if (device case final value?) 'device': value.toJson(),
      };
}

final class ExchangeRequest {
  /// Creates a [ExchangeRequest].
  const ExchangeRequest({
    required this.provider,
    required this.token,
    this.device,
  });

  /// Decodes a [ExchangeRequest] from its JSON object.
  factory ExchangeRequest.fromJson(Map<String, Object?> json) => ExchangeRequest(
        provider: json['provider'] as String,
        token: json['token'] as String,
        device: json['device'] == null ? null : Device.fromJson(json['device'] as Map<String, Object?>),
      );

  final String provider;

  /// The provider's ID token (a JWT).
  final String token;

  /// Describes the device signing in; shown in the session list.
  final Device? device;

  /// Encodes this [ExchangeRequest] as its JSON object.
  Map<String, Object?> toJson() => {
        'provider': provider,
        'token': token,
        if (device case final value?) 'device': value.toJson(),
      };
}

final class Identity {
  /// Creates a [Identity].
  const Identity({
    required this.provider,
    required this.subject,
    this.email,
    required this.createdAt,
  });

  /// Decodes a [Identity] from its JSON object.
  factory Identity.fromJson(Map<String, Object?> json) => Identity(
        provider: json['provider'] as String,
        subject: json['subject'] as String,
        email: json['email'] == null ? null : json['email'] as String,
        createdAt: DateTime.parse(json['createdAt'] as String),
      );

  final String provider;

  /// The provider's id of the account.
  final String subject;

  final String? email;

  final DateTime createdAt;

  /// Encodes this [Identity] as its JSON object.
  Map<String, Object?> toJson() => {
        'provider': provider,
        'subject': subject,
        if (email case final value?) 'email': value,
        'createdAt': _date(createdAt),
      };
}

final class AnonymousRequest {
  /// Creates a [AnonymousRequest].
  const AnonymousRequest({
    this.device,
  });

  /// Decodes a [AnonymousRequest] from its JSON object.
  factory AnonymousRequest.fromJson(Map<String, Object?> json) => AnonymousRequest(
        device: json['device'] == null ? null : Device.fromJson(json['device'] as Map<String, Object?>),
      );

  /// Describes the device signing in; shown in the session list.
  final Device? device;

  /// Encodes this [AnonymousRequest] as its JSON object.
  Map<String, Object?> toJson() => {
        if (device case final value?) 'device': value.toJson(),
      };
}

final class LinkRequest {
  /// Creates a [LinkRequest].
  const LinkRequest({
    required this.email,
    required this.password,
  });

  /// Decodes a [LinkRequest] from its JSON object.
  factory LinkRequest.fromJson(Map<String, Object?> json) => LinkRequest(
        email: json['email'] as String,
        password: json['password'] as String,
      );

  final String email;

  final String password;

  /// Encodes this [LinkRequest] as its JSON object.
  Map<String, Object?> toJson() => {
        'email': email,
        'password': password,
      };
}

final class RefreshRequest {
  /// Creates a [RefreshRequest].
  const RefreshRequest({
    required this.refreshToken,
  });

  /// Decodes a [RefreshRequest] from its JSON object.
  factory RefreshRequest.fromJson(Map<String, Object?> json) => RefreshRequest(
        refreshToken: json['refreshToken'] as String,
      );

  final String refreshToken;

  /// Encodes this [RefreshRequest] as its JSON object.
  Map<String, Object?> toJson() => {
        'refreshToken': refreshToken,
      };
}

final class EmailRequest {
  /// Creates a [EmailRequest].
  const EmailRequest({
    required this.email,
  });

  /// Decodes a [EmailRequest] from its JSON object.
  factory EmailRequest.fromJson(Map<String, Object?> json) => EmailRequest(
        email: json['email'] as String,
      );

  final String email;

  /// Encodes this [EmailRequest] as its JSON object.
  Map<String, Object?> toJson() => {
        'email': email,
      };
}

final class TokenRequest {
  /// Creates a [TokenRequest].
  const TokenRequest({
    required this.token,
  });

  /// Decodes a [TokenRequest] from its JSON object.
  factory TokenRequest.fromJson(Map<String, Object?> json) => TokenRequest(
        token: json['token'] as String,
      );

  /// The token from the email.
  final String token;

  /// Encodes this [TokenRequest] as its JSON object.
  Map<String, Object?> toJson() => {
        'token': token,
      };
}

final class ResetPasswordRequest {
  /// Creates a [ResetPasswordRequest].
  const ResetPasswordRequest({
    required this.token,
    required this.password,
  });

  /// Decodes a [ResetPasswordRequest] from its JSON object.
  factory ResetPasswordRequest.fromJson(Map<String, Object?> json) => ResetPasswordRequest(
        token: json['token'] as String,
        password: json['password'] as String,
      );

  final String token;

  final String password;

  /// Encodes this [ResetPasswordRequest] as its JSON object.
  Map<String, Object?> toJson() => {
        'token': token,
        'password': password,
      };
}

final class AuthResponse {
  /// Creates a [AuthResponse].
  const AuthResponse({
    required this.user,
    required this.accessToken,
    required this.refreshToken,
    required this.expiresIn,
    required this.sessionId,
  });

  /// Decodes a [AuthResponse] from its JSON object.
  factory AuthResponse.fromJson(Map<String, Object?> json) => AuthResponse(
        user: User.fromJson(json['user'] as Map<String, Object?>),
        accessToken: json['accessToken'] as String,
        refreshToken: json['refreshToken'] as String,
        expiresIn: (json['expiresIn'] as num).toInt(),
        sessionId: json['sessionId'] as String,
      );

  final User user;

  /// A JWT to send as `Authorization: Bearer <accessToken>`.
  final String accessToken;

  /// Opaque; exchange it at `/v1/auth/refresh` before the access token expires. Store it securely.
  final String refreshToken;

  /// Seconds until the access token expires.
  final int expiresIn;

  final String sessionId;

  /// Encodes this [AuthResponse] as its JSON object.
  Map<String, Object?> toJson() => {
        'user': user.toJson(),
        'accessToken': accessToken,
        'refreshToken': refreshToken,
        'expiresIn': expiresIn,
        'sessionId': sessionId,
      };
}

final class LinkResponse {
  /// Creates a [LinkResponse].
  const LinkResponse({
    required this.user,
    required this.accessToken,
    required this.expiresIn,
  });

  /// Decodes a [LinkResponse] from its JSON object.
  factory LinkResponse.fromJson(Map<String, Object?> json) => LinkResponse(
        user: User.fromJson(json['user'] as Map<String, Object?>),
        accessToken: json['accessToken'] as String,
        expiresIn: (json['expiresIn'] as num).toInt(),
      );

  final User user;

  final String accessToken;

  final int expiresIn;

  /// Encodes this [LinkResponse] as its JSON object.
  Map<String, Object?> toJson() => {
        'user': user.toJson(),
        'accessToken': accessToken,
        'expiresIn': expiresIn,
      };
}

final class User {
  /// Creates a [User].
  const User({
    required this.id,
    this.email,
    required this.emailVerified,
    required this.anonymous,
    required this.disabled,
    required this.roles,
    required this.displayName,
    required this.createdAt,
    required this.updatedAt,
  });

  /// Decodes a [User] from its JSON object.
  factory User.fromJson(Map<String, Object?> json) => User(
        id: json['id'] as String,
        email: json['email'] == null ? null : json['email'] as String,
        emailVerified: json['emailVerified'] as bool,
        anonymous: json['anonymous'] as bool,
        disabled: json['disabled'] as bool,
        roles: List<String>.unmodifiable((json['roles'] as List<Object?>).map((e0) => e0 as String)),
        displayName: json['displayName'] as String,
        createdAt: DateTime.parse(json['createdAt'] as String),
        updatedAt: DateTime.parse(json['updatedAt'] as String),
      );

  final String id;

  /// Absent for anonymous users.
  final String? email;

  final bool emailVerified;

  final bool anonymous;

  final bool disabled;

  final List<String> roles;

  final String displayName;

  final DateTime createdAt;

  final DateTime updatedAt;

  /// Encodes this [User] as its JSON object.
  Map<String, Object?> toJson() => {
        'id': id,
        if (email case final value?) 'email': value,
        'emailVerified': emailVerified,
        'anonymous': anonymous,
        'disabled': disabled,
        'roles': roles,
        'displayName': displayName,
        'createdAt': _date(createdAt),
        'updatedAt': _date(updatedAt),
      };
}

final class MeUpdate {
  /// Creates a [MeUpdate].
  const MeUpdate({
    this.displayName,
    this.password,
    this.currentPassword,
  });

  /// Decodes a [MeUpdate] from its JSON object.
  factory MeUpdate.fromJson(Map<String, Object?> json) => MeUpdate(
        displayName: json['displayName'] == null ? null : json['displayName'] as String,
        password: json['password'] == null ? null : json['password'] as String,
        currentPassword: json['currentPassword'] == null ? null : json['currentPassword'] as String,
      );

  final String? displayName;

  /// A new password; needs `currentPassword`.
  final String? password;

  final String? currentPassword;

  /// Encodes this [MeUpdate] as its JSON object.
  Map<String, Object?> toJson() => {
        if (displayName case final value?) 'displayName': value,
        if (password case final value?) 'password': value,
        if (currentPassword case final value?) 'currentPassword': value,
      };
}

final class Session {
  /// Creates a [Session].
  const Session({
    required this.id,
    required this.deviceName,
    required this.platform,
    required this.userAgent,
    required this.ip,
    required this.createdAt,
    required this.lastUsedAt,
    required this.expiresAt,
    required this.current,
  });

  /// Decodes a [Session] from its JSON object.
  factory Session.fromJson(Map<String, Object?> json) => Session(
        id: json['id'] as String,
        deviceName: json['deviceName'] as String,
        platform: json['platform'] as String,
        userAgent: json['userAgent'] as String,
        ip: json['ip'] as String,
        createdAt: DateTime.parse(json['createdAt'] as String),
        lastUsedAt: DateTime.parse(json['lastUsedAt'] as String),
        expiresAt: DateTime.parse(json['expiresAt'] as String),
        current: json['current'] as bool,
      );

  final String id;

  final String deviceName;

  final String platform;

  final String userAgent;

  /// The address of the last sign-in or refresh.
  final String ip;

  final DateTime createdAt;

  final DateTime lastUsedAt;

  /// When the session ends unless refreshed before.
  final DateTime expiresAt;

  /// True for the session making the request.
  final bool current;

  /// Encodes this [Session] as its JSON object.
  Map<String, Object?> toJson() => {
        'id': id,
        'deviceName': deviceName,
        'platform': platform,
        'userAgent': userAgent,
        'ip': ip,
        'createdAt': _date(createdAt),
        'lastUsedAt': _date(lastUsedAt),
        'expiresAt': _date(expiresAt),
        'current': current,
      };
}

final class SessionList {
  /// Creates a [SessionList].
  const SessionList({
    required this.sessions,
  });

  /// Decodes a [SessionList] from its JSON object.
  factory SessionList.fromJson(Map<String, Object?> json) => SessionList(
        sessions: List<Session>.unmodifiable((json['sessions'] as List<Object?>).map((e0) => Session.fromJson(e0 as Map<String, Object?>))),
      );

  final List<Session> sessions;

  /// Encodes this [SessionList] as its JSON object.
  Map<String, Object?> toJson() => {
        'sessions': [for (final e0 in sessions) e0.toJson()],
      };
}

final class JWK {
  /// Creates a [JWK].
  const JWK({
    required this.kty,
    required this.crv,
    required this.x,
    required this.kid,
    required this.use,
    required this.alg,
  });

  /// Decodes a [JWK] from its JSON object.
  factory JWK.fromJson(Map<String, Object?> json) => JWK(
        kty: JWKKty.fromJson(json['kty'] as String),
        crv: JWKCrv.fromJson(json['crv'] as String),
        x: json['x'] as String,
        kid: json['kid'] as String,
        use: JWKUse.fromJson(json['use'] as String),
        alg: JWKAlg.fromJson(json['alg'] as String),
      );

  final JWKKty kty;

  final JWKCrv crv;

  final String x;

  final String kid;

  final JWKUse use;

  final JWKAlg alg;

  /// Encodes this [JWK] as its JSON object.
  Map<String, Object?> toJson() => {
        'kty': kty.toJson(),
        'crv': crv.toJson(),
        'x': x,
        'kid': kid,
        'use': use.toJson(),
        'alg': alg.toJson(),
      };
}

final class JWKS {
  /// Creates a [JWKS].
  const JWKS({
    required this.keys,
  });

  /// Decodes a [JWKS] from its JSON object.
  factory JWKS.fromJson(Map<String, Object?> json) => JWKS(
        keys: List<JWK>.unmodifiable((json['keys'] as List<Object?>).map((e0) => JWK.fromJson(e0 as Map<String, Object?>))),
      );

  final List<JWK> keys;

  /// Encodes this [JWKS] as its JSON object.
  Map<String, Object?> toJson() => {
        'keys': [for (final e0 in keys) e0.toJson()],
      };
}

final class UserPage {
  /// Creates a [UserPage].
  const UserPage({
    required this.users,
    this.next,
  });

  /// Decodes a [UserPage] from its JSON object.
  factory UserPage.fromJson(Map<String, Object?> json) => UserPage(
        users: List<User>.unmodifiable((json['users'] as List<Object?>).map((e0) => User.fromJson(e0 as Map<String, Object?>))),
        next: json['next'] == null ? null : json['next'] as String,
      );

  final List<User> users;

  /// Pass as `after` for the next page; absent on the last page.
  final String? next;

  /// Encodes this [UserPage] as its JSON object.
  Map<String, Object?> toJson() => {
        'users': [for (final e0 in users) e0.toJson()],
        if (next case final value?) 'next': value,
      };
}

final class AdminUserUpdate {
  /// Creates a [AdminUserUpdate].
  const AdminUserUpdate({
    this.disabled,
    this.roles,
    this.emailVerified,
    this.displayName,
  });

  /// Decodes a [AdminUserUpdate] from its JSON object.
  factory AdminUserUpdate.fromJson(Map<String, Object?> json) => AdminUserUpdate(
        disabled: json['disabled'] == null ? null : json['disabled'] as bool,
        roles: json['roles'] == null ? null : List<String>.unmodifiable((json['roles'] as List<Object?>).map((e0) => e0 as String)),
        emailVerified: json['emailVerified'] == null ? null : json['emailVerified'] as bool,
        displayName: json['displayName'] == null ? null : json['displayName'] as String,
      );

  final bool? disabled;

  final List<String>? roles;

  final bool? emailVerified;

  final String? displayName;

  /// Encodes this [AdminUserUpdate] as its JSON object.
  Map<String, Object?> toJson() => {
        if (disabled case final value?) 'disabled': value,
        if (roles case final value?) 'roles': value,
        if (emailVerified case final value?) 'emailVerified': value,
        if (displayName case final value?) 'displayName': value,
      };
}

final class AdminKey {
  /// Creates a [AdminKey].
  const AdminKey({
    required this.id,
    required this.name,
    required this.prefix,
    required this.createdBy,
    required this.createdAt,
    this.lastUsedAt,
  });

  /// Decodes a [AdminKey] from its JSON object.
  factory AdminKey.fromJson(Map<String, Object?> json) => AdminKey(
        id: json['id'] as String,
        name: json['name'] as String,
        prefix: json['prefix'] as String,
        createdBy: json['createdBy'] as String,
        createdAt: DateTime.parse(json['createdAt'] as String),
        lastUsedAt: json['lastUsedAt'] == null ? null : DateTime.parse(json['lastUsedAt'] as String),
      );

  final String id;

  final String name;

  /// The key's first characters.
  final String prefix;

  final String createdBy;

  final DateTime createdAt;

  final DateTime? lastUsedAt;

  /// Encodes this [AdminKey] as its JSON object.
  Map<String, Object?> toJson() => {
        'id': id,
        'name': name,
        'prefix': prefix,
        'createdBy': createdBy,
        'createdAt': _date(createdAt),
        if (lastUsedAt case final value?) 'lastUsedAt': _date(value),
      };
}

final class AdminKeyList {
  /// Creates a [AdminKeyList].
  const AdminKeyList({
    required this.keys,
  });

  /// Decodes a [AdminKeyList] from its JSON object.
  factory AdminKeyList.fromJson(Map<String, Object?> json) => AdminKeyList(
        keys: List<AdminKey>.unmodifiable((json['keys'] as List<Object?>).map((e0) => AdminKey.fromJson(e0 as Map<String, Object?>))),
      );

  final List<AdminKey> keys;

  /// Encodes this [AdminKeyList] as its JSON object.
  Map<String, Object?> toJson() => {
        'keys': [for (final e0 in keys) e0.toJson()],
      };
}

final class AdminKeyRequest {
  /// Creates a [AdminKeyRequest].
  const AdminKeyRequest({
    required this.name,
  });

  /// Decodes a [AdminKeyRequest] from its JSON object.
  factory AdminKeyRequest.fromJson(Map<String, Object?> json) => AdminKeyRequest(
        name: json['name'] as String,
      );

  final String name;

  /// Encodes this [AdminKeyRequest] as its JSON object.
  Map<String, Object?> toJson() => {
        'name': name,
      };
}

final class CreatedAdminKey {
  /// Creates a [CreatedAdminKey].
  const CreatedAdminKey({
    required this.key,
    required this.secret,
  });

  /// Decodes a [CreatedAdminKey] from its JSON object.
  factory CreatedAdminKey.fromJson(Map<String, Object?> json) => CreatedAdminKey(
        key: AdminKey.fromJson(json['key'] as Map<String, Object?>),
        secret: json['secret'] as String,
      );

  final AdminKey key;

  /// The key to send as `Authorization: Bearer <secret>`. Shown once.
  final String secret;

  /// Encodes this [CreatedAdminKey] as its JSON object.
  Map<String, Object?> toJson() => {
        'key': key.toJson(),
        'secret': secret,
      };
}

final class AuditEvent {
  /// Creates a [AuditEvent].
  const AuditEvent({
    required this.id,
    required this.at,
    required this.type,
    required this.userId,
    required this.sessionId,
    required this.actor,
    required this.ip,
    required this.detail,
  });

  /// Decodes a [AuditEvent] from its JSON object.
  factory AuditEvent.fromJson(Map<String, Object?> json) => AuditEvent(
        id: json['id'] as String,
        at: DateTime.parse(json['at'] as String),
        type: json['type'] as String,
        userId: json['userId'] as String,
        sessionId: json['sessionId'] as String,
        actor: json['actor'] as String,
        ip: json['ip'] as String,
        detail: Map<String, String>.unmodifiable((json['detail'] as Map<String, Object?>).map((k0, e0) => MapEntry(k0, e0 as String))),
      );

  final String id;

  final DateTime at;

  final String type;

  final String userId;

  final String sessionId;

  /// Who acted when not the user, such as `admin-key:<id>` or `user:<id>`.
  final String actor;

  final String ip;

  final Map<String, String> detail;

  /// Encodes this [AuditEvent] as its JSON object.
  Map<String, Object?> toJson() => {
        'id': id,
        'at': _date(at),
        'type': type,
        'userId': userId,
        'sessionId': sessionId,
        'actor': actor,
        'ip': ip,
        'detail': detail,
      };
}

final class AuditPage {
  /// Creates a [AuditPage].
  const AuditPage({
    required this.events,
    this.next,
  });

  /// Decodes a [AuditPage] from its JSON object.
  factory AuditPage.fromJson(Map<String, Object?> json) => AuditPage(
        events: List<AuditEvent>.unmodifiable((json['events'] as List<Object?>).map((e0) => AuditEvent.fromJson(e0 as Map<String, Object?>))),
        next: json['next'] == null ? null : json['next'] as String,
      );

  final List<AuditEvent> events;

  /// Pass as `before` for older events; absent on the last page.
  final String? next;

  /// Encodes this [AuditPage] as its JSON object.
  Map<String, Object?> toJson() => {
        'events': [for (final e0 in events) e0.toJson()],
        if (next case final value?) 'next': value,
      };
}

/// An RFC 9457 problem document with Tideline's stable error code.
final class Problem {
  /// Creates a [Problem].
  const Problem({
    required this.type,
    required this.title,
    required this.status,
    this.detail,
    required this.code,
    required this.requestId,
    this.fields,
    this.setting,
  });

  /// Decodes a [Problem] from its JSON object.
  factory Problem.fromJson(Map<String, Object?> json) => Problem(
        type: json['type'] as String,
        title: json['title'] as String,
        status: (json['status'] as num).toInt(),
        detail: json['detail'] == null ? null : json['detail'] as String,
        code: json['code'] as String,
        requestId: json['request_id'] as String,
        fields: json['fields'] == null ? null : Map<String, String>.unmodifiable((json['fields'] as Map<String, Object?>).map((k0, e0) => MapEntry(k0, e0 as String))),
        setting: json['setting'] == null ? null : json['setting'] as String,
      );

  /// A URI naming the kind of problem; `about:blank` for all Tideline codes.
  final String type;

  /// The HTTP status text.
  final String title;

  /// The HTTP status code.
  final int status;

  /// A message safe to show to a user.
  final String? detail;

  /// The stable error code (see the table above). Never renamed.
  final String code;

  /// The request id, also sent in the `X-Request-Id` response header.
  final String requestId;

  /// For `invalid`, the reason for each invalid field.
  final Map<String, String>? fields;

  /// For `rate_limited`, the server setting that sets the limit (such as
  /// `auth.limits.signup`, the flag `--auth-limits-signup`): for the server's operator,
  /// who may raise it, or set it to `off` while developing. Not for end users.
  final String? setting;

  /// Encodes this [Problem] as its JSON object.
  Map<String, Object?> toJson() => {
        'type': type,
        'title': title,
        'status': status,
        if (detail case final value?) 'detail': value,
        'code': code,
        'request_id': requestId,
        if (fields case final value?) 'fields': value,
        if (setting case final value?) 'setting': value,
      };
}

final class Health {
  /// Creates a [Health].
  const Health({
    required this.status,
    required this.version,
  });

  /// Decodes a [Health] from its JSON object.
  factory Health.fromJson(Map<String, Object?> json) => Health(
        status: HealthStatus.fromJson(json['status'] as String),
        version: json['version'] as String,
      );

  final HealthStatus status;

  /// The server's version.
  final String version;

  /// Encodes this [Health] as its JSON object.
  Map<String, Object?> toJson() => {
        'status': status.toJson(),
        'version': version,
      };
}

final class Readiness {
  /// Creates a [Readiness].
  const Readiness({
    required this.status,
    required this.engine,
    required this.schemaVersion,
  });

  /// Decodes a [Readiness] from its JSON object.
  factory Readiness.fromJson(Map<String, Object?> json) => Readiness(
        status: ReadinessStatus.fromJson(json['status'] as String),
        engine: ReadinessEngine.fromJson(json['engine'] as String),
        schemaVersion: (json['schemaVersion'] as num).toInt(),
      );

  final ReadinessStatus status;

  /// The storage engine this node runs on.
  final ReadinessEngine engine;

  /// The schema version of the data, after start-up migrations.
  final int schemaVersion;

  /// Encodes this [Readiness] as its JSON object.
  Map<String, Object?> toJson() => {
        'status': status.toJson(),
        'engine': engine.toJson(),
        'schemaVersion': schemaVersion,
      };
}

enum MutationOp {
  put('put'),
  patch('patch'),
  delete('delete');

  const MutationOp(this.json);

  /// Decodes a [MutationOp]; a value the API does not list is a FormatException.
  static MutationOp fromJson(String json) => values.firstWhere((v) => v.json == json,
      orElse: () => throw FormatException('MutationOp: unknown value', json));

  /// The value as JSON has it.
  final String json;

  /// Encodes this [MutationOp] as JSON.
  String toJson() => json;
}

enum ReceiptStatus {
  applied('applied'),
  merged('merged'),
  rejected('rejected'),
  conflict('conflict');

  const ReceiptStatus(this.json);

  /// Decodes a [ReceiptStatus]; a value the API does not list is a FormatException.
  static ReceiptStatus fromJson(String json) => values.firstWhere((v) => v.json == json,
      orElse: () => throw FormatException('ReceiptStatus: unknown value', json));

  /// The value as JSON has it.
  final String json;

  /// Encodes this [ReceiptStatus] as JSON.
  String toJson() => json;
}

enum StreamMessageType {
  hello('hello'),
  poke('poke'),
  changes('changes'),
  expired('expired');

  const StreamMessageType(this.json);

  /// Decodes a [StreamMessageType]; a value the API does not list is a FormatException.
  static StreamMessageType fromJson(String json) => values.firstWhere((v) => v.json == json,
      orElse: () => throw FormatException('StreamMessageType: unknown value', json));

  /// The value as JSON has it.
  final String json;

  /// Encodes this [StreamMessageType] as JSON.
  String toJson() => json;
}

/// upsert: replace the local document with `doc`. delete: remove it (a tombstone). evict: the caller may no longer read it (it was unshared, or left the caller's buckets): drop it.
enum ChangeOp {
  upsert('upsert'),
  delete('delete'),
  evict('evict');

  const ChangeOp(this.json);

  /// Decodes a [ChangeOp]; a value the API does not list is a FormatException.
  static ChangeOp fromJson(String json) => values.firstWhere((v) => v.json == json,
      orElse: () => throw FormatException('ChangeOp: unknown value', json));

  /// The value as JSON has it.
  final String json;

  /// Encodes this [ChangeOp] as JSON.
  String toJson() => json;
}

enum DeviceRegistrationPlatform {
  ios('ios'),
  android('android'),
  web('web');

  const DeviceRegistrationPlatform(this.json);

  /// Decodes a [DeviceRegistrationPlatform]; a value the API does not list is a FormatException.
  static DeviceRegistrationPlatform fromJson(String json) => values.firstWhere((v) => v.json == json,
      orElse: () => throw FormatException('DeviceRegistrationPlatform: unknown value', json));

  /// The value as JSON has it.
  final String json;

  /// Encodes this [DeviceRegistrationPlatform] as JSON.
  String toJson() => json;
}

enum PushDevicePlatform {
  ios('ios'),
  android('android'),
  web('web');

  const PushDevicePlatform(this.json);

  /// Decodes a [PushDevicePlatform]; a value the API does not list is a FormatException.
  static PushDevicePlatform fromJson(String json) => values.firstWhere((v) => v.json == json,
      orElse: () => throw FormatException('PushDevicePlatform: unknown value', json));

  /// The value as JSON has it.
  final String json;

  /// Encodes this [PushDevicePlatform] as JSON.
  String toJson() => json;
}

enum CampaignSegmentPlatformsItem {
  ios('ios'),
  android('android'),
  web('web');

  const CampaignSegmentPlatformsItem(this.json);

  /// Decodes a [CampaignSegmentPlatformsItem]; a value the API does not list is a FormatException.
  static CampaignSegmentPlatformsItem fromJson(String json) => values.firstWhere((v) => v.json == json,
      orElse: () => throw FormatException('CampaignSegmentPlatformsItem: unknown value', json));

  /// The value as JSON has it.
  final String json;

  /// Encodes this [CampaignSegmentPlatformsItem] as JSON.
  String toJson() => json;
}

/// high (the default) is delivered at once; normal may wait for the device to wake.
enum CampaignOptionsPriority {
  high('high'),
  normal('normal');

  const CampaignOptionsPriority(this.json);

  /// Decodes a [CampaignOptionsPriority]; a value the API does not list is a FormatException.
  static CampaignOptionsPriority fromJson(String json) => values.firstWhere((v) => v.json == json,
      orElse: () => throw FormatException('CampaignOptionsPriority: unknown value', json));

  /// The value as JSON has it.
  final String json;

  /// Encodes this [CampaignOptionsPriority] as JSON.
  String toJson() => json;
}

enum CampaignStatus {
  queued('queued'),
  sending('sending'),
  completed('completed'),
  cancelled('cancelled');

  const CampaignStatus(this.json);

  /// Decodes a [CampaignStatus]; a value the API does not list is a FormatException.
  static CampaignStatus fromJson(String json) => values.firstWhere((v) => v.json == json,
      orElse: () => throw FormatException('CampaignStatus: unknown value', json));

  /// The value as JSON has it.
  final String json;

  /// Encodes this [CampaignStatus] as JSON.
  String toJson() => json;
}

/// Your role in the group.
enum GroupRole {
  owner('owner'),
  member('member');

  const GroupRole(this.json);

  /// Decodes a [GroupRole]; a value the API does not list is a FormatException.
  static GroupRole fromJson(String json) => values.firstWhere((v) => v.json == json,
      orElse: () => throw FormatException('GroupRole: unknown value', json));

  /// The value as JSON has it.
  final String json;

  /// Encodes this [GroupRole] as JSON.
  String toJson() => json;
}

enum GroupMemberRole {
  owner('owner'),
  member('member');

  const GroupMemberRole(this.json);

  /// Decodes a [GroupMemberRole]; a value the API does not list is a FormatException.
  static GroupMemberRole fromJson(String json) => values.firstWhere((v) => v.json == json,
      orElse: () => throw FormatException('GroupMemberRole: unknown value', json));

  /// The value as JSON has it.
  final String json;

  /// Encodes this [GroupMemberRole] as JSON.
  String toJson() => json;
}

enum CollectionSettingsPolicy {
  lww('lww'),
  serverWins('server-wins'),
  optimistic('optimistic');

  const CollectionSettingsPolicy(this.json);

  /// Decodes a [CollectionSettingsPolicy]; a value the API does not list is a FormatException.
  static CollectionSettingsPolicy fromJson(String json) => values.firstWhere((v) => v.json == json,
      orElse: () => throw FormatException('CollectionSettingsPolicy: unknown value', json));

  /// The value as JSON has it.
  final String json;

  /// Encodes this [CollectionSettingsPolicy] as JSON.
  String toJson() => json;
}

enum CollectionSettingsRead {
  owner('owner'),
  ownerShared('owner-shared'),
  authenticatedRead('authenticated-read'),
  publicRead('public-read');

  const CollectionSettingsRead(this.json);

  /// Decodes a [CollectionSettingsRead]; a value the API does not list is a FormatException.
  static CollectionSettingsRead fromJson(String json) => values.firstWhere((v) => v.json == json,
      orElse: () => throw FormatException('CollectionSettingsRead: unknown value', json));

  /// The value as JSON has it.
  final String json;

  /// Encodes this [CollectionSettingsRead] as JSON.
  String toJson() => json;
}

enum CollectionConfigPolicy {
  lww('lww'),
  serverWins('server-wins'),
  optimistic('optimistic');

  const CollectionConfigPolicy(this.json);

  /// Decodes a [CollectionConfigPolicy]; a value the API does not list is a FormatException.
  static CollectionConfigPolicy fromJson(String json) => values.firstWhere((v) => v.json == json,
      orElse: () => throw FormatException('CollectionConfigPolicy: unknown value', json));

  /// The value as JSON has it.
  final String json;

  /// Encodes this [CollectionConfigPolicy] as JSON.
  String toJson() => json;
}

enum CollectionConfigRead {
  owner('owner'),
  ownerShared('owner-shared'),
  authenticatedRead('authenticated-read'),
  publicRead('public-read');

  const CollectionConfigRead(this.json);

  /// Decodes a [CollectionConfigRead]; a value the API does not list is a FormatException.
  static CollectionConfigRead fromJson(String json) => values.firstWhere((v) => v.json == json,
      orElse: () => throw FormatException('CollectionConfigRead: unknown value', json));

  /// The value as JSON has it.
  final String json;

  /// Encodes this [CollectionConfigRead] as JSON.
  String toJson() => json;
}

/// config: defined in tideline.yaml (read-only here); api: defined through this API.
enum CollectionConfigSource {
  config('config'),
  api('api');

  const CollectionConfigSource(this.json);

  /// Decodes a [CollectionConfigSource]; a value the API does not list is a FormatException.
  static CollectionConfigSource fromJson(String json) => values.firstWhere((v) => v.json == json,
      orElse: () => throw FormatException('CollectionConfigSource: unknown value', json));

  /// The value as JSON has it.
  final String json;

  /// Encodes this [CollectionConfigSource] as JSON.
  String toJson() => json;
}

enum JWKKty {
  okp('OKP');

  const JWKKty(this.json);

  /// Decodes a [JWKKty]; a value the API does not list is a FormatException.
  static JWKKty fromJson(String json) => values.firstWhere((v) => v.json == json,
      orElse: () => throw FormatException('JWKKty: unknown value', json));

  /// The value as JSON has it.
  final String json;

  /// Encodes this [JWKKty] as JSON.
  String toJson() => json;
}

enum JWKCrv {
  ed25519('Ed25519');

  const JWKCrv(this.json);

  /// Decodes a [JWKCrv]; a value the API does not list is a FormatException.
  static JWKCrv fromJson(String json) => values.firstWhere((v) => v.json == json,
      orElse: () => throw FormatException('JWKCrv: unknown value', json));

  /// The value as JSON has it.
  final String json;

  /// Encodes this [JWKCrv] as JSON.
  String toJson() => json;
}

enum JWKUse {
  sig('sig');

  const JWKUse(this.json);

  /// Decodes a [JWKUse]; a value the API does not list is a FormatException.
  static JWKUse fromJson(String json) => values.firstWhere((v) => v.json == json,
      orElse: () => throw FormatException('JWKUse: unknown value', json));

  /// The value as JSON has it.
  final String json;

  /// Encodes this [JWKUse] as JSON.
  String toJson() => json;
}

enum JWKAlg {
  edDSA('EdDSA');

  const JWKAlg(this.json);

  /// Decodes a [JWKAlg]; a value the API does not list is a FormatException.
  static JWKAlg fromJson(String json) => values.firstWhere((v) => v.json == json,
      orElse: () => throw FormatException('JWKAlg: unknown value', json));

  /// The value as JSON has it.
  final String json;

  /// Encodes this [JWKAlg] as JSON.
  String toJson() => json;
}

enum HealthStatus {
  ok('ok');

  const HealthStatus(this.json);

  /// Decodes a [HealthStatus]; a value the API does not list is a FormatException.
  static HealthStatus fromJson(String json) => values.firstWhere((v) => v.json == json,
      orElse: () => throw FormatException('HealthStatus: unknown value', json));

  /// The value as JSON has it.
  final String json;

  /// Encodes this [HealthStatus] as JSON.
  String toJson() => json;
}

enum ReadinessStatus {
  ready('ready');

  const ReadinessStatus(this.json);

  /// Decodes a [ReadinessStatus]; a value the API does not list is a FormatException.
  static ReadinessStatus fromJson(String json) => values.firstWhere((v) => v.json == json,
      orElse: () => throw FormatException('ReadinessStatus: unknown value', json));

  /// The value as JSON has it.
  final String json;

  /// Encodes this [ReadinessStatus] as JSON.
  String toJson() => json;
}

/// The storage engine this node runs on.
enum ReadinessEngine {
  sqlite('sqlite'),
  mongodb('mongodb');

  const ReadinessEngine(this.json);

  /// Decodes a [ReadinessEngine]; a value the API does not list is a FormatException.
  static ReadinessEngine fromJson(String json) => values.firstWhere((v) => v.json == json,
      orElse: () => throw FormatException('ReadinessEngine: unknown value', json));

  /// The value as JSON has it.
  final String json;

  /// Encodes this [ReadinessEngine] as JSON.
  String toJson() => json;
}

final class AdminRotateSigningKeyResponse {
  /// Creates a [AdminRotateSigningKeyResponse].
  const AdminRotateSigningKeyResponse({
    required this.kid,
  });

  /// Decodes a [AdminRotateSigningKeyResponse] from its JSON object.
  factory AdminRotateSigningKeyResponse.fromJson(Map<String, Object?> json) => AdminRotateSigningKeyResponse(
        kid: json['kid'] as String,
      );

  final String kid;

  /// Encodes this [AdminRotateSigningKeyResponse] as its JSON object.
  Map<String, Object?> toJson() => {
        'kid': kid,
      };
}

final class CreateGroupRequest {
  /// Creates a [CreateGroupRequest].
  const CreateGroupRequest({
    required this.name,
  });

  /// Decodes a [CreateGroupRequest] from its JSON object.
  factory CreateGroupRequest.fromJson(Map<String, Object?> json) => CreateGroupRequest(
        name: json['name'] as String,
      );

  final String name;

  /// Encodes this [CreateGroupRequest] as its JSON object.
  Map<String, Object?> toJson() => {
        'name': name,
      };
}
