package main

import (
	"fmt"
	"strconv"
	"strings"
)

// swiftKeywords need backticks where they name a member.
var swiftKeywords = set("associatedtype", "class", "deinit", "enum", "extension", "fileprivate", "func",
	"import", "init", "inout", "internal", "let", "open", "operator", "private", "precedencegroup",
	"protocol", "public", "rethrows", "static", "struct", "subscript", "typealias", "var", "break", "case",
	"catch", "continue", "default", "defer", "do", "else", "fallthrough", "for", "guard", "if", "in",
	"repeat", "return", "throw", "switch", "where", "while", "as", "await", "false", "is", "nil", "self",
	"super", "throws", "true", "try", "Any", "Self")

// swiftMember is a member name, in backticks when it is a keyword.
func swiftMember(s string) string {
	n := memberName(s, nil, "")
	if swiftKeywords[n] {
		return "`" + n + "`"
	}
	return n
}

// swift writes the Swift transport of an api: Codable models and TidelineAPI, with no
// package but Foundation (FoundationNetworking on Linux).
func swift(a *api, source string) string {
	var b strings.Builder
	fmt.Fprintf(&b, swiftHeader, source)
	b.WriteString(swiftRuntime)
	b.WriteString(swiftClient(a))
	for _, m := range a.models {
		b.WriteString("\n")
		switch m.kind {
		case mObject:
			b.WriteString(swiftStruct(m))
		case mEnum:
			b.WriteString(swiftEnum(m))
		case mOneOf:
			b.WriteString(swiftOneOf(m))
		}
	}
	return b.String()
}

const swiftHeader = `// GENERATED CODE - DO NOT EDIT. cmd/sdkgen writes it from %s:
// go generate ./cmd/sdkgen
//
// The HTTP layer of the Tideline API: a Codable model (struct, enum, or enum of variants)
// per schema, and an async throwing method per operation on TidelineAPI, on URLSession.
// It uses no package but Foundation.

import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif
`

const swiftRuntime = `
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
`

func swiftClient(a *api) string {
	var b strings.Builder
	b.WriteString(`
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
`)
	for _, op := range a.ops {
		b.WriteString("\n")
		b.WriteString(swiftMethod(op))
	}
	b.WriteString("}\n")
	return b.String()
}

func swiftMethod(op *operation) string {
	var b strings.Builder
	b.WriteString(comment(opDoc(op), "    ", "/// "))
	var params []string
	for _, p := range op.pathParams {
		params = append(params, swiftMember(p.name)+": "+swiftType(p.t))
	}
	if op.body != nil {
		if op.bodyRequired {
			params = append(params, "_ body: "+swiftType(*op.body))
		} else {
			params = append(params, "_ body: "+swiftType(*op.body)+"? = nil")
		}
	}
	for _, p := range op.queryParams {
		if p.required {
			params = append(params, swiftMember(p.name)+": "+swiftType(p.t))
		} else {
			params = append(params, swiftMember(p.name)+": "+swiftType(p.t)+"? = nil")
		}
	}
	path := op.path
	for _, p := range op.pathParams {
		path = strings.ReplaceAll(path, "{"+p.name+"}", `\(Self.escape(`+swiftText(p.t, swiftMember(p.name))+`))`)
	}
	var lines []string
	query := ""
	if len(op.queryParams) > 0 {
		lines = append(lines, "var query: [URLQueryItem] = []")
		for _, p := range op.queryParams {
			name := swiftMember(p.name)
			if p.required {
				lines = append(lines, fmt.Sprintf("query.append(URLQueryItem(name: %s, value: %s))", strconv.Quote(p.name), swiftText(p.t, name)))
			} else {
				lines = append(lines, fmt.Sprintf("if let value = %s { query.append(URLQueryItem(name: %s, value: %s)) }", name, strconv.Quote(p.name), swiftText(p.t, "value")))
			}
		}
		query = ", query: query"
	}
	sig := strings.Join(params, ", ")
	if op.result == rURI {
		fmt.Fprintf(&b, "    public func %sURL(%s) throws -> URL {\n", op.id, sig)
		for _, l := range lines {
			b.WriteString("        " + l + "\n")
		}
		q := ""
		if query != "" {
			q = ", query: query"
		}
		fmt.Fprintf(&b, "        return try url(\"%s\"%s)\n    }\n", path, q)
		return b.String()
	}
	body := ""
	if op.body != nil {
		if op.bodyRequired {
			body = ", body: try Self.encoder().encode(body)"
		} else {
			lines = append(lines, "let payload = try body.map { try Self.encoder().encode($0) }")
			body = ", body: payload"
		}
	}
	auth := ""
	if op.secured {
		auth = ", auth: true"
	}
	send := fmt.Sprintf("try await send(%s, \"%s\"%s%s%s)", strconv.Quote(strings.ToUpper(op.method)), path, query, body, auth)
	switch op.result {
	case rNone:
		fmt.Fprintf(&b, "    public func %s(%s) async throws {\n", op.id, sig)
		lines = append(lines, "_ = "+send)
	case rText:
		fmt.Fprintf(&b, "    public func %s(%s) async throws -> String {\n", op.id, sig)
		lines = append(lines, "let (data, _) = "+send, "return String(decoding: data, as: UTF8.self)")
	case rJSON:
		t := swiftType(*op.resultType)
		fmt.Fprintf(&b, "    public func %s(%s) async throws -> %s {\n", op.id, sig, t)
		lines = append(lines, "let (data, _) = "+send, fmt.Sprintf("return try Self.decoder().decode(%s.self, from: data)", t))
	}
	for _, l := range lines {
		b.WriteString("        " + l + "\n")
	}
	b.WriteString("    }\n")
	return b.String()
}

