// GENERATED CODE - DO NOT EDIT. cmd/sdkgen writes it from openapi.yaml:
// go generate ./cmd/sdkgen
//
// The HTTP layer of the Tideline API: a Codable model (struct, enum, or enum of variants)
// per schema, and an async throwing method per operation on TidelineAPI, on URLSession.
// It uses no package but Foundation.

import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif

/// An answer of the server that is not a success: an RFC 9457 problem document with
/// Tideline's stable code (openapi.yaml, "Errors").
public struct TidelineError: Error, Sendable, CustomStringConvertible {
    /// The HTTP status.
    public let status: Int
    /// The stable error code (invalid, unauthenticated, forbidden, rate_limited...); empty
    /// when the answer was not a problem document.
    public let code: String
    /// The HTTP status text.
    public let title: String?
    /// A message safe to show to a user.
    public let detail: String?
    /// For invalid: the reason for each invalid field.
    public let fields: [String: String]
    /// The request id to quote when reporting the error.
    public let requestId: String?
    /// The server's Retry-After, in seconds: wait at least this long before trying again.
    public let retryAfter: TimeInterval?
    /// The answer's body as it came.
    public let body: String

    /// Reads a problem answer.
    public init(response: HTTPURLResponse, body: Data, now: Date = Date()) {
        let problem = (try? JSONSerialization.jsonObject(with: body)) as? [String: Any] ?? [:]
        status = response.statusCode
        code = problem["code"] as? String ?? ""
        title = problem["title"] as? String
        detail = problem["detail"] as? String
        fields = (problem["fields"] as? [String: Any] ?? [:]).compactMapValues { $0 as? String }
        requestId = problem["request_id"] as? String ?? response.value(forHTTPHeaderField: "X-Request-Id")
        retryAfter = TidelineError.parseRetryAfter(response.value(forHTTPHeaderField: "Retry-After"), now: now)
        self.body = String(decoding: body, as: UTF8.self)
    }

    public var description: String {
        var s = "TidelineError: the server answered \(status) \(code)"
        if let detail { s += ": \(detail)" }
        if let requestId { s += " (request \(requestId))" }
        return s
    }

    /// Reads a Retry-After header: delay-seconds, or an HTTP date counted from now.
    public static func parseRetryAfter(_ header: String?, now: Date) -> TimeInterval? {
        guard let value = header?.trimmingCharacters(in: .whitespaces) else { return nil }
        if let seconds = Int(value) { return seconds < 0 ? nil : TimeInterval(seconds) }
        let formatter = DateFormatter()
        formatter.locale = Locale(identifier: "en_US_POSIX")
        formatter.timeZone = TimeZone(identifier: "GMT")
        formatter.dateFormat = "EEE, dd MMM yyyy HH:mm:ss 'GMT'"
        guard let date = formatter.date(from: value) else { return nil }
        return max(0, date.timeIntervalSince(now))
    }
}

/// Any JSON value: what a free-form object of the API holds.
public enum JSONValue: Codable, Sendable, Equatable {
    case null
    case bool(Bool)
    case int(Int64)
    case double(Double)
    case string(String)
    case array([JSONValue])
    case object([String: JSONValue])

    public init(from decoder: Decoder) throws {
        let c = try decoder.singleValueContainer()
        if c.decodeNil() {
            self = .null
        } else if let v = try? c.decode(Bool.self) {
            self = .bool(v)
        } else if let v = try? c.decode(Int64.self) {
            self = .int(v)
        } else if let v = try? c.decode(Double.self) {
            self = .double(v)
        } else if let v = try? c.decode(String.self) {
            self = .string(v)
        } else if let v = try? c.decode([JSONValue].self) {
            self = .array(v)
        } else {
            self = .object(try c.decode([String: JSONValue].self))
        }
    }

    public func encode(to encoder: Encoder) throws {
        var c = encoder.singleValueContainer()
        switch self {
        case .null: try c.encodeNil()
        case .bool(let v): try c.encode(v)
        case .int(let v): try c.encode(v)
        case .double(let v): try c.encode(v)
        case .string(let v): try c.encode(v)
        case .array(let v): try c.encode(v)
        case .object(let v): try c.encode(v)
        }
    }
}

/// A coding key by name: the models read and write their members through it.
struct JSONKey: CodingKey {
    var stringValue: String
    var intValue: Int? { nil }

    init(_ name: String) { stringValue = name }
    init?(stringValue: String) { self.stringValue = stringValue }
    init?(intValue: Int) { nil }
}

/// The Tideline API: one method per operation of openapi.yaml.
public final class TidelineAPI: @unchecked Sendable {
    /// The server's base URL, without a trailing slash.
    public let baseURL: String
    /// The session the requests go through.
    public let session: URLSession
    /// The access token (or admin API key) sent as "Authorization: Bearer <token>" with the
    /// operations that need one; nil: none is sent.
    public let token: String?

    /// An API of the server at baseURL ("https://api.example.com").
    public init(baseURL: String, session: URLSession = .shared, token: String? = nil) {
        self.baseURL = baseURL.hasSuffix("/") ? String(baseURL.dropLast()) : baseURL
        self.session = session
        self.token = token
    }

    /// The same API with another bearer token.
    public func withToken(_ token: String?) -> TidelineAPI {
        TidelineAPI(baseURL: baseURL, session: session, token: token)
    }

    /// Sends one request and returns its answer when it is a success (1xx or 2xx): the one
    /// place where the bearer token is added and where any other answer becomes a
    /// TidelineError. path is already escaped; body is JSON.
    public func send(_ method: String, _ path: String, query: [URLQueryItem] = [], body: Data? = nil, auth: Bool = false) async throws -> (Data, HTTPURLResponse) {
        var request = URLRequest(url: try url(path, query: query))
        request.httpMethod = method
        request.setValue("application/json", forHTTPHeaderField: "Accept")
        if let body {
            request.httpBody = body
            request.setValue("application/json", forHTTPHeaderField: "Content-Type")
        }
        if auth, let token {
            request.setValue("Bearer \(token)", forHTTPHeaderField: "Authorization")
        }
        let (data, response) = try await load(request)
        guard let http = response as? HTTPURLResponse else { throw URLError(.badServerResponse) }
        if http.statusCode < 300 { return (data, http) }
        throw TidelineError(response: http, body: data)
    }

    /// The URL of path (already escaped) with query, on the server.
    public func url(_ path: String, query: [URLQueryItem] = []) throws -> URL {
        guard var components = URLComponents(string: baseURL + path) else { throw URLError(.badURL) }
        if !query.isEmpty { components.queryItems = query }
        guard let url = components.url else { throw URLError(.badURL) }
        return url
    }

    private func load(_ request: URLRequest) async throws -> (Data, URLResponse) {
        try await withCheckedThrowingContinuation { continuation in
            session.dataTask(with: request) { data, response, error in
                if let error {
                    continuation.resume(throwing: error)
                } else if let response {
                    continuation.resume(returning: (data ?? Data(), response))
                } else {
                    continuation.resume(throwing: URLError(.badServerResponse))
                }
            }.resume()
        }
    }

    static func escape(_ s: String) -> String {
        var allowed = CharacterSet.urlPathAllowed
        allowed.remove(charactersIn: "/")
        return s.addingPercentEncoding(withAllowedCharacters: allowed) ?? s
    }

    static func text(_ date: Date) -> String {
        let formatter = ISO8601DateFormatter()
        formatter.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        return formatter.string(from: date)
    }

    static func encoder() -> JSONEncoder {
        let encoder = JSONEncoder()
        encoder.dateEncodingStrategy = .custom { date, encoder in
            var c = encoder.singleValueContainer()
            try c.encode(text(date))
        }
        return encoder
    }

    static func decoder() -> JSONDecoder {
        let decoder = JSONDecoder()
        decoder.dateDecodingStrategy = .custom { decoder in
            let c = try decoder.singleValueContainer()
            let s = try c.decode(String.self)
            guard let date = parseDate(s) else {
                throw DecodingError.dataCorruptedError(in: c, debugDescription: "not an RFC 3339 date: \(s)")
            }
            return date
        }
        return decoder
    }

    // parseDate reads an RFC 3339 date; fractional seconds past milliseconds (the server
    // writes nanoseconds) are cut, which ISO8601DateFormatter needs.
    static func parseDate(_ s: String) -> Date? {
        var text = s
        if let dot = text.firstIndex(of: ".") {
            let digits = text[text.index(after: dot)...].prefix(while: { $0.isNumber })
            let end = text.index(dot, offsetBy: digits.count + 1)
            text = String(text[..<text.index(after: dot)]) + String(digits.prefix(3)) + String(text[end...])
        }
        let formatter = ISO8601DateFormatter()
        formatter.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        if let date = formatter.date(from: text) { return date }
        formatter.formatOptions = [.withInternetDateTime]
        return formatter.date(from: text)
    }

    /// Create an account with email and password
    ///
    /// Creates the account, signs it in (a new session) and sends a verification email.
    /// Emails are normalised (trimmed, lower-case). Passwords need at least 8 characters
    /// and must not be a commonly used password or the email. Rate limited per IP.
    ///
    /// `POST /v1/auth/signup`
    public func signUp(_ body: Credentials) async throws -> AuthResponse {
        let (data, _) = try await send("POST", "/v1/auth/signup", body: try Self.encoder().encode(body))
        return try Self.decoder().decode(AuthResponse.self, from: data)
    }

    /// Sign in with email and password
    ///
    /// A wrong password and an unknown email give the same `invalid_credentials` error in
    /// the same time. Failed sign-ins are limited per account (the limit refills, so nobody
    /// is locked out for good) and all attempts per IP.
    ///
    /// `POST /v1/auth/login`
    public func login(_ body: Credentials) async throws -> AuthResponse {
        let (data, _) = try await send("POST", "/v1/auth/login", body: try Self.encoder().encode(body))
        return try Self.decoder().decode(AuthResponse.self, from: data)
    }

    /// Sign in as a new anonymous user
    ///
    /// Creates a user with no email or password and signs it in. The app can later turn it
    /// into a permanent account with `POST /v1/auth/link`, keeping its id and data. The
    /// access token has `is_anonymous: true`. Rate limited per IP like sign-up.
    ///
    /// `POST /v1/auth/anonymous`
    public func signInAnonymously(_ body: AnonymousRequest? = nil) async throws -> AuthResponse {
        let payload = try body.map { try Self.encoder().encode($0) }
        let (data, _) = try await send("POST", "/v1/auth/anonymous", body: payload)
        return try Self.decoder().decode(AuthResponse.self, from: data)
    }

    /// Give an anonymous user an email and password
    ///
    /// The calling anonymous user becomes a permanent account with the same id, so
    /// everything it owns stays its own. Returns a new access token for the same session
    /// (the refresh token is unchanged). `conflict` when the caller is not anonymous,
    /// `email_taken` when another account has the email.
    ///
    /// `POST /v1/auth/link` (bearer token)
    public func linkAccount(_ body: LinkRequest) async throws -> LinkResponse {
        let (data, _) = try await send("POST", "/v1/auth/link", body: try Self.encoder().encode(body), auth: true)
        return try Self.decoder().decode(LinkResponse.self, from: data)
    }

    /// Exchange a refresh token for new tokens
    ///
    /// Returns a new access token and a new refresh token; the presented refresh token is
    /// spent. Presenting it again within the grace window (10 s) returns the same new
    /// tokens' refresh token again; later it revokes the session and answers 401
    /// `refresh_token_reused`. Rate limited per IP.
    ///
    /// `POST /v1/auth/refresh`
    public func refreshSession(_ body: RefreshRequest) async throws -> AuthResponse {
        let (data, _) = try await send("POST", "/v1/auth/refresh", body: try Self.encoder().encode(body))
        return try Self.decoder().decode(AuthResponse.self, from: data)
    }

    /// End the current session
    ///
    /// The session's refresh tokens stop working at once; its access tokens are refused on
    /// this node at once and on other nodes within the session check interval (30 s).
    ///
    /// `POST /v1/auth/logout` (bearer token)
    public func logout() async throws {
        _ = try await send("POST", "/v1/auth/logout", auth: true)
    }

    /// List your active sessions
    ///
    /// `GET /v1/auth/sessions` (bearer token)
    public func listSessions() async throws -> SessionList {
        let (data, _) = try await send("GET", "/v1/auth/sessions", auth: true)
        return try Self.decoder().decode(SessionList.self, from: data)
    }

