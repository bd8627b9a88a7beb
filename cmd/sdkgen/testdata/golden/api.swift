// GENERATED CODE - DO NOT EDIT. cmd/sdkgen writes it from testdata/fixture.yaml:
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

    /// A pet's toys
    ///
    /// `GET /pets/{petId}/toys` (bearer token)
    public func listToys(petId: String, kind: ToyKind, limit: Int? = nil, since: Date? = nil) async throws -> [Toy] {
        var query: [URLQueryItem] = []
        query.append(URLQueryItem(name: "kind", value: kind.rawValue))
        if let value = limit { query.append(URLQueryItem(name: "limit", value: String(value))) }
        if let value = since { query.append(URLQueryItem(name: "since", value: Self.text(value))) }
        let (data, _) = try await send("GET", "/pets/\(Self.escape(petId))/toys", query: query, auth: true)
        return try Self.decoder().decode([Toy].self, from: data)
    }

    /// Add a pet
    ///
    /// `POST /pets`
    public func createPet(_ body: Pet) async throws -> Pet {
        let (data, _) = try await send("POST", "/pets", body: try Self.encoder().encode(body))
        return try Self.decoder().decode(Pet.self, from: data)
    }

    /// `DELETE /pets/{petId}`
    public func deletePet(petId: Int64) async throws {
        _ = try await send("DELETE", "/pets/\(Self.escape(String(petId)))")
    }

    /// `PUT /notes`
    public func putNote(_ body: PutNoteRequest? = nil) async throws -> PutNoteResponse {
        let payload = try body.map { try Self.encoder().encode($0) }
        let (data, _) = try await send("PUT", "/notes", body: payload)
        return try Self.decoder().decode(PutNoteResponse.self, from: data)
    }

    /// `GET /feed`
    public func feedURL() throws -> URL {
        return try url("/feed")
    }

    /// `GET /readme`
    public func readme() async throws -> String {
        let (data, _) = try await send("GET", "/readme")
        return String(decoding: data, as: UTF8.self)
    }
}

/// A pet, with a nullable name and a oneOf owner.
public struct Pet: Codable, Sendable, Equatable {
    public let id: Int64
    /// Null when the pet has none.
    public let name: String?
    public let kind: ToyKind
    public let weight: Double?
    public let born: Date?
    /// A person or a shelter, told apart by type.
    public let owner: Owner
    public let toys: [Toy]
    public let tags: [String: String]
    public let extra: [String: JSONValue]?
    public let scores: [Double]?
    public let mood: PetMood?

    public init(id: Int64, name: String?, kind: ToyKind, weight: Double? = nil, born: Date? = nil, owner: Owner, toys: [Toy], tags: [String: String], extra: [String: JSONValue]? = nil, scores: [Double]? = nil, mood: PetMood? = nil) {
        self.id = id
        self.name = name
        self.kind = kind
        self.weight = weight
        self.born = born
        self.owner = owner
        self.toys = toys
        self.tags = tags
        self.extra = extra
        self.scores = scores
        self.mood = mood
    }

    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: JSONKey.self)
        id = try c.decode(Int64.self, forKey: JSONKey("id"))
        name = try c.decodeNil(forKey: JSONKey("name")) ? nil : c.decode(String.self, forKey: JSONKey("name"))
        kind = try c.decode(ToyKind.self, forKey: JSONKey("kind"))
        weight = try c.decodeIfPresent(Double.self, forKey: JSONKey("weight"))
        born = try c.decodeIfPresent(Date.self, forKey: JSONKey("born"))
        owner = try c.decode(Owner.self, forKey: JSONKey("owner"))
        toys = try c.decode([Toy].self, forKey: JSONKey("toys"))
        tags = try c.decode([String: String].self, forKey: JSONKey("tags"))
        extra = try c.decodeIfPresent([String: JSONValue].self, forKey: JSONKey("extra"))
        scores = try c.decodeIfPresent([Double].self, forKey: JSONKey("scores"))
        mood = try c.decodeIfPresent(PetMood.self, forKey: JSONKey("mood"))
    }

    public func encode(to encoder: Encoder) throws {
        var c = encoder.container(keyedBy: JSONKey.self)
        try c.encode(id, forKey: JSONKey("id"))
        try c.encode(name, forKey: JSONKey("name"))
        try c.encode(kind, forKey: JSONKey("kind"))
        try c.encodeIfPresent(weight, forKey: JSONKey("weight"))
        try c.encodeIfPresent(born, forKey: JSONKey("born"))
        try c.encode(owner, forKey: JSONKey("owner"))
        try c.encode(toys, forKey: JSONKey("toys"))
        try c.encode(tags, forKey: JSONKey("tags"))
        try c.encodeIfPresent(extra, forKey: JSONKey("extra"))
        try c.encodeIfPresent(scores, forKey: JSONKey("scores"))
        try c.encodeIfPresent(mood, forKey: JSONKey("mood"))
    }
}

public struct Toy: Codable, Sendable, Equatable {
    public let name: String
    public let requestId: String?
    /// The members beside the declared fields.
    public let additionalProperties: [String: Int]