// swiftText is a parameter's value (a scalar or an enum) as text.
func swiftText(t typ, v string) string {
	switch t.kind {
	case kString:
		return v
	case kRef:
		return v + ".rawValue"
	case kDateTime:
		return "Self.text(" + v + ")"
	}
	return "String(" + v + ")"
}

// swiftType is t as a Swift type; a nullable type is an Optional (JSONValue holds its
// own null).
func swiftType(t typ) string {
	var s string
	switch t.kind {
	case kString:
		s = "String"
	case kInt:
		s = "Int"
	case kInt64:
		s = "Int64"
	case kNum, kDouble:
		s = "Double"
	case kBool:
		s = "Bool"
	case kDateTime:
		s = "Date"
	case kAny:
		return "JSONValue"
	case kRef:
		s = t.ref
	case kArray:
		s = "[" + swiftType(*t.elem) + "]"
	case kMap:
		s = "[String: " + swiftType(*t.elem) + "]"
	}
	if t.nullable {
		s += "?"
	}
	return s
}

func swiftStruct(m *model) string {
	var b strings.Builder
	b.WriteString(comment(m.doc, "", "/// "))
	fmt.Fprintf(&b, "public struct %s: Codable, Sendable, Equatable {\n", m.name)
	fieldType := func(f field) string {
		t := swiftType(f.t)
		if !f.required && !strings.HasSuffix(t, "?") {
			t += "?"
		}
		return t
	}
	for _, f := range m.fields {
		b.WriteString(comment(f.doc, "    ", "/// "))
		fmt.Fprintf(&b, "    public let %s: %s\n", swiftMember(f.json), fieldType(f))
	}
	if m.extra != nil {
		fmt.Fprintf(&b, "    /// The members beside the declared fields.\n    public let additionalProperties: [String: %s]\n", swiftType(*m.extra))
	}
	var args []string
	for _, f := range m.fields {
		a := swiftMember(f.json) + ": " + fieldType(f)
		if strings.HasSuffix(fieldType(f), "?") && !f.required {
			a += " = nil"
		}
		args = append(args, a)
	}
	if m.extra != nil {
		args = append(args, "additionalProperties: [String: "+swiftType(*m.extra)+"] = [:]")
	}
	fmt.Fprintf(&b, "\n    public init(%s) {\n", strings.Join(args, ", "))
	for _, f := range m.fields {
		n := swiftMember(f.json)
		fmt.Fprintf(&b, "        self.%s = %s\n", n, n)
	}
	if m.extra != nil {
		b.WriteString("        self.additionalProperties = additionalProperties\n")
	}
	b.WriteString("    }\n")
	if m.extra != nil {
		var keys []string
		for _, f := range m.fields {
			keys = append(keys, strconv.Quote(f.json))
		}
		fmt.Fprintf(&b, "\n    static let declared: Set<String> = [%s]\n", strings.Join(keys, ", "))
	}
	b.WriteString("\n    public init(from decoder: Decoder) throws {\n")
	b.WriteString("        let c = try decoder.container(keyedBy: JSONKey.self)\n")
	for _, f := range m.fields {
		n, key := swiftMember(f.json), "JSONKey("+strconv.Quote(f.json)+")"
		inner := strings.TrimSuffix(swiftType(f.t), "?")
		switch {
		case !f.required:
			fmt.Fprintf(&b, "        %s = try c.decodeIfPresent(%s.self, forKey: %s)\n", n, inner, key)
		case f.t.nullable && f.t.kind != kAny:
			fmt.Fprintf(&b, "        %s = try c.decodeNil(forKey: %s) ? nil : c.decode(%s.self, forKey: %s)\n", n, key, inner, key)
		default:
			fmt.Fprintf(&b, "        %s = try c.decode(%s.self, forKey: %s)\n", n, inner, key)
		}
	}
	if m.extra != nil {
		fmt.Fprintf(&b, "        var rest: [String: %s] = [:]\n", swiftType(*m.extra))
		b.WriteString("        for key in c.allKeys where !Self.declared.contains(key.stringValue) {\n")
		fmt.Fprintf(&b, "            rest[key.stringValue] = try c.decode(%s.self, forKey: key)\n        }\n", swiftType(*m.extra))
		b.WriteString("        additionalProperties = rest\n")
	}
	b.WriteString("    }\n\n    public func encode(to encoder: Encoder) throws {\n")
	if len(m.fields) > 0 || m.extra != nil {
		b.WriteString("        var c = encoder.container(keyedBy: JSONKey.self)\n")
	} else {
		b.WriteString("        _ = encoder.container(keyedBy: JSONKey.self)\n")
	}
	for _, f := range m.fields {
		n, key := swiftMember(f.json), "JSONKey("+strconv.Quote(f.json)+")"
		if f.required {
			fmt.Fprintf(&b, "        try c.encode(%s, forKey: %s)\n", n, key)
		} else {
			fmt.Fprintf(&b, "        try c.encodeIfPresent(%s, forKey: %s)\n", n, key)
		}
	}
	if m.extra != nil {
		b.WriteString("        for (key, value) in additionalProperties {\n            try c.encode(value, forKey: JSONKey(key))\n        }\n")
	}
	b.WriteString("    }\n}\n")
	return b.String()
}