    /// End one of your sessions
    ///
    /// A session of another user is `not_found`, as if it did not exist.
    ///
    /// `DELETE /v1/auth/sessions/{sessionId}` (bearer token)
    public func revokeSession(sessionId: String) async throws {
        _ = try await send("DELETE", "/v1/auth/sessions/\(Self.escape(sessionId))", auth: true)
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
    public func exchangeToken(_ body: ExchangeRequest) async throws -> AuthResponse {
        let (data, _) = try await send("POST", "/v1/auth/token", body: try Self.encoder().encode(body))
        return try Self.decoder().decode(AuthResponse.self, from: data)
    }

    /// Link an external identity to your account
    ///
    /// From now on, exchanging ID tokens of this identity signs in to your account. An
    /// anonymous account becomes permanent (same id). `conflict` when the identity is
    /// linked to another account.
    ///
    /// `POST /v1/auth/identities` (bearer token)
    public func linkIdentity(_ body: ExchangeRequest) async throws -> Identity {
        let (data, _) = try await send("POST", "/v1/auth/identities", body: try Self.encoder().encode(body), auth: true)
        return try Self.decoder().decode(Identity.self, from: data)
    }

    /// Email a password reset link
    ///
    /// Always 202, whether or not the email has an account, in the same time (the email
    /// is sent in the background): the answer never reveals which emails have accounts.
    /// Rate limited per IP and per email address.
    ///
    /// `POST /v1/auth/password/forgot`
    public func forgotPassword(_ body: EmailRequest) async throws {
        _ = try await send("POST", "/v1/auth/password/forgot", body: try Self.encoder().encode(body))
    }

    /// Set a new password with a reset token
    ///
    /// The token (from the reset email) works once and expires after an hour. Every
    /// session of the account ends; sign in with the new password.
    ///
    /// `POST /v1/auth/password/reset`
    public func resetPassword(_ body: ResetPasswordRequest) async throws {
        _ = try await send("POST", "/v1/auth/password/reset", body: try Self.encoder().encode(body))
    }

    /// Confirm an email address with a verification token
    ///
    /// `POST /v1/auth/email/verify`
    public func verifyEmail(_ body: TokenRequest) async throws {
        _ = try await send("POST", "/v1/auth/email/verify", body: try Self.encoder().encode(body))
    }

    /// Send a new verification email
    ///
    /// `conflict` when the account has no unverified email. Rate limited per address.
    ///
    /// `POST /v1/auth/email/resend` (bearer token)
    public func resendVerification() async throws {
        _ = try await send("POST", "/v1/auth/email/resend", auth: true)
    }

    /// The public keys that verify access tokens
    ///
    /// A JSON Web Key Set of Ed25519 keys (RFC 8037). After a key rotation it lists the new
    /// key and the old ones until every token they signed has expired; verifiers should
    /// refetch it when a token names an unknown `kid`.
    ///
    /// `GET /.well-known/jwks.json`
    public func getJWKS() async throws -> JWKS {
        let (data, _) = try await send("GET", "/.well-known/jwks.json")
        return try Self.decoder().decode(JWKS.self, from: data)
    }

    /// Your account
    ///
    /// `GET /v1/me` (bearer token)
    public func getMe() async throws -> User {
        let (data, _) = try await send("GET", "/v1/me", auth: true)
        return try Self.decoder().decode(User.self, from: data)
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
    public func updateMe(_ body: MeUpdate) async throws -> User {
        let (data, _) = try await send("PATCH", "/v1/me", body: try Self.encoder().encode(body), auth: true)
        return try Self.decoder().decode(User.self, from: data)
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
    public func deleteMe() async throws {
        _ = try await send("DELETE", "/v1/me", auth: true)
    }

    /// List users
    ///
    /// Users in creation order, a page at a time. Follow `next` for the next page.
    ///
    /// `GET /v1/admin/users` (bearer token)
    public func adminListUsers(email: String? = nil, after: String? = nil, limit: Int? = nil) async throws -> UserPage {
        var query: [URLQueryItem] = []
        if let value = email { query.append(URLQueryItem(name: "email", value: value)) }
        if let value = after { query.append(URLQueryItem(name: "after", value: value)) }
        if let value = limit { query.append(URLQueryItem(name: "limit", value: String(value))) }
        let (data, _) = try await send("GET", "/v1/admin/users", query: query, auth: true)
        return try Self.decoder().decode(UserPage.self, from: data)
    }

    /// Get a user
    ///
    /// `GET /v1/admin/users/{userId}` (bearer token)
    public func adminGetUser(userId: String) async throws -> User {
        let (data, _) = try await send("GET", "/v1/admin/users/\(Self.escape(userId))", auth: true)
        return try Self.decoder().decode(User.self, from: data)
    }

    /// Disable a user, set roles, mark the email verified
    ///
    /// Absent fields stay as they are. Disabling a user ends their sessions. Admins cannot
    /// disable themselves or take their own `admin` role away (`forbidden`).
    ///
    /// `PATCH /v1/admin/users/{userId}` (bearer token)
    public func adminUpdateUser(userId: String, _ body: AdminUserUpdate) async throws -> User {
        let (data, _) = try await send("PATCH", "/v1/admin/users/\(Self.escape(userId))", body: try Self.encoder().encode(body), auth: true)
        return try Self.decoder().decode(User.self, from: data)
    }

    /// Delete a user and everything they own
    ///
    /// As `DELETE /v1/me` does for the caller's own account.
    ///
    /// `DELETE /v1/admin/users/{userId}` (bearer token)
    public func adminDeleteUser(userId: String) async throws {
        _ = try await send("DELETE", "/v1/admin/users/\(Self.escape(userId))", auth: true)
    }

    /// List a user's active sessions
    ///
    /// `GET /v1/admin/users/{userId}/sessions` (bearer token)
    public func adminListUserSessions(userId: String) async throws -> SessionList {
        let (data, _) = try await send("GET", "/v1/admin/users/\(Self.escape(userId))/sessions", auth: true)
        return try Self.decoder().decode(SessionList.self, from: data)
    }

    /// List admin API keys
    ///
    /// The keys themselves are never shown again; `prefix` tells them apart.
    ///
    /// `GET /v1/admin/keys` (bearer token)
    public func adminListKeys() async throws -> AdminKeyList {
        let (data, _) = try await send("GET", "/v1/admin/keys", auth: true)
        return try Self.decoder().decode(AdminKeyList.self, from: data)
    }

    /// Create an admin API key
    ///
    /// The response holds the key (`secret`) this once; only its hash is stored.
    ///
    /// `POST /v1/admin/keys` (bearer token)
    public func adminCreateKey(_ body: AdminKeyRequest) async throws -> CreatedAdminKey {
        let (data, _) = try await send("POST", "/v1/admin/keys", body: try Self.encoder().encode(body), auth: true)
        return try Self.decoder().decode(CreatedAdminKey.self, from: data)
    }

    /// Revoke an admin API key
    ///
    /// `DELETE /v1/admin/keys/{keyId}` (bearer token)
    public func adminDeleteKey(keyId: String) async throws {
        _ = try await send("DELETE", "/v1/admin/keys/\(Self.escape(keyId))", auth: true)
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
    public func adminListAudit(userId: String? = nil, type: String? = nil, before: String? = nil, limit: Int? = nil) async throws -> AuditPage {
        var query: [URLQueryItem] = []
        if let value = userId { query.append(URLQueryItem(name: "userId", value: value)) }
        if let value = type { query.append(URLQueryItem(name: "type", value: value)) }
        if let value = before { query.append(URLQueryItem(name: "before", value: value)) }
        if let value = limit { query.append(URLQueryItem(name: "limit", value: String(value))) }
        let (data, _) = try await send("GET", "/v1/admin/audit", query: query, auth: true)
        return try Self.decoder().decode(AuditPage.self, from: data)
    }

    /// Rotate the access token signing key
    ///
    /// A new key signs from now on; tokens signed by the old keys keep working until they
    /// expire, so nobody is signed out. `api keys rotate` does the same from the command line.
    ///
    /// `POST /v1/admin/signing-keys/rotate` (bearer token)
    public func adminRotateSigningKey() async throws -> AdminRotateSigningKeyResponse {
        let (data, _) = try await send("POST", "/v1/admin/signing-keys/rotate", auth: true)
        return try Self.decoder().decode(AdminRotateSigningKeyResponse.self, from: data)
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
    public func syncPush(_ body: PushRequest) async throws -> PushResponse {
        let (data, _) = try await send("POST", "/v1/sync/push", body: try Self.encoder().encode(body), auth: true)
        return try Self.decoder().decode(PushResponse.self, from: data)
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
    public func syncPull(_ body: PullRequest? = nil) async throws -> PullResponse {
        let payload = try body.map { try Self.encoder().encode($0) }
        let (data, _) = try await send("POST", "/v1/sync/pull", body: payload, auth: true)
        return try Self.decoder().decode(PullResponse.self, from: data)
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
    public func syncStreamURL(accessToken: String? = nil, `protocol`: Int? = nil) throws -> URL {
        var query: [URLQueryItem] = []
        if let value = accessToken { query.append(URLQueryItem(name: "access_token", value: value)) }
        if let value = `protocol` { query.append(URLQueryItem(name: "protocol", value: String(value))) }
        return try url("/v1/sync/stream", query: query)
    }

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
    public func syncEventsURL(accessToken: String? = nil, `protocol`: Int? = nil) throws -> URL {
        var query: [URLQueryItem] = []
        if let value = accessToken { query.append(URLQueryItem(name: "access_token", value: value)) }
        if let value = `protocol` { query.append(URLQueryItem(name: "protocol", value: String(value))) }
        return try url("/v1/sync/events", query: query)
    }

    /// Your groups
    ///
    /// `GET /v1/groups` (bearer token)
    public func listGroups() async throws -> GroupList {
        let (data, _) = try await send("GET", "/v1/groups", auth: true)
        return try Self.decoder().decode(GroupList.self, from: data)
    }

    /// Create a group
    ///
    /// You become its owner and first member. Share a document of an `owner-shared`
    /// collection with the group through its `_acl` (`group:<id>`); members read it (and
    /// write it, when named in `write`) through the bucket `group:<id>`.
    ///
    /// `POST /v1/groups` (bearer token)
    public func createGroup(_ body: CreateGroupRequest) async throws -> Group {
        let (data, _) = try await send("POST", "/v1/groups", body: try Self.encoder().encode(body), auth: true)
        return try Self.decoder().decode(Group.self, from: data)
    }

    /// A group's members
    ///
    /// For its members and admins; for anyone else the group does not exist (404).
    ///
    /// `GET /v1/groups/{groupId}/members` (bearer token)
    public func listGroupMembers(groupId: String) async throws -> MemberList {
        let (data, _) = try await send("GET", "/v1/groups/\(Self.escape(groupId))/members", auth: true)
        return try Self.decoder().decode(MemberList.self, from: data)
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
    public func addGroupMember(groupId: String, userId: String) async throws {
        _ = try await send("POST", "/v1/groups/\(Self.escape(groupId))/members/\(Self.escape(userId))", auth: true)
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
    public func removeGroupMember(groupId: String, userId: String) async throws {
        _ = try await send("DELETE", "/v1/groups/\(Self.escape(groupId))/members/\(Self.escape(userId))", auth: true)
    }

    /// List configured collections
    ///
    /// `GET /v1/admin/collections` (bearer token)
    public func adminListCollections() async throws -> CollectionList {
        let (data, _) = try await send("GET", "/v1/admin/collections", auth: true)
        return try Self.decoder().decode(CollectionList.self, from: data)
    }

    /// Get a collection's configuration
    ///
    /// `GET /v1/admin/collections/{name}` (bearer token)
    public func adminGetCollection(name: String) async throws -> CollectionConfig {
        let (data, _) = try await send("GET", "/v1/admin/collections/\(Self.escape(name))", auth: true)
        return try Self.decoder().decode(CollectionConfig.self, from: data)
    }

    /// Create or replace a collection's configuration
    ///
    /// Applies to pushes on every node within 5 seconds. A collection defined in the
    /// configuration file cannot be changed here (`conflict`). Changing `read` between
    /// `owner` and the other rules does not move existing documents (owner collections keep
    /// each user's documents in a namespace of their own).
    ///
    /// `PUT /v1/admin/collections/{name}` (bearer token)
    public func adminPutCollection(name: String, _ body: CollectionSettings) async throws -> CollectionConfig {
        let (data, _) = try await send("PUT", "/v1/admin/collections/\(Self.escape(name))", body: try Self.encoder().encode(body), auth: true)
        return try Self.decoder().decode(CollectionConfig.self, from: data)
    }

    /// Remove a collection's configuration
    ///
    /// The documents stay; the collection behaves as unconfigured (owner-private, lww).
    ///
    /// `DELETE /v1/admin/collections/{name}` (bearer token)
    public func adminDeleteCollection(name: String) async throws {
        _ = try await send("DELETE", "/v1/admin/collections/\(Self.escape(name))", auth: true)
    }

    /// Liveness
    ///
    /// Answers 200 while the process runs and serves HTTP. It does not touch the storage
    /// engine: use `/readyz` for that.
    ///
    /// `GET /healthz`
    public func getHealthz() async throws -> Health {
        let (data, _) = try await send("GET", "/healthz")
        return try Self.decoder().decode(Health.self, from: data)
    }

    /// Readiness
    ///
    /// Answers 200 when the storage engine answers a ping within two seconds (on MongoDB,
    /// the replica set's primary, which serves every read and write), and 503 with code
    /// `unavailable` otherwise. Load balancers should route traffic only to ready nodes.
    ///
    /// `GET /readyz`
    public func getReadyz() async throws -> Readiness {
        let (data, _) = try await send("GET", "/readyz")
        return try Self.decoder().decode(Readiness.self, from: data)
    }

    /// Prometheus metrics
    ///
    /// Metrics in the Prometheus text exposition format: Go runtime and process metrics,
    /// `tideline_http_requests_total{method,route,status}` and
    /// `tideline_http_request_duration_seconds{method,route}`. Restrict access to it at the
    /// network or proxy level in production.
    ///
    /// `GET /metrics`
    public func getMetrics() async throws -> String {
        let (data, _) = try await send("GET", "/metrics")
        return String(decoding: data, as: UTF8.self)
    }

    /// This API description
    ///
    /// The OpenAPI document the server was built from, byte for byte.
    ///
    /// `GET /openapi.yaml`
    public func getOpenAPI() async throws -> String {
        let (data, _) = try await send("GET", "/openapi.yaml")
        return String(decoding: data, as: UTF8.self)
    }

    /// The icon browsers show
    ///
    /// The icon of the API reference and the admin console, cached for a day.
    ///
    /// `GET /favicon.ico`
    public func getFavicon() async throws -> String {
        let (data, _) = try await send("GET", "/favicon.ico")
        return String(decoding: data, as: UTF8.self)
    }

    /// API reference
    ///
    /// A readable reference of this API rendered from the OpenAPI document, served from
    /// assets embedded in the binary (no CDN, no script).
    ///
    /// `GET /docs`
    public func getDocs() async throws -> String {
        let (data, _) = try await send("GET", "/docs")
        return String(decoding: data, as: UTF8.self)
    }

    /// Your devices
    ///
    /// `GET /v1/devices` (bearer token)
    public func listDevices() async throws -> PushDeviceList {
        let (data, _) = try await send("GET", "/v1/devices", auth: true)
        return try Self.decoder().decode(PushDeviceList.self, from: data)
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
    public func registerDevice(_ body: DeviceRegistration) async throws -> PushDevice {
        let (data, _) = try await send("POST", "/v1/devices", body: try Self.encoder().encode(body), auth: true)
        return try Self.decoder().decode(PushDevice.self, from: data)
    }

    /// Remove one of your devices
    ///
    /// The install gets no more pushes, and leaves its topics.
    ///
    /// `DELETE /v1/devices/{deviceId}` (bearer token)
    public func deleteDevice(deviceId: String) async throws {
        _ = try await send("DELETE", "/v1/devices/\(Self.escape(deviceId))", auth: true)
    }

    /// Subscribe one of your devices to a topic
    ///
    /// Idempotent. A device may be in at most 200 topics (413 past that).
    ///
    /// `PUT /v1/devices/{deviceId}/topics/{topic}` (bearer token)
    public func subscribeTopic(deviceId: String, topic: String) async throws {
        _ = try await send("PUT", "/v1/devices/\(Self.escape(deviceId))/topics/\(Self.escape(topic))", auth: true)
    }

    /// Unsubscribe one of your devices from a topic
    ///
    /// Idempotent.
    ///
    /// `DELETE /v1/devices/{deviceId}/topics/{topic}` (bearer token)
    public func unsubscribeTopic(deviceId: String, topic: String) async throws {
        _ = try await send("DELETE", "/v1/devices/\(Self.escape(deviceId))/topics/\(Self.escape(topic))", auth: true)
    }

    /// Push topics and their sizes
    ///
    /// `GET /v1/admin/push/topics` (bearer token)
    public func adminListTopics() async throws -> TopicList {
        let (data, _) = try await send("GET", "/v1/admin/push/topics", auth: true)
        return try Self.decoder().decode(TopicList.self, from: data)
    }

    /// Send a push campaign
    ///
    /// Queues a notification to an audience: all devices, some users, some devices, a
    /// topic, or a segment. Delivery is durable and asynchronous: follow the campaign with
    /// `GET /v1/admin/push/campaigns/{campaignId}`. With the same `idempotencyKey` as an
    /// earlier campaign, nothing new is queued and that campaign is returned.
    ///
    /// `POST /v1/admin/push/campaigns` (bearer token)
    public func adminCreateCampaign(_ body: CampaignRequest) async throws -> Campaign {
        let (data, _) = try await send("POST", "/v1/admin/push/campaigns", body: try Self.encoder().encode(body), auth: true)
        return try Self.decoder().decode(Campaign.self, from: data)
    }

    /// Campaigns, newest first
    ///
    /// `GET /v1/admin/push/campaigns` (bearer token)
    public func adminListCampaigns(before: String? = nil, limit: Int? = nil) async throws -> CampaignPage {
        var query: [URLQueryItem] = []
        if let value = before { query.append(URLQueryItem(name: "before", value: value)) }
        if let value = limit { query.append(URLQueryItem(name: "limit", value: String(value))) }
        let (data, _) = try await send("GET", "/v1/admin/push/campaigns", query: query, auth: true)
        return try Self.decoder().decode(CampaignPage.self, from: data)
    }

    /// A campaign with its counts and first errors
    ///
    /// `GET /v1/admin/push/campaigns/{campaignId}` (bearer token)
    public func adminGetCampaign(campaignId: String) async throws -> Campaign {
        let (data, _) = try await send("GET", "/v1/admin/push/campaigns/\(Self.escape(campaignId))", auth: true)
        return try Self.decoder().decode(Campaign.self, from: data)
    }

    /// Cancel a queued or sending campaign
    ///
    /// What was not sent yet never is. A completed or cancelled campaign answers 409.
    ///
    /// `POST /v1/admin/push/campaigns/{campaignId}/cancel` (bearer token)
    public func adminCancelCampaign(campaignId: String) async throws -> Campaign {
        let (data, _) = try await send("POST", "/v1/admin/push/campaigns/\(Self.escape(campaignId))/cancel", auth: true)
        return try Self.decoder().decode(Campaign.self, from: data)
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
    public func createFileUrl(fileId: String, collection: String? = nil, doc: String? = nil) async throws -> FileUrl {
        var query: [URLQueryItem] = []
        if let value = collection { query.append(URLQueryItem(name: "collection", value: value)) }
        if let value = doc { query.append(URLQueryItem(name: "doc", value: value)) }
        let (data, _) = try await send("POST", "/v1/files/\(Self.escape(fileId))/url", query: query, auth: true)
        return try Self.decoder().decode(FileUrl.self, from: data)
    }
}

public struct FileUrl: Codable, Sendable, Equatable {
    /// The path and query of the download, relative to the server's base URL.
    public let url: String
    /// When the URL stops working.
    public let expiresAt: Date

    public init(url: String, expiresAt: Date) {
        self.url = url
        self.expiresAt = expiresAt
    }

    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: JSONKey.self)
        url = try c.decode(String.self, forKey: JSONKey("url"))
        expiresAt = try c.decode(Date.self, forKey: JSONKey("expiresAt"))
    }

    public func encode(to encoder: Encoder) throws {
        var c = encoder.container(keyedBy: JSONKey.self)
        try c.encode(url, forKey: JSONKey("url"))
        try c.encode(expiresAt, forKey: JSONKey("expiresAt"))
    }
}

public struct PushRequest: Codable, Sendable, Equatable {
    /// The sync protocol version the client speaks (absent - 1). The server answers in `min(this, 2)`, and says which in the response's `protocol`.
    public let `protocol`: Int?
    /// The install's id, chosen by the client once and kept; bound to the first user who pushes with it.
    public let clientId: String
    public let mutations: [Mutation]

    public init(`protocol`: Int? = nil, clientId: String, mutations: [Mutation]) {
        self.`protocol` = `protocol`
        self.clientId = clientId
        self.mutations = mutations
    }

    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: JSONKey.self)
        `protocol` = try c.decodeIfPresent(Int.self, forKey: JSONKey("protocol"))
        clientId = try c.decode(String.self, forKey: JSONKey("clientId"))
        mutations = try c.decode([Mutation].self, forKey: JSONKey("mutations"))
    }

    public func encode(to encoder: Encoder) throws {
        var c = encoder.container(keyedBy: JSONKey.self)
        try c.encodeIfPresent(`protocol`, forKey: JSONKey("protocol"))
        try c.encode(clientId, forKey: JSONKey("clientId"))
        try c.encode(mutations, forKey: JSONKey("mutations"))
    }
}

public struct Mutation: Codable, Sendable, Equatable {
    /// The client's mutation id, strictly increasing per client.
    public let id: Int64
    public let collection: String
    public let docId: String
    public let op: MutationOp
    /// put: the whole document; patch: the top-level fields to set (null unsets).
    public let fields: [String: JSONValue]?
    /// Commutative operations on top-level fields (patch only).
    public let ops: [String: FieldOp]?
    /// Hybrid logical clock stamp `<13-digit ms>-<5-digit counter>-<node>`; absent: the server stamps the mutation.
    public let hlc: String?
    /// The document version the client last saw.
    public let baseVersion: Int64?

    public init(id: Int64, collection: String, docId: String, op: MutationOp, fields: [String: JSONValue]? = nil, ops: [String: FieldOp]? = nil, hlc: String? = nil, baseVersion: Int64? = nil) {
        self.id = id
        self.collection = collection
        self.docId = docId
        self.op = op
        self.fields = fields
        self.ops = ops
        self.hlc = hlc
        self.baseVersion = baseVersion
    }

    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: JSONKey.self)
        id = try c.decode(Int64.self, forKey: JSONKey("id"))
        collection = try c.decode(String.self, forKey: JSONKey("collection"))
        docId = try c.decode(String.self, forKey: JSONKey("docId"))
        op = try c.decode(MutationOp.self, forKey: JSONKey("op"))
        fields = try c.decodeIfPresent([String: JSONValue].self, forKey: JSONKey("fields"))
        ops = try c.decodeIfPresent([String: FieldOp].self, forKey: JSONKey("ops"))
        hlc = try c.decodeIfPresent(String.self, forKey: JSONKey("hlc"))
        baseVersion = try c.decodeIfPresent(Int64.self, forKey: JSONKey("baseVersion"))
    }

    public func encode(to encoder: Encoder) throws {
        var c = encoder.container(keyedBy: JSONKey.self)
        try c.encode(id, forKey: JSONKey("id"))
        try c.encode(collection, forKey: JSONKey("collection"))
        try c.encode(docId, forKey: JSONKey("docId"))
        try c.encode(op, forKey: JSONKey("op"))
        try c.encodeIfPresent(fields, forKey: JSONKey("fields"))
        try c.encodeIfPresent(ops, forKey: JSONKey("ops"))
        try c.encodeIfPresent(hlc, forKey: JSONKey("hlc"))
        try c.encodeIfPresent(baseVersion, forKey: JSONKey("baseVersion"))
    }
}

/// Exactly one operation.
public struct FieldOp: Codable, Sendable, Equatable {
    public let inc: Double?
    public let max: Double?
    public let min: Double?
    public let add: [JSONValue]?
    public let remove: [JSONValue]?

    public init(inc: Double? = nil, max: Double? = nil, min: Double? = nil, add: [JSONValue]? = nil, remove: [JSONValue]? = nil) {
        self.inc = inc
        self.max = max
        self.min = min
        self.add = add
        self.remove = remove
    }

    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: JSONKey.self)
        inc = try c.decodeIfPresent(Double.self, forKey: JSONKey("inc"))
        max = try c.decodeIfPresent(Double.self, forKey: JSONKey("max"))
        min = try c.decodeIfPresent(Double.self, forKey: JSONKey("min"))
        add = try c.decodeIfPresent([JSONValue].self, forKey: JSONKey("add"))
        remove = try c.decodeIfPresent([JSONValue].self, forKey: JSONKey("remove"))
    }

    public func encode(to encoder: Encoder) throws {
        var c = encoder.container(keyedBy: JSONKey.self)
        try c.encodeIfPresent(inc, forKey: JSONKey("inc"))
        try c.encodeIfPresent(max, forKey: JSONKey("max"))
        try c.encodeIfPresent(min, forKey: JSONKey("min"))
        try c.encodeIfPresent(add, forKey: JSONKey("add"))
        try c.encodeIfPresent(remove, forKey: JSONKey("remove"))
    }
}

public struct PushResponse: Codable, Sendable, Equatable {
    /// The sync protocol version of the answer (1 or 2).
    public let `protocol`: Int
    public let receipts: [Receipt]

    public init(`protocol`: Int, receipts: [Receipt]) {
        self.`protocol` = `protocol`
        self.receipts = receipts
    }

    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: JSONKey.self)
        `protocol` = try c.decode(Int.self, forKey: JSONKey("protocol"))
        receipts = try c.decode([Receipt].self, forKey: JSONKey("receipts"))
    }

    public func encode(to encoder: Encoder) throws {
        var c = encoder.container(keyedBy: JSONKey.self)
        try c.encode(`protocol`, forKey: JSONKey("protocol"))
        try c.encode(receipts, forKey: JSONKey("receipts"))
    }
}

public struct Receipt: Codable, Sendable, Equatable {
    public let id: Int64
    public let status: ReceiptStatus
    public let seq: Int64?
    public let version: Int64?
    /// Why a mutation was rejected: invalid, forbidden, too_large, schema_violation, unknown_collection, id_reused.
    public let code: String?
    public let message: String?
    /// The offending field of a rejection, such as `fields.title`.
    public let field: String?
    /// The document after the push (after the whole batch), for merged and conflict receipts and duplicates.
    public let doc: [String: JSONValue]?
    public let deleted: Bool?
    /// The server had processed this mutation before; nothing was applied again. The receipt carries the document as it is now (doc, deleted, seq, version).
    public let duplicate: Bool?
    /// The mutation's HLC was too far ahead of the server's clock; the server's was used.
    public let hlcClamped: Bool?