    public init(name: String, requestId: String? = nil, additionalProperties: [String: Int] = [:]) {
        self.name = name
        self.requestId = requestId
        self.additionalProperties = additionalProperties
    }

    static let declared: Set<String> = ["name", "request_id"]

    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: JSONKey.self)
        name = try c.decode(String.self, forKey: JSONKey("name"))
        requestId = try c.decodeIfPresent(String.self, forKey: JSONKey("request_id"))
        var rest: [String: Int] = [:]
        for key in c.allKeys where !Self.declared.contains(key.stringValue) {
            rest[key.stringValue] = try c.decode(Int.self, forKey: key)
        }
        additionalProperties = rest
    }

    public func encode(to encoder: Encoder) throws {
        var c = encoder.container(keyedBy: JSONKey.self)
        try c.encode(name, forKey: JSONKey("name"))
        try c.encodeIfPresent(requestId, forKey: JSONKey("request_id"))
        for (key, value) in additionalProperties {
            try c.encode(value, forKey: JSONKey(key))
        }
    }
}

public enum ToyKind: String, Codable, Sendable, CaseIterable {
    case ball = "ball"
    case rope = "rope"
    case chewBone = "chew-bone"
}

/// A person or a shelter, told apart by type.
public enum Owner: Codable, Sendable, Equatable {
    case person(Person)
    case shelter(Shelter)

    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: JSONKey.self)
        switch try c.decode(String.self, forKey: JSONKey("type")) {
        case "person":
            self = .person(try Person(from: decoder))
        case "shelter":
            self = .shelter(try Shelter(from: decoder))
        default:
            throw DecodingError.dataCorruptedError(forKey: JSONKey("type"), in: c, debugDescription: "Owner: no variant matches")
        }
    }

    public func encode(to encoder: Encoder) throws {
        switch self {
        case .person(let value):
            try value.encode(to: encoder)
        case .shelter(let value):
            try value.encode(to: encoder)
        }
    }
}

public struct Person: Codable, Sendable, Equatable {
    public let type: String
    public let name: String

    public init(type: String, name: String) {
        self.type = type
        self.name = name
    }

    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: JSONKey.self)
        type = try c.decode(String.self, forKey: JSONKey("type"))
        name = try c.decode(String.self, forKey: JSONKey("name"))
    }

    public func encode(to encoder: Encoder) throws {
        var c = encoder.container(keyedBy: JSONKey.self)
        try c.encode(type, forKey: JSONKey("type"))
        try c.encode(name, forKey: JSONKey("name"))
    }
}

public struct Shelter: Codable, Sendable, Equatable {
    public let type: String
    public let city: String

    public init(type: String, city: String) {
        self.type = type
        self.city = city
    }

    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: JSONKey.self)
        type = try c.decode(String.self, forKey: JSONKey("type"))
        city = try c.decode(String.self, forKey: JSONKey("city"))
    }

    public func encode(to encoder: Encoder) throws {
        var c = encoder.container(keyedBy: JSONKey.self)
        try c.encode(type, forKey: JSONKey("type"))
        try c.encode(city, forKey: JSONKey("city"))
    }
}

/// A text, a number, or a rich label, without a discriminator.
public enum Label: Codable, Sendable, Equatable {
    case string(String)
    case int(Int)
    case person(Person)

    public init(from decoder: Decoder) throws {
        if let value = try? String(from: decoder) {
            self = .string(value)
            return
        }
        if let value = try? Int(from: decoder) {
            self = .int(value)
            return
        }
        if let value = try? Person(from: decoder) {
            self = .person(value)
            return
        }
        throw DecodingError.dataCorrupted(DecodingError.Context(codingPath: decoder.codingPath, debugDescription: "Label: no variant matches"))
    }

    public func encode(to encoder: Encoder) throws {
        switch self {
        case .string(let value):
            try value.encode(to: encoder)
        case .int(let value):
            try value.encode(to: encoder)
        case .person(let value):
            try value.encode(to: encoder)
        }
    }
}

public enum PetMood: String, Codable, Sendable, CaseIterable {
    case happy = "happy"
    case soSo = "so-so"
    case `default` = "default"
}

public struct PutNoteRequest: Codable, Sendable, Equatable {
    public let text: String?

    public init(text: String? = nil) {
        self.text = text
    }

    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: JSONKey.self)
        text = try c.decodeIfPresent(String.self, forKey: JSONKey("text"))
    }

    public func encode(to encoder: Encoder) throws {
        var c = encoder.container(keyedBy: JSONKey.self)
        try c.encodeIfPresent(text, forKey: JSONKey("text"))
    }
}

public struct PutNoteResponse: Codable, Sendable, Equatable {
    public let id: String

    public init(id: String) {
        self.id = id
    }

    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: JSONKey.self)
        id = try c.decode(String.self, forKey: JSONKey("id"))
    }

    public func encode(to encoder: Encoder) throws {
        var c = encoder.container(keyedBy: JSONKey.self)
        try c.encode(id, forKey: JSONKey("id"))
    }
}