func swiftEnum(m *model) string {
	var b strings.Builder
	b.WriteString(comment(m.doc, "", "/// "))
	fmt.Fprintf(&b, "public enum %s: String, Codable, Sendable, CaseIterable {\n", m.name)
	for _, v := range m.values {
		fmt.Fprintf(&b, "    case %s = %s\n", swiftMember(v), strconv.Quote(v))
	}
	b.WriteString("}\n")
	return b.String()
}

func swiftOneOf(m *model) string {
	var b strings.Builder
	b.WriteString(comment(m.doc, "", "/// "))
	fmt.Fprintf(&b, "public enum %s: Codable, Sendable, Equatable {\n", m.name)
	for _, v := range m.variants {
		fmt.Fprintf(&b, "    case %s(%s)\n", swiftMember(variantName(v)), swiftType(v.t))
	}
	b.WriteString("\n    public init(from decoder: Decoder) throws {\n")
	if m.discriminator != "" {
		key := "JSONKey(" + strconv.Quote(m.discriminator) + ")"
		b.WriteString("        let c = try decoder.container(keyedBy: JSONKey.self)\n")
		fmt.Fprintf(&b, "        switch try c.decode(String.self, forKey: %s) {\n", key)
		for _, v := range m.variants {
			fmt.Fprintf(&b, "        case %s:\n            self = .%s(try %s(from: decoder))\n", strconv.Quote(v.tag), swiftMember(variantName(v)), swiftType(v.t))
		}
		fmt.Fprintf(&b, "        default:\n            throw DecodingError.dataCorruptedError(forKey: %s, in: c, debugDescription: \"%s: no variant matches\")\n        }\n", key, m.name)
	} else {
		for _, v := range m.variants {
			fmt.Fprintf(&b, "        if let value = try? %s(from: decoder) {\n            self = .%s(value)\n            return\n        }\n", strings.TrimSuffix(swiftType(v.t), "?"), swiftMember(variantName(v)))
		}
		fmt.Fprintf(&b, "        throw DecodingError.dataCorrupted(DecodingError.Context(codingPath: decoder.codingPath, debugDescription: \"%s: no variant matches\"))\n", m.name)
	}
	b.WriteString("    }\n\n    public func encode(to encoder: Encoder) throws {\n        switch self {\n")
	for _, v := range m.variants {
		fmt.Fprintf(&b, "        case .%s(let value):\n            try value.encode(to: encoder)\n", swiftMember(variantName(v)))
	}
	b.WriteString("        }\n    }\n}\n")
	return b.String()
}