    public init(id: Int64, status: ReceiptStatus, seq: Int64? = nil, version: Int64? = nil, code: String? = nil, message: String? = nil, field: String? = nil, doc: [String: JSONValue]? = nil, deleted: Bool? = nil, duplicate: Bool? = nil, hlcClamped: Bool? = nil) {
        self.id = id
        self.status = status
        self.seq = seq
        self.version = version
        self.code = code
        self.message = message
        self.field = field
        self.doc = doc
        self.deleted = deleted
        self.duplicate = duplicate
        self.hlcClamped = hlcClamped
    }

    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: JSONKey.self)
        id = try c.decode(Int64.self, forKey: JSONKey("id"))
        status = try c.decode(ReceiptStatus.self, forKey: JSONKey("status"))
        seq = try c.decodeIfPresent(Int64.self, forKey: JSONKey("seq"))
        version = try c.decodeIfPresent(Int64.self, forKey: JSONKey("version"))
        code = try c.decodeIfPresent(String.self, forKey: JSONKey("code"))
        message = try c.decodeIfPresent(String.self, forKey: JSONKey("message"))
        field = try c.decodeIfPresent(String.self, forKey: JSONKey("field"))
        doc = try c.decodeIfPresent([String: JSONValue].self, forKey: JSONKey("doc"))
        deleted = try c.decodeIfPresent(Bool.self, forKey: JSONKey("deleted"))
        duplicate = try c.decodeIfPresent(Bool.self, forKey: JSONKey("duplicate"))
        hlcClamped = try c.decodeIfPresent(Bool.self, forKey: JSONKey("hlcClamped"))
    }

    public func encode(to encoder: Encoder) throws {
        var c = encoder.container(keyedBy: JSONKey.self)
        try c.encode(id, forKey: JSONKey("id"))
        try c.encode(status, forKey: JSONKey("status"))
        try c.encodeIfPresent(seq, forKey: JSONKey("seq"))
        try c.encodeIfPresent(version, forKey: JSONKey("version"))
        try c.encodeIfPresent(code, forKey: JSONKey("code"))
        try c.encodeIfPresent(message, forKey: JSONKey("message"))
        try c.encodeIfPresent(field, forKey: JSONKey("field"))
        try c.encodeIfPresent(doc, forKey: JSONKey("doc"))
        try c.encodeIfPresent(deleted, forKey: JSONKey("deleted"))
        try c.encodeIfPresent(duplicate, forKey: JSONKey("duplicate"))
        try c.encodeIfPresent(hlcClamped, forKey: JSONKey("hlcClamped"))
    }
}

public struct PullRequest: Codable, Sendable, Equatable {
    /// The sync protocol version the client speaks (absent - 1). The server answers in `min(this, 2)`, and says which in the response's `protocol`.
    public let `protocol`: Int?
    /// Protocol 2 - the id of the caller's realtime stream (from its hello). When this page completes the pull (`hasMore` false), the stream takes over and sends the changes after `cursor` itself (`live` true).
    public let stream: String?
    /// The cursor of the previous pull; absent for an initial sync.
    public let cursor: String?
    /// Pull only these collections (at most 100); the subscription may change from one pull to the next with the same cursor.
    public let collections: [String]?
    /// The most changes in the page (default 500).
    public let limit: Int?
    /// The client holds no documents (a new install). Only then does the initial sync of a bucket leave out tombstones and evictions. A client that has pushed before its first pull holds the documents its receipts gave it, so it must not send `fresh`.
    public let fresh: Bool?

    public init(`protocol`: Int? = nil, stream: String? = nil, cursor: String? = nil, collections: [String]? = nil, limit: Int? = nil, fresh: Bool? = nil) {
        self.`protocol` = `protocol`
        self.stream = stream
        self.cursor = cursor
        self.collections = collections
        self.limit = limit
        self.fresh = fresh
    }

    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: JSONKey.self)
        `protocol` = try c.decodeIfPresent(Int.self, forKey: JSONKey("protocol"))
        stream = try c.decodeIfPresent(String.self, forKey: JSONKey("stream"))
        cursor = try c.decodeIfPresent(String.self, forKey: JSONKey("cursor"))
        collections = try c.decodeIfPresent([String].self, forKey: JSONKey("collections"))
        limit = try c.decodeIfPresent(Int.self, forKey: JSONKey("limit"))
        fresh = try c.decodeIfPresent(Bool.self, forKey: JSONKey("fresh"))
    }

    public func encode(to encoder: Encoder) throws {
        var c = encoder.container(keyedBy: JSONKey.self)
        try c.encodeIfPresent(`protocol`, forKey: JSONKey("protocol"))
        try c.encodeIfPresent(stream, forKey: JSONKey("stream"))
        try c.encodeIfPresent(cursor, forKey: JSONKey("cursor"))
        try c.encodeIfPresent(collections, forKey: JSONKey("collections"))
        try c.encodeIfPresent(limit, forKey: JSONKey("limit"))
        try c.encodeIfPresent(fresh, forKey: JSONKey("fresh"))
    }
}

public struct PullResponse: Codable, Sendable, Equatable {
    /// The sync protocol version of the answer (1 or 2).
    public let `protocol`: Int
    /// Protocol 2 - the request's stream took over from this page's cursor - it sends the later changes itself until it pokes. Absent - it did not (no stream named, more pages to come, another node's stream, a subscription or reset under way), and it pokes as in protocol 1.
    public let live: Bool?
    /// The collections the cursor covers now (absent - all). Drop local documents of collections no longer covered.
    public let collections: [String]?
    /// Buckets the caller no longer reads (left a group, lost a role). Drop the local documents left in none of your buckets.
    public let removedBuckets: [String]?
    /// Buckets synced again from the start because the cursor is older than the server keeps deletions. Mark your local documents of these buckets; keep those sent again; drop the others at resetComplete. Pending local writes are kept.
    public let resetBuckets: [String]?
    /// Reset buckets whose new sync is complete - drop their marked documents that were not sent again.
    public let resetComplete: [String]?
    public let changes: [Change]
    public let cursor: String
    public let hasMore: Bool

    public init(`protocol`: Int, live: Bool? = nil, collections: [String]? = nil, removedBuckets: [String]? = nil, resetBuckets: [String]? = nil, resetComplete: [String]? = nil, changes: [Change], cursor: String, hasMore: Bool) {
        self.`protocol` = `protocol`
        self.live = live
        self.collections = collections
        self.removedBuckets = removedBuckets
        self.resetBuckets = resetBuckets
        self.resetComplete = resetComplete
        self.changes = changes
        self.cursor = cursor
        self.hasMore = hasMore
    }

    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: JSONKey.self)
        `protocol` = try c.decode(Int.self, forKey: JSONKey("protocol"))
        live = try c.decodeIfPresent(Bool.self, forKey: JSONKey("live"))
        collections = try c.decodeIfPresent([String].self, forKey: JSONKey("collections"))
        removedBuckets = try c.decodeIfPresent([String].self, forKey: JSONKey("removedBuckets"))
        resetBuckets = try c.decodeIfPresent([String].self, forKey: JSONKey("resetBuckets"))
        resetComplete = try c.decodeIfPresent([String].self, forKey: JSONKey("resetComplete"))
        changes = try c.decode([Change].self, forKey: JSONKey("changes"))
        cursor = try c.decode(String.self, forKey: JSONKey("cursor"))
        hasMore = try c.decode(Bool.self, forKey: JSONKey("hasMore"))
    }

    public func encode(to encoder: Encoder) throws {
        var c = encoder.container(keyedBy: JSONKey.self)
        try c.encode(`protocol`, forKey: JSONKey("protocol"))
        try c.encodeIfPresent(live, forKey: JSONKey("live"))
        try c.encodeIfPresent(collections, forKey: JSONKey("collections"))
        try c.encodeIfPresent(removedBuckets, forKey: JSONKey("removedBuckets"))
        try c.encodeIfPresent(resetBuckets, forKey: JSONKey("resetBuckets"))
        try c.encodeIfPresent(resetComplete, forKey: JSONKey("resetComplete"))
        try c.encode(changes, forKey: JSONKey("changes"))
        try c.encode(cursor, forKey: JSONKey("cursor"))
        try c.encode(hasMore, forKey: JSONKey("hasMore"))
    }
}

/// A message of the realtime stream (a WebSocket text message, or the data of a server-sent event with protocol 2). `hello` - connected (pull now; protocol 2 - with the stream's id). `poke` - changes up to `seq` are waiting - pull. `changes` (protocol 2) - the changes after the last message's cursor, up to `seq`, applied exactly as a pull page, with the new `cursor`. `expired` - renew the access token. Other types are ignored.
public struct StreamMessage: Codable, Sendable, Equatable {
    public let type: StreamMessageType
    /// The watermark the message is at.
    public let seq: Int64?
    /// hello, protocol 2 - the protocol of the stream.
    public let `protocol`: Int?
    /// hello, protocol 2 - the stream's id, for PullRequest.stream.
    public let stream: String?
    public let changes: [Change]?
    /// changes - the cursor after them, signed for this stream.
    public let cursor: String?

    public init(type: StreamMessageType, seq: Int64? = nil, `protocol`: Int? = nil, stream: String? = nil, changes: [Change]? = nil, cursor: String? = nil) {
        self.type = type
        self.seq = seq
        self.`protocol` = `protocol`
        self.stream = stream
        self.changes = changes
        self.cursor = cursor
    }

    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: JSONKey.self)
        type = try c.decode(StreamMessageType.self, forKey: JSONKey("type"))
        seq = try c.decodeIfPresent(Int64.self, forKey: JSONKey("seq"))
        `protocol` = try c.decodeIfPresent(Int.self, forKey: JSONKey("protocol"))
        stream = try c.decodeIfPresent(String.self, forKey: JSONKey("stream"))
        changes = try c.decodeIfPresent([Change].self, forKey: JSONKey("changes"))
        cursor = try c.decodeIfPresent(String.self, forKey: JSONKey("cursor"))
    }

    public func encode(to encoder: Encoder) throws {
        var c = encoder.container(keyedBy: JSONKey.self)
        try c.encode(type, forKey: JSONKey("type"))
        try c.encodeIfPresent(seq, forKey: JSONKey("seq"))
        try c.encodeIfPresent(`protocol`, forKey: JSONKey("protocol"))
        try c.encodeIfPresent(stream, forKey: JSONKey("stream"))
        try c.encodeIfPresent(changes, forKey: JSONKey("changes"))
        try c.encodeIfPresent(cursor, forKey: JSONKey("cursor"))
    }
}

public struct Change: Codable, Sendable, Equatable {
    public let collection: String
    public let docId: String
    /// upsert: replace the local document with `doc`. delete: remove it (a tombstone). evict: the caller may no longer read it (it was unshared, or left the caller's buckets): drop it.
    public let op: ChangeOp
    /// The document, for upserts.
    public let doc: [String: JSONValue]?
    public let version: Int64
    public let seq: Int64
    /// The document's buckets that the caller is in (empty for an evict).
    public let buckets: [String]

    public init(collection: String, docId: String, op: ChangeOp, doc: [String: JSONValue]? = nil, version: Int64, seq: Int64, buckets: [String]) {
        self.collection = collection
        self.docId = docId
        self.op = op
        self.doc = doc
        self.version = version
        self.seq = seq
        self.buckets = buckets
    }

    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: JSONKey.self)
        collection = try c.decode(String.self, forKey: JSONKey("collection"))
        docId = try c.decode(String.self, forKey: JSONKey("docId"))
        op = try c.decode(ChangeOp.self, forKey: JSONKey("op"))
        doc = try c.decodeIfPresent([String: JSONValue].self, forKey: JSONKey("doc"))
        version = try c.decode(Int64.self, forKey: JSONKey("version"))
        seq = try c.decode(Int64.self, forKey: JSONKey("seq"))
        buckets = try c.decode([String].self, forKey: JSONKey("buckets"))
    }

    public func encode(to encoder: Encoder) throws {
        var c = encoder.container(keyedBy: JSONKey.self)
        try c.encode(collection, forKey: JSONKey("collection"))
        try c.encode(docId, forKey: JSONKey("docId"))
        try c.encode(op, forKey: JSONKey("op"))
        try c.encodeIfPresent(doc, forKey: JSONKey("doc"))
        try c.encode(version, forKey: JSONKey("version"))
        try c.encode(seq, forKey: JSONKey("seq"))
        try c.encode(buckets, forKey: JSONKey("buckets"))
    }
}

public struct DeviceRegistration: Codable, Sendable, Equatable {
    /// Generated by the app once per install (a UUID); 1 to 128 of `A-Za-z0-9._:-`.
    public let deviceId: String
    public let platform: DeviceRegistrationPlatform
    /// The FCM registration token. Absent or empty while the user has not allowed notifications.
    public let pushToken: String?
    /// Such as `2.3.1`; campaigns can target version ranges.
    public let appVersion: String?
    /// A BCP 47 language tag, such as `en-GB`.
    public let locale: String?
    /// An IANA time zone, such as `Europe/Rome`, for sends at a local time. Absent means UTC.
    public let timezone: String?

    public init(deviceId: String, platform: DeviceRegistrationPlatform, pushToken: String? = nil, appVersion: String? = nil, locale: String? = nil, timezone: String? = nil) {
        self.deviceId = deviceId
        self.platform = platform
        self.pushToken = pushToken
        self.appVersion = appVersion
        self.locale = locale
        self.timezone = timezone
    }

    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: JSONKey.self)
        deviceId = try c.decode(String.self, forKey: JSONKey("deviceId"))
        platform = try c.decode(DeviceRegistrationPlatform.self, forKey: JSONKey("platform"))
        pushToken = try c.decodeIfPresent(String.self, forKey: JSONKey("pushToken"))
        appVersion = try c.decodeIfPresent(String.self, forKey: JSONKey("appVersion"))
        locale = try c.decodeIfPresent(String.self, forKey: JSONKey("locale"))
        timezone = try c.decodeIfPresent(String.self, forKey: JSONKey("timezone"))
    }

    public func encode(to encoder: Encoder) throws {
        var c = encoder.container(keyedBy: JSONKey.self)
        try c.encode(deviceId, forKey: JSONKey("deviceId"))
        try c.encode(platform, forKey: JSONKey("platform"))
        try c.encodeIfPresent(pushToken, forKey: JSONKey("pushToken"))
        try c.encodeIfPresent(appVersion, forKey: JSONKey("appVersion"))
        try c.encodeIfPresent(locale, forKey: JSONKey("locale"))
        try c.encodeIfPresent(timezone, forKey: JSONKey("timezone"))
    }
}

public struct PushDevice: Codable, Sendable, Equatable {
    /// The server's id of this device (admins target it).
    public let id: String
    public let deviceId: String
    public let platform: PushDevicePlatform
    /// Whether pushes can reach it (a token is registered and its session has not ended).
    public let hasPushToken: Bool
    public let appVersion: String?
    public let locale: String?
    public let timezone: String?
    public let topics: [String]
    public let createdAt: Date
    public let lastSeen: Date
    /// Registered by the session making this request.
    public let current: Bool

    public init(id: String, deviceId: String, platform: PushDevicePlatform, hasPushToken: Bool, appVersion: String? = nil, locale: String? = nil, timezone: String? = nil, topics: [String], createdAt: Date, lastSeen: Date, current: Bool) {
        self.id = id
        self.deviceId = deviceId
        self.platform = platform
        self.hasPushToken = hasPushToken
        self.appVersion = appVersion
        self.locale = locale
        self.timezone = timezone
        self.topics = topics
        self.createdAt = createdAt
        self.lastSeen = lastSeen
        self.current = current
    }

    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: JSONKey.self)
        id = try c.decode(String.self, forKey: JSONKey("id"))
        deviceId = try c.decode(String.self, forKey: JSONKey("deviceId"))
        platform = try c.decode(PushDevicePlatform.self, forKey: JSONKey("platform"))
        hasPushToken = try c.decode(Bool.self, forKey: JSONKey("hasPushToken"))
        appVersion = try c.decodeIfPresent(String.self, forKey: JSONKey("appVersion"))
        locale = try c.decodeIfPresent(String.self, forKey: JSONKey("locale"))
        timezone = try c.decodeIfPresent(String.self, forKey: JSONKey("timezone"))
        topics = try c.decode([String].self, forKey: JSONKey("topics"))
        createdAt = try c.decode(Date.self, forKey: JSONKey("createdAt"))
        lastSeen = try c.decode(Date.self, forKey: JSONKey("lastSeen"))
        current = try c.decode(Bool.self, forKey: JSONKey("current"))
    }

    public func encode(to encoder: Encoder) throws {
        var c = encoder.container(keyedBy: JSONKey.self)
        try c.encode(id, forKey: JSONKey("id"))
        try c.encode(deviceId, forKey: JSONKey("deviceId"))
        try c.encode(platform, forKey: JSONKey("platform"))
        try c.encode(hasPushToken, forKey: JSONKey("hasPushToken"))
        try c.encodeIfPresent(appVersion, forKey: JSONKey("appVersion"))
        try c.encodeIfPresent(locale, forKey: JSONKey("locale"))
        try c.encodeIfPresent(timezone, forKey: JSONKey("timezone"))
        try c.encode(topics, forKey: JSONKey("topics"))
        try c.encode(createdAt, forKey: JSONKey("createdAt"))
        try c.encode(lastSeen, forKey: JSONKey("lastSeen"))
        try c.encode(current, forKey: JSONKey("current"))
    }
}

public struct PushDeviceList: Codable, Sendable, Equatable {
    public let devices: [PushDevice]

    public init(devices: [PushDevice]) {
        self.devices = devices
    }

    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: JSONKey.self)
        devices = try c.decode([PushDevice].self, forKey: JSONKey("devices"))
    }

    public func encode(to encoder: Encoder) throws {
        var c = encoder.container(keyedBy: JSONKey.self)
        try c.encode(devices, forKey: JSONKey("devices"))
    }
}

public struct TopicList: Codable, Sendable, Equatable {
    public let topics: [TopicCount]

    public init(topics: [TopicCount]) {
        self.topics = topics
    }

    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: JSONKey.self)
        topics = try c.decode([TopicCount].self, forKey: JSONKey("topics"))
    }

    public func encode(to encoder: Encoder) throws {
        var c = encoder.container(keyedBy: JSONKey.self)
        try c.encode(topics, forKey: JSONKey("topics"))
    }
}

/// Exactly one of `all`, `userIds`, `deviceIds`, `topic` and `segment`. Only devices with a push token are reached.
public struct CampaignTarget: Codable, Sendable, Equatable {
    /// Every device.
    public let all: Bool?
    /// Every device of these users.
    public let userIds: [String]?
    /// These devices, by the server's `id` of each (not the app's `deviceId`).
    public let deviceIds: [String]?
    /// The devices subscribed to this topic; a topic no device is in is refused (400), which catches typos.
    public let topic: String?
    /// Devices matching every condition given (an empty segment is every device).
    public let segment: CampaignSegment?

    public init(all: Bool? = nil, userIds: [String]? = nil, deviceIds: [String]? = nil, topic: String? = nil, segment: CampaignSegment? = nil) {
        self.all = all
        self.userIds = userIds
        self.deviceIds = deviceIds
        self.topic = topic
        self.segment = segment
    }

    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: JSONKey.self)
        all = try c.decodeIfPresent(Bool.self, forKey: JSONKey("all"))
        userIds = try c.decodeIfPresent([String].self, forKey: JSONKey("userIds"))
        deviceIds = try c.decodeIfPresent([String].self, forKey: JSONKey("deviceIds"))
        topic = try c.decodeIfPresent(String.self, forKey: JSONKey("topic"))
        segment = try c.decodeIfPresent(CampaignSegment.self, forKey: JSONKey("segment"))
    }

    public func encode(to encoder: Encoder) throws {
        var c = encoder.container(keyedBy: JSONKey.self)
        try c.encodeIfPresent(all, forKey: JSONKey("all"))
        try c.encodeIfPresent(userIds, forKey: JSONKey("userIds"))
        try c.encodeIfPresent(deviceIds, forKey: JSONKey("deviceIds"))
        try c.encodeIfPresent(topic, forKey: JSONKey("topic"))
        try c.encodeIfPresent(segment, forKey: JSONKey("segment"))
    }
}

/// Devices matching every condition given (an empty segment is every device).
public struct CampaignSegment: Codable, Sendable, Equatable {
    public let platforms: [CampaignSegmentPlatformsItem]?
    /// Inclusive; versions compare as dotted numbers (2.10 is above 2.9). Devices without a version are outside any bound.
    public let minAppVersion: String?
    /// Inclusive.
    public let maxAppVersion: String?
    /// A device matches a locale exactly, or by its language (`en` matches `en-GB`).
    public let locales: [String]?
    /// Devices that registered (opened the app) within this many seconds before the send.
    public let lastSeenWithinSeconds: Int64?

    public init(platforms: [CampaignSegmentPlatformsItem]? = nil, minAppVersion: String? = nil, maxAppVersion: String? = nil, locales: [String]? = nil, lastSeenWithinSeconds: Int64? = nil) {
        self.platforms = platforms
        self.minAppVersion = minAppVersion
        self.maxAppVersion = maxAppVersion
        self.locales = locales
        self.lastSeenWithinSeconds = lastSeenWithinSeconds
    }

    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: JSONKey.self)
        platforms = try c.decodeIfPresent([CampaignSegmentPlatformsItem].self, forKey: JSONKey("platforms"))
        minAppVersion = try c.decodeIfPresent(String.self, forKey: JSONKey("minAppVersion"))
        maxAppVersion = try c.decodeIfPresent(String.self, forKey: JSONKey("maxAppVersion"))
        locales = try c.decodeIfPresent([String].self, forKey: JSONKey("locales"))
        lastSeenWithinSeconds = try c.decodeIfPresent(Int64.self, forKey: JSONKey("lastSeenWithinSeconds"))
    }

    public func encode(to encoder: Encoder) throws {
        var c = encoder.container(keyedBy: JSONKey.self)
        try c.encodeIfPresent(platforms, forKey: JSONKey("platforms"))
        try c.encodeIfPresent(minAppVersion, forKey: JSONKey("minAppVersion"))
        try c.encodeIfPresent(maxAppVersion, forKey: JSONKey("maxAppVersion"))
        try c.encodeIfPresent(locales, forKey: JSONKey("locales"))
        try c.encodeIfPresent(lastSeenWithinSeconds, forKey: JSONKey("lastSeenWithinSeconds"))
    }
}

public struct CampaignNotification: Codable, Sendable, Equatable {
    public let title: String?
    public let body: String?
    /// An https URL of an image shown with the notification.
    public let imageUrl: String?

    public init(title: String? = nil, body: String? = nil, imageUrl: String? = nil) {
        self.title = title
        self.body = body
        self.imageUrl = imageUrl
    }

    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: JSONKey.self)
        title = try c.decodeIfPresent(String.self, forKey: JSONKey("title"))
        body = try c.decodeIfPresent(String.self, forKey: JSONKey("body"))
        imageUrl = try c.decodeIfPresent(String.self, forKey: JSONKey("imageUrl"))
    }

    public func encode(to encoder: Encoder) throws {
        var c = encoder.container(keyedBy: JSONKey.self)
        try c.encodeIfPresent(title, forKey: JSONKey("title"))
        try c.encodeIfPresent(body, forKey: JSONKey("body"))
        try c.encodeIfPresent(imageUrl, forKey: JSONKey("imageUrl"))
    }
}

public struct CampaignOptions: Codable, Sendable, Equatable {
    /// high (the default) is delivered at once; normal may wait for the device to wake.
    public let priority: CampaignOptionsPriority?
    /// How long FCM keeps trying to reach an offline device (0 or absent - FCM's default of 4 weeks).
    public let ttlSeconds: Int64?
    /// Messages with one collapse key replace each other while a device is offline.
    public let collapseKey: String?
    /// The app icon's badge (iOS).
    public let badge: Int?
    /// `default` or the name of a sound file in the app.
    public let sound: String?
    /// Data only, shows nothing; wakes the app (APNs content-available). Leave out `notification`.
    public let silent: Bool?

    public init(priority: CampaignOptionsPriority? = nil, ttlSeconds: Int64? = nil, collapseKey: String? = nil, badge: Int? = nil, sound: String? = nil, silent: Bool? = nil) {
        self.priority = priority
        self.ttlSeconds = ttlSeconds
        self.collapseKey = collapseKey
        self.badge = badge
        self.sound = sound
        self.silent = silent
    }

    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: JSONKey.self)
        priority = try c.decodeIfPresent(CampaignOptionsPriority.self, forKey: JSONKey("priority"))
        ttlSeconds = try c.decodeIfPresent(Int64.self, forKey: JSONKey("ttlSeconds"))
        collapseKey = try c.decodeIfPresent(String.self, forKey: JSONKey("collapseKey"))
        badge = try c.decodeIfPresent(Int.self, forKey: JSONKey("badge"))
        sound = try c.decodeIfPresent(String.self, forKey: JSONKey("sound"))
        silent = try c.decodeIfPresent(Bool.self, forKey: JSONKey("silent"))
    }

    public func encode(to encoder: Encoder) throws {
        var c = encoder.container(keyedBy: JSONKey.self)
        try c.encodeIfPresent(priority, forKey: JSONKey("priority"))
        try c.encodeIfPresent(ttlSeconds, forKey: JSONKey("ttlSeconds"))
        try c.encodeIfPresent(collapseKey, forKey: JSONKey("collapseKey"))
        try c.encodeIfPresent(badge, forKey: JSONKey("badge"))
        try c.encodeIfPresent(sound, forKey: JSONKey("sound"))
        try c.encodeIfPresent(silent, forKey: JSONKey("silent"))
    }
}

public struct CampaignRequest: Codable, Sendable, Equatable {
    /// Exactly one of `all`, `userIds`, `deviceIds`, `topic` and `segment`. Only devices with a push token are reached.
    public let target: CampaignTarget
    public let notification: CampaignNotification?
    /// Key/values given to the app. With the title and body, at most 4096 bytes (FCM's limit, 413 past it). Keys `from`, `notification`, `message_type` and those starting with `google.`, `gcm.`, `apns-` or `tideline.` are reserved.
    public let data: [String: String]?
    public let options: CampaignOptions?
    /// When to send (absent - at once; within a year). With `localTime`, only its date and wall time count, in each device's time zone.
    public let sendAt: Date?
    /// Send at `sendAt`'s wall time in each device's own time zone (UTC for devices without one); where that time has passed, at once.
    public let localTime: Bool?
    /// Resolve the audience and count it, and send nothing.
    public let dryRun: Bool?
    /// A retried request with the same key returns the first campaign instead of sending again.
    public let idempotencyKey: String?

    public init(target: CampaignTarget, notification: CampaignNotification? = nil, data: [String: String]? = nil, options: CampaignOptions? = nil, sendAt: Date? = nil, localTime: Bool? = nil, dryRun: Bool? = nil, idempotencyKey: String? = nil) {
        self.target = target
        self.notification = notification
        self.data = data
        self.options = options
        self.sendAt = sendAt
        self.localTime = localTime
        self.dryRun = dryRun
        self.idempotencyKey = idempotencyKey
    }

    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: JSONKey.self)
        target = try c.decode(CampaignTarget.self, forKey: JSONKey("target"))
        notification = try c.decodeIfPresent(CampaignNotification.self, forKey: JSONKey("notification"))
        data = try c.decodeIfPresent([String: String].self, forKey: JSONKey("data"))
        options = try c.decodeIfPresent(CampaignOptions.self, forKey: JSONKey("options"))
        sendAt = try c.decodeIfPresent(Date.self, forKey: JSONKey("sendAt"))
        localTime = try c.decodeIfPresent(Bool.self, forKey: JSONKey("localTime"))
        dryRun = try c.decodeIfPresent(Bool.self, forKey: JSONKey("dryRun"))
        idempotencyKey = try c.decodeIfPresent(String.self, forKey: JSONKey("idempotencyKey"))
    }

    public func encode(to encoder: Encoder) throws {
        var c = encoder.container(keyedBy: JSONKey.self)
        try c.encode(target, forKey: JSONKey("target"))
        try c.encodeIfPresent(notification, forKey: JSONKey("notification"))
        try c.encodeIfPresent(data, forKey: JSONKey("data"))
        try c.encodeIfPresent(options, forKey: JSONKey("options"))
        try c.encodeIfPresent(sendAt, forKey: JSONKey("sendAt"))
        try c.encodeIfPresent(localTime, forKey: JSONKey("localTime"))
        try c.encodeIfPresent(dryRun, forKey: JSONKey("dryRun"))
        try c.encodeIfPresent(idempotencyKey, forKey: JSONKey("idempotencyKey"))
    }
}

public struct CampaignCounts: Codable, Sendable, Equatable {
    /// Devices in the audience (known once the campaign starts).
    public let targeted: Int64
    public let pending: Int64
    /// Accepted by FCM.
    public let sent: Int64
    public let failed: Int64
    /// FCM said the token is no longer valid; it was removed from its device.
    public let pruned: Int64
    /// Not sent because the campaign was cancelled, or the device was deleted or signed out before its turn.
    public let cancelled: Int64

    public init(targeted: Int64, pending: Int64, sent: Int64, failed: Int64, pruned: Int64, cancelled: Int64) {
        self.targeted = targeted
        self.pending = pending
        self.sent = sent
        self.failed = failed
        self.pruned = pruned
        self.cancelled = cancelled
    }

    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: JSONKey.self)
        targeted = try c.decode(Int64.self, forKey: JSONKey("targeted"))
        pending = try c.decode(Int64.self, forKey: JSONKey("pending"))
        sent = try c.decode(Int64.self, forKey: JSONKey("sent"))
        failed = try c.decode(Int64.self, forKey: JSONKey("failed"))
        pruned = try c.decode(Int64.self, forKey: JSONKey("pruned"))
        cancelled = try c.decode(Int64.self, forKey: JSONKey("cancelled"))
    }

    public func encode(to encoder: Encoder) throws {
        var c = encoder.container(keyedBy: JSONKey.self)
        try c.encode(targeted, forKey: JSONKey("targeted"))
        try c.encode(pending, forKey: JSONKey("pending"))
        try c.encode(sent, forKey: JSONKey("sent"))
        try c.encode(failed, forKey: JSONKey("failed"))
        try c.encode(pruned, forKey: JSONKey("pruned"))
        try c.encode(cancelled, forKey: JSONKey("cancelled"))
    }
}

public struct CampaignError: Codable, Sendable, Equatable {
    /// The server's id of the device.
    public let deviceId: String
    public let userId: String
    public let error: String
    public let at: Date

    public init(deviceId: String, userId: String, error: String, at: Date) {
        self.deviceId = deviceId
        self.userId = userId
        self.error = error
        self.at = at
    }

    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: JSONKey.self)
        deviceId = try c.decode(String.self, forKey: JSONKey("deviceId"))
        userId = try c.decode(String.self, forKey: JSONKey("userId"))
        error = try c.decode(String.self, forKey: JSONKey("error"))
        at = try c.decode(Date.self, forKey: JSONKey("at"))
    }

    public func encode(to encoder: Encoder) throws {
        var c = encoder.container(keyedBy: JSONKey.self)
        try c.encode(deviceId, forKey: JSONKey("deviceId"))
        try c.encode(userId, forKey: JSONKey("userId"))
        try c.encode(error, forKey: JSONKey("error"))
        try c.encode(at, forKey: JSONKey("at"))
    }
}

public struct Campaign: Codable, Sendable, Equatable {
    public let id: String
    public let status: CampaignStatus
    /// Exactly one of `all`, `userIds`, `deviceIds`, `topic` and `segment`. Only devices with a push token are reached.
    public let target: CampaignTarget
    public let notification: CampaignNotification?
    public let data: [String: String]?
    public let options: CampaignOptions?
    public let sendAt: Date?
    public let localTime: Bool
    public let dryRun: Bool
    public let idempotencyKey: String?
    /// The admin user who sent it (absent for an admin key).
    public let createdBy: String?
    public let createdAt: Date
    /// When its audience was resolved.
    public let startedAt: Date?
    /// When it completed or was cancelled.
    public let finishedAt: Date?
    public let counts: CampaignCounts
    /// The first failed deliveries (up to 10).
    public let errors: [CampaignError]

    public init(id: String, status: CampaignStatus, target: CampaignTarget, notification: CampaignNotification? = nil, data: [String: String]? = nil, options: CampaignOptions? = nil, sendAt: Date? = nil, localTime: Bool, dryRun: Bool, idempotencyKey: String? = nil, createdBy: String? = nil, createdAt: Date, startedAt: Date? = nil, finishedAt: Date? = nil, counts: CampaignCounts, errors: [CampaignError]) {
        self.id = id
        self.status = status
        self.target = target
        self.notification = notification
        self.data = data
        self.options = options
        self.sendAt = sendAt
        self.localTime = localTime
        self.dryRun = dryRun
        self.idempotencyKey = idempotencyKey
        self.createdBy = createdBy
        self.createdAt = createdAt
        self.startedAt = startedAt
        self.finishedAt = finishedAt
        self.counts = counts
        self.errors = errors
    }

    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: JSONKey.self)
        id = try c.decode(String.self, forKey: JSONKey("id"))
        status = try c.decode(CampaignStatus.self, forKey: JSONKey("status"))
        target = try c.decode(CampaignTarget.self, forKey: JSONKey("target"))
        notification = try c.decodeIfPresent(CampaignNotification.self, forKey: JSONKey("notification"))
        data = try c.decodeIfPresent([String: String].self, forKey: JSONKey("data"))
        options = try c.decodeIfPresent(CampaignOptions.self, forKey: JSONKey("options"))
        sendAt = try c.decodeIfPresent(Date.self, forKey: JSONKey("sendAt"))
        localTime = try c.decode(Bool.self, forKey: JSONKey("localTime"))
        dryRun = try c.decode(Bool.self, forKey: JSONKey("dryRun"))
        idempotencyKey = try c.decodeIfPresent(String.self, forKey: JSONKey("idempotencyKey"))
        createdBy = try c.decodeIfPresent(String.self, forKey: JSONKey("createdBy"))
        createdAt = try c.decode(Date.self, forKey: JSONKey("createdAt"))
        startedAt = try c.decodeIfPresent(Date.self, forKey: JSONKey("startedAt"))
        finishedAt = try c.decodeIfPresent(Date.self, forKey: JSONKey("finishedAt"))
        counts = try c.decode(CampaignCounts.self, forKey: JSONKey("counts"))
        errors = try c.decode([CampaignError].self, forKey: JSONKey("errors"))
    }

    public func encode(to encoder: Encoder) throws {
        var c = encoder.container(keyedBy: JSONKey.self)
        try c.encode(id, forKey: JSONKey("id"))
        try c.encode(status, forKey: JSONKey("status"))
        try c.encode(target, forKey: JSONKey("target"))
        try c.encodeIfPresent(notification, forKey: JSONKey("notification"))
        try c.encodeIfPresent(data, forKey: JSONKey("data"))
        try c.encodeIfPresent(options, forKey: JSONKey("options"))
        try c.encodeIfPresent(sendAt, forKey: JSONKey("sendAt"))
        try c.encode(localTime, forKey: JSONKey("localTime"))
        try c.encode(dryRun, forKey: JSONKey("dryRun"))
        try c.encodeIfPresent(idempotencyKey, forKey: JSONKey("idempotencyKey"))
        try c.encodeIfPresent(createdBy, forKey: JSONKey("createdBy"))
        try c.encode(createdAt, forKey: JSONKey("createdAt"))
        try c.encodeIfPresent(startedAt, forKey: JSONKey("startedAt"))
        try c.encodeIfPresent(finishedAt, forKey: JSONKey("finishedAt"))
        try c.encode(counts, forKey: JSONKey("counts"))
        try c.encode(errors, forKey: JSONKey("errors"))
    }
}

public struct CampaignPage: Codable, Sendable, Equatable {
    public let campaigns: [Campaign]
    /// Give it as `before` for the next page; absent on the last one.
    public let next: String?

    public init(campaigns: [Campaign], next: String? = nil) {
        self.campaigns = campaigns
        self.next = next
    }

    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: JSONKey.self)
        campaigns = try c.decode([Campaign].self, forKey: JSONKey("campaigns"))
        next = try c.decodeIfPresent(String.self, forKey: JSONKey("next"))
    }

    public func encode(to encoder: Encoder) throws {
        var c = encoder.container(keyedBy: JSONKey.self)
        try c.encode(campaigns, forKey: JSONKey("campaigns"))
        try c.encodeIfPresent(next, forKey: JSONKey("next"))
    }
}

public struct TopicCount: Codable, Sendable, Equatable {
    public let topic: String
    /// How many devices are subscribed.
    public let devices: Int64

    public init(topic: String, devices: Int64) {
        self.topic = topic
        self.devices = devices
    }

    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: JSONKey.self)
        topic = try c.decode(String.self, forKey: JSONKey("topic"))
        devices = try c.decode(Int64.self, forKey: JSONKey("devices"))
    }

    public func encode(to encoder: Encoder) throws {
        var c = encoder.container(keyedBy: JSONKey.self)
        try c.encode(topic, forKey: JSONKey("topic"))
        try c.encode(devices, forKey: JSONKey("devices"))
    }
}

public struct Group: Codable, Sendable, Equatable {
    public let id: String
    public let name: String
    public let ownerId: String
    public let createdAt: Date
    /// Your role in the group.
    public let role: GroupRole

    public init(id: String, name: String, ownerId: String, createdAt: Date, role: GroupRole) {
        self.id = id
        self.name = name
        self.ownerId = ownerId
        self.createdAt = createdAt
        self.role = role
    }

    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: JSONKey.self)
        id = try c.decode(String.self, forKey: JSONKey("id"))
        name = try c.decode(String.self, forKey: JSONKey("name"))
        ownerId = try c.decode(String.self, forKey: JSONKey("ownerId"))
        createdAt = try c.decode(Date.self, forKey: JSONKey("createdAt"))
        role = try c.decode(GroupRole.self, forKey: JSONKey("role"))
    }

    public func encode(to encoder: Encoder) throws {
        var c = encoder.container(keyedBy: JSONKey.self)
        try c.encode(id, forKey: JSONKey("id"))
        try c.encode(name, forKey: JSONKey("name"))
        try c.encode(ownerId, forKey: JSONKey("ownerId"))
        try c.encode(createdAt, forKey: JSONKey("createdAt"))
        try c.encode(role, forKey: JSONKey("role"))
    }
}

public struct GroupList: Codable, Sendable, Equatable {
    public let groups: [Group]

    public init(groups: [Group]) {
        self.groups = groups
    }

    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: JSONKey.self)
        groups = try c.decode([Group].self, forKey: JSONKey("groups"))
    }

    public func encode(to encoder: Encoder) throws {
        var c = encoder.container(keyedBy: JSONKey.self)
        try c.encode(groups, forKey: JSONKey("groups"))
    }
}

public struct MemberList: Codable, Sendable, Equatable {
    public let members: [GroupMember]

    public init(members: [GroupMember]) {
        self.members = members
    }

    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: JSONKey.self)
        members = try c.decode([GroupMember].self, forKey: JSONKey("members"))
    }

    public func encode(to encoder: Encoder) throws {
        var c = encoder.container(keyedBy: JSONKey.self)
        try c.encode(members, forKey: JSONKey("members"))
    }
}

public struct GroupMember: Codable, Sendable, Equatable {
    public let userId: String
    public let role: GroupMemberRole
    public let addedAt: Date

    public init(userId: String, role: GroupMemberRole, addedAt: Date) {
        self.userId = userId
        self.role = role
        self.addedAt = addedAt
    }

    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: JSONKey.self)
        userId = try c.decode(String.self, forKey: JSONKey("userId"))
        role = try c.decode(GroupMemberRole.self, forKey: JSONKey("role"))
        addedAt = try c.decode(Date.self, forKey: JSONKey("addedAt"))
    }

    public func encode(to encoder: Encoder) throws {
        var c = encoder.container(keyedBy: JSONKey.self)
        try c.encode(userId, forKey: JSONKey("userId"))
        try c.encode(role, forKey: JSONKey("role"))
        try c.encode(addedAt, forKey: JSONKey("addedAt"))
    }
}

public struct CollectionSettings: Codable, Sendable, Equatable {
    public let policy: CollectionSettingsPolicy?
    public let read: CollectionSettingsRead?
    /// A JSON Schema every document must match.
    public let schema: [String: JSONValue]?
    public let maxDocBytes: Int?
    /// Wake users' offline devices when their documents change (default true).
    public let notify: Bool?

    public init(policy: CollectionSettingsPolicy? = nil, read: CollectionSettingsRead? = nil, schema: [String: JSONValue]? = nil, maxDocBytes: Int? = nil, notify: Bool? = nil) {
        self.policy = policy
        self.read = read
        self.schema = schema
        self.maxDocBytes = maxDocBytes
        self.notify = notify
    }

    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: JSONKey.self)
        policy = try c.decodeIfPresent(CollectionSettingsPolicy.self, forKey: JSONKey("policy"))
        read = try c.decodeIfPresent(CollectionSettingsRead.self, forKey: JSONKey("read"))
        schema = try c.decodeIfPresent([String: JSONValue].self, forKey: JSONKey("schema"))
        maxDocBytes = try c.decodeIfPresent(Int.self, forKey: JSONKey("maxDocBytes"))
        notify = try c.decodeIfPresent(Bool.self, forKey: JSONKey("notify"))
    }

    public func encode(to encoder: Encoder) throws {
        var c = encoder.container(keyedBy: JSONKey.self)
        try c.encodeIfPresent(policy, forKey: JSONKey("policy"))
        try c.encodeIfPresent(read, forKey: JSONKey("read"))
        try c.encodeIfPresent(schema, forKey: JSONKey("schema"))
        try c.encodeIfPresent(maxDocBytes, forKey: JSONKey("maxDocBytes"))
        try c.encodeIfPresent(notify, forKey: JSONKey("notify"))
    }
}

public struct CollectionConfig: Codable, Sendable, Equatable {
    public let name: String
    public let policy: CollectionConfigPolicy
    public let read: CollectionConfigRead
    public let schema: [String: JSONValue]?
    public let maxDocBytes: Int
    public let notify: Bool
    /// config: defined in tideline.yaml (read-only here); api: defined through this API.
    public let source: CollectionConfigSource
    public let updatedAt: Date?

    public init(name: String, policy: CollectionConfigPolicy, read: CollectionConfigRead, schema: [String: JSONValue]? = nil, maxDocBytes: Int, notify: Bool, source: CollectionConfigSource, updatedAt: Date? = nil) {
        self.name = name
        self.policy = policy
        self.read = read
        self.schema = schema
        self.maxDocBytes = maxDocBytes
        self.notify = notify
        self.source = source
        self.updatedAt = updatedAt
    }

    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: JSONKey.self)
        name = try c.decode(String.self, forKey: JSONKey("name"))
        policy = try c.decode(CollectionConfigPolicy.self, forKey: JSONKey("policy"))
        read = try c.decode(CollectionConfigRead.self, forKey: JSONKey("read"))
        schema = try c.decodeIfPresent([String: JSONValue].self, forKey: JSONKey("schema"))
        maxDocBytes = try c.decode(Int.self, forKey: JSONKey("maxDocBytes"))
        notify = try c.decode(Bool.self, forKey: JSONKey("notify"))
        source = try c.decode(CollectionConfigSource.self, forKey: JSONKey("source"))
        updatedAt = try c.decodeIfPresent(Date.self, forKey: JSONKey("updatedAt"))
    }

    public func encode(to encoder: Encoder) throws {
        var c = encoder.container(keyedBy: JSONKey.self)
        try c.encode(name, forKey: JSONKey("name"))
        try c.encode(policy, forKey: JSONKey("policy"))
        try c.encode(read, forKey: JSONKey("read"))
        try c.encodeIfPresent(schema, forKey: JSONKey("schema"))
        try c.encode(maxDocBytes, forKey: JSONKey("maxDocBytes"))
        try c.encode(notify, forKey: JSONKey("notify"))
        try c.encode(source, forKey: JSONKey("source"))
        try c.encodeIfPresent(updatedAt, forKey: JSONKey("updatedAt"))
    }
}

public struct CollectionList: Codable, Sendable, Equatable {
    public let collections: [CollectionConfig]

    public init(collections: [CollectionConfig]) {
        self.collections = collections
    }

    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: JSONKey.self)
        collections = try c.decode([CollectionConfig].self, forKey: JSONKey("collections"))
    }

    public func encode(to encoder: Encoder) throws {
        var c = encoder.container(keyedBy: JSONKey.self)
        try c.encode(collections, forKey: JSONKey("collections"))
    }
}

/// Describes the device signing in; shown in the session list.
public struct Device: Codable, Sendable, Equatable {
    public let name: String?
    public let platform: String?

    public init(name: String? = nil, platform: String? = nil) {
        self.name = name
        self.platform = platform
    }

    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: JSONKey.self)
        name = try c.decodeIfPresent(String.self, forKey: JSONKey("name"))
        platform = try c.decodeIfPresent(String.self, forKey: JSONKey("platform"))
    }

    public func encode(to encoder: Encoder) throws {
        var c = encoder.container(keyedBy: JSONKey.self)
        try c.encodeIfPresent(name, forKey: JSONKey("name"))
        try c.encodeIfPresent(platform, forKey: JSONKey("platform"))
    }
}

public struct Credentials: Codable, Sendable, Equatable {
    public let email: String
    public let password: String
    /// Describes the device signing in; shown in the session list.
    public let device: Device?

    public init(email: String, password: String, device: Device? = nil) {
        self.email = email
        self.password = password
        self.device = device
    }

    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: JSONKey.self)
        email = try c.decode(String.self, forKey: JSONKey("email"))
        password = try c.decode(String.self, forKey: JSONKey("password"))
        device = try c.decodeIfPresent(Device.self, forKey: JSONKey("device"))
    }

    public func encode(to encoder: Encoder) throws {
        var c = encoder.container(keyedBy: JSONKey.self)
        try c.encode(email, forKey: JSONKey("email"))
        try c.encode(password, forKey: JSONKey("password"))
        try c.encodeIfPresent(device, forKey: JSONKey("device"))
    }
}

public struct ExchangeRequest: Codable, Sendable, Equatable {
    public let provider: String
    /// The provider's ID token (a JWT).
    public let token: String
    /// Describes the device signing in; shown in the session list.
    public let device: Device?

    public init(provider: String, token: String, device: Device? = nil) {
        self.provider = provider
        self.token = token
        self.device = device
    }

    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: JSONKey.self)
        provider = try c.decode(String.self, forKey: JSONKey("provider"))
        token = try c.decode(String.self, forKey: JSONKey("token"))
        device = try c.decodeIfPresent(Device.self, forKey: JSONKey("device"))
    }

    public func encode(to encoder: Encoder) throws {
        var c = encoder.container(keyedBy: JSONKey.self)
        try c.encode(provider, forKey: JSONKey("provider"))
        try c.encode(token, forKey: JSONKey("token"))
        try c.encodeIfPresent(device, forKey: JSONKey("device"))
    }
}

public struct Identity: Codable, Sendable, Equatable {
    public let provider: String
    /// The provider's id of the account.
    public let subject: String
    public let email: String?
    public let createdAt: Date

    public init(provider: String, subject: String, email: String? = nil, createdAt: Date) {
        self.provider = provider
        self.subject = subject
        self.email = email
        self.createdAt = createdAt
    }

    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: JSONKey.self)
        provider = try c.decode(String.self, forKey: JSONKey("provider"))
        subject = try c.decode(String.self, forKey: JSONKey("subject"))
        email = try c.decodeIfPresent(String.self, forKey: JSONKey("email"))
        createdAt = try c.decode(Date.self, forKey: JSONKey("createdAt"))
    }

    public func encode(to encoder: Encoder) throws {
        var c = encoder.container(keyedBy: JSONKey.self)
        try c.encode(provider, forKey: JSONKey("provider"))
        try c.encode(subject, forKey: JSONKey("subject"))
        try c.encodeIfPresent(email, forKey: JSONKey("email"))
        try c.encode(createdAt, forKey: JSONKey("createdAt"))
    }
}

public struct AnonymousRequest: Codable, Sendable, Equatable {
    /// Describes the device signing in; shown in the session list.
    public let device: Device?

    public init(device: Device? = nil) {
        self.device = device
    }

    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: JSONKey.self)
        device = try c.decodeIfPresent(Device.self, forKey: JSONKey("device"))
    }

    public func encode(to encoder: Encoder) throws {
        var c = encoder.container(keyedBy: JSONKey.self)
        try c.encodeIfPresent(device, forKey: JSONKey("device"))
    }
}

public struct LinkRequest: Codable, Sendable, Equatable {
    public let email: String
    public let password: String

    public init(email: String, password: String) {
        self.email = email
        self.password = password
    }

    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: JSONKey.self)
        email = try c.decode(String.self, forKey: JSONKey("email"))
        password = try c.decode(String.self, forKey: JSONKey("password"))
    }

    public func encode(to encoder: Encoder) throws {
        var c = encoder.container(keyedBy: JSONKey.self)
        try c.encode(email, forKey: JSONKey("email"))
        try c.encode(password, forKey: JSONKey("password"))
    }
}

public struct RefreshRequest: Codable, Sendable, Equatable {
    public let refreshToken: String

    public init(refreshToken: String) {
        self.refreshToken = refreshToken
    }

    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: JSONKey.self)
        refreshToken = try c.decode(String.self, forKey: JSONKey("refreshToken"))
    }

    public func encode(to encoder: Encoder) throws {
        var c = encoder.container(keyedBy: JSONKey.self)
        try c.encode(refreshToken, forKey: JSONKey("refreshToken"))
    }
}

public struct EmailRequest: Codable, Sendable, Equatable {
    public let email: String

    public init(email: String) {
        self.email = email
    }

    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: JSONKey.self)
        email = try c.decode(String.self, forKey: JSONKey("email"))
    }

    public func encode(to encoder: Encoder) throws {
        var c = encoder.container(keyedBy: JSONKey.self)
        try c.encode(email, forKey: JSONKey("email"))
    }
}

public struct TokenRequest: Codable, Sendable, Equatable {
    /// The token from the email.
    public let token: String

    public init(token: String) {
        self.token = token
    }

    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: JSONKey.self)
        token = try c.decode(String.self, forKey: JSONKey("token"))
    }

    public func encode(to encoder: Encoder) throws {
        var c = encoder.container(keyedBy: JSONKey.self)
        try c.encode(token, forKey: JSONKey("token"))
    }
}

public struct ResetPasswordRequest: Codable, Sendable, Equatable {
    public let token: String
    public let password: String

    public init(token: String, password: String) {
        self.token = token
        self.password = password
    }

    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: JSONKey.self)
        token = try c.decode(String.self, forKey: JSONKey("token"))
        password = try c.decode(String.self, forKey: JSONKey("password"))
    }

    public func encode(to encoder: Encoder) throws {
        var c = encoder.container(keyedBy: JSONKey.self)
        try c.encode(token, forKey: JSONKey("token"))
        try c.encode(password, forKey: JSONKey("password"))
    }
}

public struct AuthResponse: Codable, Sendable, Equatable {
    public let user: User
    /// A JWT to send as `Authorization: Bearer <accessToken>`.
    public let accessToken: String
    /// Opaque; exchange it at `/v1/auth/refresh` before the access token expires. Store it securely.
    public let refreshToken: String
    /// Seconds until the access token expires.
    public let expiresIn: Int
    public let sessionId: String

    public init(user: User, accessToken: String, refreshToken: String, expiresIn: Int, sessionId: String) {
        self.user = user
        self.accessToken = accessToken
        self.refreshToken = refreshToken
        self.expiresIn = expiresIn
        self.sessionId = sessionId
    }

    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: JSONKey.self)
        user = try c.decode(User.self, forKey: JSONKey("user"))
        accessToken = try c.decode(String.self, forKey: JSONKey("accessToken"))
        refreshToken = try c.decode(String.self, forKey: JSONKey("refreshToken"))
        expiresIn = try c.decode(Int.self, forKey: JSONKey("expiresIn"))
        sessionId = try c.decode(String.self, forKey: JSONKey("sessionId"))
    }

    public func encode(to encoder: Encoder) throws {
        var c = encoder.container(keyedBy: JSONKey.self)
        try c.encode(user, forKey: JSONKey("user"))
        try c.encode(accessToken, forKey: JSONKey("accessToken"))
        try c.encode(refreshToken, forKey: JSONKey("refreshToken"))
        try c.encode(expiresIn, forKey: JSONKey("expiresIn"))
        try c.encode(sessionId, forKey: JSONKey("sessionId"))
    }
}

public struct LinkResponse: Codable, Sendable, Equatable {
    public let user: User
    public let accessToken: String
    public let expiresIn: Int

    public init(user: User, accessToken: String, expiresIn: Int) {
        self.user = user
        self.accessToken = accessToken
        self.expiresIn = expiresIn
    }

    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: JSONKey.self)
        user = try c.decode(User.self, forKey: JSONKey("user"))
        accessToken = try c.decode(String.self, forKey: JSONKey("accessToken"))
        expiresIn = try c.decode(Int.self, forKey: JSONKey("expiresIn"))
    }

    public func encode(to encoder: Encoder) throws {
        var c = encoder.container(keyedBy: JSONKey.self)
        try c.encode(user, forKey: JSONKey("user"))
        try c.encode(accessToken, forKey: JSONKey("accessToken"))
        try c.encode(expiresIn, forKey: JSONKey("expiresIn"))
    }
}

public struct User: Codable, Sendable, Equatable {
    public let id: String
    /// Absent for anonymous users.
    public let email: String?
    public let emailVerified: Bool
    public let anonymous: Bool
    public let disabled: Bool
    public let roles: [String]
    public let displayName: String
    public let createdAt: Date
    public let updatedAt: Date

    public init(id: String, email: String? = nil, emailVerified: Bool, anonymous: Bool, disabled: Bool, roles: [String], displayName: String, createdAt: Date, updatedAt: Date) {
        self.id = id
        self.email = email
        self.emailVerified = emailVerified
        self.anonymous = anonymous
        self.disabled = disabled
        self.roles = roles
        self.displayName = displayName
        self.createdAt = createdAt
        self.updatedAt = updatedAt
    }

    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: JSONKey.self)
        id = try c.decode(String.self, forKey: JSONKey("id"))
        email = try c.decodeIfPresent(String.self, forKey: JSONKey("email"))
        emailVerified = try c.decode(Bool.self, forKey: JSONKey("emailVerified"))
        anonymous = try c.decode(Bool.self, forKey: JSONKey("anonymous"))
        disabled = try c.decode(Bool.self, forKey: JSONKey("disabled"))
        roles = try c.decode([String].self, forKey: JSONKey("roles"))
        displayName = try c.decode(String.self, forKey: JSONKey("displayName"))
        createdAt = try c.decode(Date.self, forKey: JSONKey("createdAt"))
        updatedAt = try c.decode(Date.self, forKey: JSONKey("updatedAt"))
    }

    public func encode(to encoder: Encoder) throws {
        var c = encoder.container(keyedBy: JSONKey.self)
        try c.encode(id, forKey: JSONKey("id"))
        try c.encodeIfPresent(email, forKey: JSONKey("email"))
        try c.encode(emailVerified, forKey: JSONKey("emailVerified"))
        try c.encode(anonymous, forKey: JSONKey("anonymous"))
        try c.encode(disabled, forKey: JSONKey("disabled"))
        try c.encode(roles, forKey: JSONKey("roles"))
        try c.encode(displayName, forKey: JSONKey("displayName"))
        try c.encode(createdAt, forKey: JSONKey("createdAt"))
        try c.encode(updatedAt, forKey: JSONKey("updatedAt"))
    }
}

public struct MeUpdate: Codable, Sendable, Equatable {
    public let displayName: String?
    /// A new password; needs `currentPassword`.
    public let password: String?
    public let currentPassword: String?

    public init(displayName: String? = nil, password: String? = nil, currentPassword: String? = nil) {
        self.displayName = displayName
        self.password = password
        self.currentPassword = currentPassword
    }

    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: JSONKey.self)
        displayName = try c.decodeIfPresent(String.self, forKey: JSONKey("displayName"))
        password = try c.decodeIfPresent(String.self, forKey: JSONKey("password"))
        currentPassword = try c.decodeIfPresent(String.self, forKey: JSONKey("currentPassword"))
    }

    public func encode(to encoder: Encoder) throws {
        var c = encoder.container(keyedBy: JSONKey.self)
        try c.encodeIfPresent(displayName, forKey: JSONKey("displayName"))
        try c.encodeIfPresent(password, forKey: JSONKey("password"))
        try c.encodeIfPresent(currentPassword, forKey: JSONKey("currentPassword"))
    }
}

public struct Session: Codable, Sendable, Equatable {
    public let id: String
    public let deviceName: String
    public let platform: String
    public let userAgent: String
    /// The address of the last sign-in or refresh.
    public let ip: String
    public let createdAt: Date
    public let lastUsedAt: Date
    /// When the session ends unless refreshed before.
    public let expiresAt: Date
    /// True for the session making the request.
    public let current: Bool

    public init(id: String, deviceName: String, platform: String, userAgent: String, ip: String, createdAt: Date, lastUsedAt: Date, expiresAt: Date, current: Bool) {
        self.id = id
        self.deviceName = deviceName
        self.platform = platform
        self.userAgent = userAgent
        self.ip = ip
        self.createdAt = createdAt
        self.lastUsedAt = lastUsedAt
        self.expiresAt = expiresAt
        self.current = current
    }

    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: JSONKey.self)
        id = try c.decode(String.self, forKey: JSONKey("id"))
        deviceName = try c.decode(String.self, forKey: JSONKey("deviceName"))
        platform = try c.decode(String.self, forKey: JSONKey("platform"))
        userAgent = try c.decode(String.self, forKey: JSONKey("userAgent"))
        ip = try c.decode(String.self, forKey: JSONKey("ip"))
        createdAt = try c.decode(Date.self, forKey: JSONKey("createdAt"))
        lastUsedAt = try c.decode(Date.self, forKey: JSONKey("lastUsedAt"))
        expiresAt = try c.decode(Date.self, forKey: JSONKey("expiresAt"))
        current = try c.decode(Bool.self, forKey: JSONKey("current"))
    }

    public func encode(to encoder: Encoder) throws {
        var c = encoder.container(keyedBy: JSONKey.self)
        try c.encode(id, forKey: JSONKey("id"))
        try c.encode(deviceName, forKey: JSONKey("deviceName"))
        try c.encode(platform, forKey: JSONKey("platform"))
        try c.encode(userAgent, forKey: JSONKey("userAgent"))
        try c.encode(ip, forKey: JSONKey("ip"))
        try c.encode(createdAt, forKey: JSONKey("createdAt"))
        try c.encode(lastUsedAt, forKey: JSONKey("lastUsedAt"))
        try c.encode(expiresAt, forKey: JSONKey("expiresAt"))
        try c.encode(current, forKey: JSONKey("current"))
    }
}

public struct SessionList: Codable, Sendable, Equatable {
    public let sessions: [Session]

    public init(sessions: [Session]) {
        self.sessions = sessions
    }

    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: JSONKey.self)
        sessions = try c.decode([Session].self, forKey: JSONKey("sessions"))
    }

    public func encode(to encoder: Encoder) throws {
        var c = encoder.container(keyedBy: JSONKey.self)
        try c.encode(sessions, forKey: JSONKey("sessions"))
    }
}

public struct JWK: Codable, Sendable, Equatable {
    public let kty: JWKKty
    public let crv: JWKCrv
    public let x: String
    public let kid: String
    public let use: JWKUse
    public let alg: JWKAlg

    public init(kty: JWKKty, crv: JWKCrv, x: String, kid: String, use: JWKUse, alg: JWKAlg) {
        self.kty = kty
        self.crv = crv
        self.x = x
        self.kid = kid
        self.use = use
        self.alg = alg
    }

    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: JSONKey.self)
        kty = try c.decode(JWKKty.self, forKey: JSONKey("kty"))
        crv = try c.decode(JWKCrv.self, forKey: JSONKey("crv"))
        x = try c.decode(String.self, forKey: JSONKey("x"))
        kid = try c.decode(String.self, forKey: JSONKey("kid"))
        use = try c.decode(JWKUse.self, forKey: JSONKey("use"))
        alg = try c.decode(JWKAlg.self, forKey: JSONKey("alg"))
    }

    public func encode(to encoder: Encoder) throws {
        var c = encoder.container(keyedBy: JSONKey.self)
        try c.encode(kty, forKey: JSONKey("kty"))
        try c.encode(crv, forKey: JSONKey("crv"))
        try c.encode(x, forKey: JSONKey("x"))
        try c.encode(kid, forKey: JSONKey("kid"))
        try c.encode(use, forKey: JSONKey("use"))
        try c.encode(alg, forKey: JSONKey("alg"))
    }
}

public struct JWKS: Codable, Sendable, Equatable {
    public let keys: [JWK]

    public init(keys: [JWK]) {
        self.keys = keys
    }

    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: JSONKey.self)
        keys = try c.decode([JWK].self, forKey: JSONKey("keys"))
    }

    public func encode(to encoder: Encoder) throws {
        var c = encoder.container(keyedBy: JSONKey.self)
        try c.encode(keys, forKey: JSONKey("keys"))
    }
}

public struct UserPage: Codable, Sendable, Equatable {
    public let users: [User]
    /// Pass as `after` for the next page; absent on the last page.
    public let next: String?

    public init(users: [User], next: String? = nil) {
        self.users = users
        self.next = next
    }

    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: JSONKey.self)
        users = try c.decode([User].self, forKey: JSONKey("users"))
        next = try c.decodeIfPresent(String.self, forKey: JSONKey("next"))
    }

    public func encode(to encoder: Encoder) throws {
        var c = encoder.container(keyedBy: JSONKey.self)
        try c.encode(users, forKey: JSONKey("users"))
        try c.encodeIfPresent(next, forKey: JSONKey("next"))
    }
}

public struct AdminUserUpdate: Codable, Sendable, Equatable {
    public let disabled: Bool?
    public let roles: [String]?
    public let emailVerified: Bool?
    public let displayName: String?

    public init(disabled: Bool? = nil, roles: [String]? = nil, emailVerified: Bool? = nil, displayName: String? = nil) {
        self.disabled = disabled
        self.roles = roles
        self.emailVerified = emailVerified
        self.displayName = displayName
    }

    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: JSONKey.self)
        disabled = try c.decodeIfPresent(Bool.self, forKey: JSONKey("disabled"))
        roles = try c.decodeIfPresent([String].self, forKey: JSONKey("roles"))
        emailVerified = try c.decodeIfPresent(Bool.self, forKey: JSONKey("emailVerified"))
        displayName = try c.decodeIfPresent(String.self, forKey: JSONKey("displayName"))
    }

    public func encode(to encoder: Encoder) throws {
        var c = encoder.container(keyedBy: JSONKey.self)
        try c.encodeIfPresent(disabled, forKey: JSONKey("disabled"))
        try c.encodeIfPresent(roles, forKey: JSONKey("roles"))
        try c.encodeIfPresent(emailVerified, forKey: JSONKey("emailVerified"))
        try c.encodeIfPresent(displayName, forKey: JSONKey("displayName"))
    }
}

public struct AdminKey: Codable, Sendable, Equatable {
    public let id: String
    public let name: String
    /// The key's first characters.
    public let prefix: String
    public let createdBy: String
    public let createdAt: Date
    public let lastUsedAt: Date?

    public init(id: String, name: String, prefix: String, createdBy: String, createdAt: Date, lastUsedAt: Date? = nil) {
        self.id = id
        self.name = name
        self.prefix = prefix
        self.createdBy = createdBy
        self.createdAt = createdAt
        self.lastUsedAt = lastUsedAt
    }

    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: JSONKey.self)
        id = try c.decode(String.self, forKey: JSONKey("id"))
        name = try c.decode(String.self, forKey: JSONKey("name"))
        prefix = try c.decode(String.self, forKey: JSONKey("prefix"))
        createdBy = try c.decode(String.self, forKey: JSONKey("createdBy"))
        createdAt = try c.decode(Date.self, forKey: JSONKey("createdAt"))
        lastUsedAt = try c.decodeIfPresent(Date.self, forKey: JSONKey("lastUsedAt"))
    }

    public func encode(to encoder: Encoder) throws {
        var c = encoder.container(keyedBy: JSONKey.self)
        try c.encode(id, forKey: JSONKey("id"))
        try c.encode(name, forKey: JSONKey("name"))
        try c.encode(prefix, forKey: JSONKey("prefix"))
        try c.encode(createdBy, forKey: JSONKey("createdBy"))
        try c.encode(createdAt, forKey: JSONKey("createdAt"))
        try c.encodeIfPresent(lastUsedAt, forKey: JSONKey("lastUsedAt"))
    }
}

public struct AdminKeyList: Codable, Sendable, Equatable {
    public let keys: [AdminKey]

    public init(keys: [AdminKey]) {
        self.keys = keys
    }

    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: JSONKey.self)
        keys = try c.decode([AdminKey].self, forKey: JSONKey("keys"))
    }

    public func encode(to encoder: Encoder) throws {
        var c = encoder.container(keyedBy: JSONKey.self)
        try c.encode(keys, forKey: JSONKey("keys"))
    }
}

public struct AdminKeyRequest: Codable, Sendable, Equatable {
    public let name: String

    public init(name: String) {
        self.name = name
    }

    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: JSONKey.self)
        name = try c.decode(String.self, forKey: JSONKey("name"))
    }

    public func encode(to encoder: Encoder) throws {
        var c = encoder.container(keyedBy: JSONKey.self)
        try c.encode(name, forKey: JSONKey("name"))
    }
}

public struct CreatedAdminKey: Codable, Sendable, Equatable {
    public let key: AdminKey
    /// The key to send as `Authorization: Bearer <secret>`. Shown once.
    public let secret: String

    public init(key: AdminKey, secret: String) {
        self.key = key
        self.secret = secret
    }

    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: JSONKey.self)
        key = try c.decode(AdminKey.self, forKey: JSONKey("key"))
        secret = try c.decode(String.self, forKey: JSONKey("secret"))
    }

    public func encode(to encoder: Encoder) throws {
        var c = encoder.container(keyedBy: JSONKey.self)
        try c.encode(key, forKey: JSONKey("key"))
        try c.encode(secret, forKey: JSONKey("secret"))
    }
}

public struct AuditEvent: Codable, Sendable, Equatable {
    public let id: String
    public let at: Date
    public let type: String
    public let userId: String
    public let sessionId: String
    /// Who acted when not the user, such as `admin-key:<id>` or `user:<id>`.
    public let actor: String
    public let ip: String
    public let detail: [String: String]

    public init(id: String, at: Date, type: String, userId: String, sessionId: String, actor: String, ip: String, detail: [String: String]) {
        self.id = id
        self.at = at
        self.type = type
        self.userId = userId
        self.sessionId = sessionId
        self.actor = actor
        self.ip = ip
        self.detail = detail
    }

    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: JSONKey.self)
        id = try c.decode(String.self, forKey: JSONKey("id"))
        at = try c.decode(Date.self, forKey: JSONKey("at"))
        type = try c.decode(String.self, forKey: JSONKey("type"))
        userId = try c.decode(String.self, forKey: JSONKey("userId"))
        sessionId = try c.decode(String.self, forKey: JSONKey("sessionId"))
        actor = try c.decode(String.self, forKey: JSONKey("actor"))
        ip = try c.decode(String.self, forKey: JSONKey("ip"))
        detail = try c.decode([String: String].self, forKey: JSONKey("detail"))
    }

    public func encode(to encoder: Encoder) throws {
        var c = encoder.container(keyedBy: JSONKey.self)
        try c.encode(id, forKey: JSONKey("id"))
        try c.encode(at, forKey: JSONKey("at"))
        try c.encode(type, forKey: JSONKey("type"))
        try c.encode(userId, forKey: JSONKey("userId"))
        try c.encode(sessionId, forKey: JSONKey("sessionId"))
        try c.encode(actor, forKey: JSONKey("actor"))
        try c.encode(ip, forKey: JSONKey("ip"))
        try c.encode(detail, forKey: JSONKey("detail"))
    }
}

public struct AuditPage: Codable, Sendable, Equatable {
    public let events: [AuditEvent]
    /// Pass as `before` for older events; absent on the last page.
    public let next: String?

    public init(events: [AuditEvent], next: String? = nil) {
        self.events = events
        self.next = next
    }

    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: JSONKey.self)
        events = try c.decode([AuditEvent].self, forKey: JSONKey("events"))
        next = try c.decodeIfPresent(String.self, forKey: JSONKey("next"))
    }

    public func encode(to encoder: Encoder) throws {
        var c = encoder.container(keyedBy: JSONKey.self)
        try c.encode(events, forKey: JSONKey("events"))
        try c.encodeIfPresent(next, forKey: JSONKey("next"))
    }
}

/// An RFC 9457 problem document with Tideline's stable error code.
public struct Problem: Codable, Sendable, Equatable {
    /// A URI naming the kind of problem; `about:blank` for all Tideline codes.
    public let type: String
    /// The HTTP status text.
    public let title: String
    /// The HTTP status code.
    public let status: Int
    /// A message safe to show to a user.
    public let detail: String?
    /// The stable error code (see the table above). Never renamed.
    public let code: String
    /// The request id, also sent in the `X-Request-Id` response header.
    public let requestId: String
    /// For `invalid`, the reason for each invalid field.
    public let fields: [String: String]?
    /// For `rate_limited`, the server setting that sets the limit (such as
    /// `auth.limits.signup`, the flag `--auth-limits-signup`): for the server's operator,
    /// who may raise it, or set it to `off` while developing. Not for end users.
    public let setting: String?

    public init(type: String, title: String, status: Int, detail: String? = nil, code: String, requestId: String, fields: [String: String]? = nil, setting: String? = nil) {
        self.type = type
        self.title = title
        self.status = status
        self.detail = detail
        self.code = code
        self.requestId = requestId
        self.fields = fields
        self.setting = setting
    }

    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: JSONKey.self)
        type = try c.decode(String.self, forKey: JSONKey("type"))
        title = try c.decode(String.self, forKey: JSONKey("title"))
        status = try c.decode(Int.self, forKey: JSONKey("status"))
        detail = try c.decodeIfPresent(String.self, forKey: JSONKey("detail"))
        code = try c.decode(String.self, forKey: JSONKey("code"))
        requestId = try c.decode(String.self, forKey: JSONKey("request_id"))
        fields = try c.decodeIfPresent([String: String].self, forKey: JSONKey("fields"))
        setting = try c.decodeIfPresent(String.self, forKey: JSONKey("setting"))
    }

    public func encode(to encoder: Encoder) throws {
        var c = encoder.container(keyedBy: JSONKey.self)
        try c.encode(type, forKey: JSONKey("type"))
        try c.encode(title, forKey: JSONKey("title"))
        try c.encode(status, forKey: JSONKey("status"))
        try c.encodeIfPresent(detail, forKey: JSONKey("detail"))
        try c.encode(code, forKey: JSONKey("code"))
        try c.encode(requestId, forKey: JSONKey("request_id"))
        try c.encodeIfPresent(fields, forKey: JSONKey("fields"))
        try c.encodeIfPresent(setting, forKey: JSONKey("setting"))
    }
}

public struct Health: Codable, Sendable, Equatable {
    public let status: HealthStatus
    /// The server's version.
    public let version: String

    public init(status: HealthStatus, version: String) {
        self.status = status
        self.version = version
    }

    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: JSONKey.self)
        status = try c.decode(HealthStatus.self, forKey: JSONKey("status"))
        version = try c.decode(String.self, forKey: JSONKey("version"))
    }

    public func encode(to encoder: Encoder) throws {
        var c = encoder.container(keyedBy: JSONKey.self)
        try c.encode(status, forKey: JSONKey("status"))
        try c.encode(version, forKey: JSONKey("version"))
    }
}

public struct Readiness: Codable, Sendable, Equatable {
    public let status: ReadinessStatus
    /// The storage engine this node runs on.
    public let engine: ReadinessEngine
    /// The schema version of the data, after start-up migrations.
    public let schemaVersion: Int

    public init(status: ReadinessStatus, engine: ReadinessEngine, schemaVersion: Int) {
        self.status = status
        self.engine = engine
        self.schemaVersion = schemaVersion
    }

    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: JSONKey.self)
        status = try c.decode(ReadinessStatus.self, forKey: JSONKey("status"))
        engine = try c.decode(ReadinessEngine.self, forKey: JSONKey("engine"))
        schemaVersion = try c.decode(Int.self, forKey: JSONKey("schemaVersion"))
    }

    public func encode(to encoder: Encoder) throws {
        var c = encoder.container(keyedBy: JSONKey.self)
        try c.encode(status, forKey: JSONKey("status"))
        try c.encode(engine, forKey: JSONKey("engine"))
        try c.encode(schemaVersion, forKey: JSONKey("schemaVersion"))
    }
}

public enum MutationOp: String, Codable, Sendable, CaseIterable {
    case put = "put"
    case patch = "patch"
    case delete = "delete"
}

public enum ReceiptStatus: String, Codable, Sendable, CaseIterable {
    case applied = "applied"
    case merged = "merged"
    case rejected = "rejected"
    case conflict = "conflict"
}

public enum StreamMessageType: String, Codable, Sendable, CaseIterable {
    case hello = "hello"
    case poke = "poke"
    case changes = "changes"
    case expired = "expired"
}

/// upsert: replace the local document with `doc`. delete: remove it (a tombstone). evict: the caller may no longer read it (it was unshared, or left the caller's buckets): drop it.
public enum ChangeOp: String, Codable, Sendable, CaseIterable {
    case upsert = "upsert"
    case delete = "delete"
    case evict = "evict"
}

public enum DeviceRegistrationPlatform: String, Codable, Sendable, CaseIterable {
    case ios = "ios"
    case android = "android"
    case web = "web"
}

public enum PushDevicePlatform: String, Codable, Sendable, CaseIterable {
    case ios = "ios"
    case android = "android"
    case web = "web"
}

public enum CampaignSegmentPlatformsItem: String, Codable, Sendable, CaseIterable {
    case ios = "ios"
    case android = "android"
    case web = "web"
}

/// high (the default) is delivered at once; normal may wait for the device to wake.
public enum CampaignOptionsPriority: String, Codable, Sendable, CaseIterable {
    case high = "high"
    case normal = "normal"
}

public enum CampaignStatus: String, Codable, Sendable, CaseIterable {
    case queued = "queued"
    case sending = "sending"
    case completed = "completed"
    case cancelled = "cancelled"
}

/// Your role in the group.
public enum GroupRole: String, Codable, Sendable, CaseIterable {
    case owner = "owner"
    case member = "member"
}

public enum GroupMemberRole: String, Codable, Sendable, CaseIterable {
    case owner = "owner"
    case member = "member"
}

public enum CollectionSettingsPolicy: String, Codable, Sendable, CaseIterable {
    case lww = "lww"
    case serverWins = "server-wins"
    case optimistic = "optimistic"
}

public enum CollectionSettingsRead: String, Codable, Sendable, CaseIterable {
    case owner = "owner"
    case ownerShared = "owner-shared"
    case authenticatedRead = "authenticated-read"
    case publicRead = "public-read"
}

public enum CollectionConfigPolicy: String, Codable, Sendable, CaseIterable {
    case lww = "lww"
    case serverWins = "server-wins"
    case optimistic = "optimistic"
}

public enum CollectionConfigRead: String, Codable, Sendable, CaseIterable {
    case owner = "owner"
    case ownerShared = "owner-shared"
    case authenticatedRead = "authenticated-read"
    case publicRead = "public-read"
}

/// config: defined in tideline.yaml (read-only here); api: defined through this API.
public enum CollectionConfigSource: String, Codable, Sendable, CaseIterable {
    case config = "config"
    case api = "api"
}

public enum JWKKty: String, Codable, Sendable, CaseIterable {
    case okp = "OKP"
}

public enum JWKCrv: String, Codable, Sendable, CaseIterable {
    case ed25519 = "Ed25519"
}

public enum JWKUse: String, Codable, Sendable, CaseIterable {
    case sig = "sig"
}

public enum JWKAlg: String, Codable, Sendable, CaseIterable {
    case edDSA = "EdDSA"
}

public enum HealthStatus: String, Codable, Sendable, CaseIterable {
    case ok = "ok"
}

public enum ReadinessStatus: String, Codable, Sendable, CaseIterable {
    case ready = "ready"
}

/// The storage engine this node runs on.
public enum ReadinessEngine: String, Codable, Sendable, CaseIterable {
    case sqlite = "sqlite"
    case mongodb = "mongodb"
}

public struct AdminRotateSigningKeyResponse: Codable, Sendable, Equatable {
    public let kid: String

    public init(kid: String) {
        self.kid = kid
    }

    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: JSONKey.self)
        kid = try c.decode(String.self, forKey: JSONKey("kid"))
    }

    public func encode(to encoder: Encoder) throws {
        var c = encoder.container(keyedBy: JSONKey.self)
        try c.encode(kid, forKey: JSONKey("kid"))
    }
}

public struct CreateGroupRequest: Codable, Sendable, Equatable {
    public let name: String

    public init(name: String) {
        self.name = name
    }

    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: JSONKey.self)
        name = try c.decode(String.self, forKey: JSONKey("name"))
    }

    public func encode(to encoder: Encoder) throws {
        var c = encoder.container(keyedBy: JSONKey.self)
        try c.encode(name, forKey: JSONKey("name"))
    }
}
