package main

import (
	"fmt"
	"strconv"
	"strings"
)

// dartKeywords are the Dart language's reserved words and built-in identifiers, and the
// members every object has: no generated member takes one of these names.
var dartKeywords = []string{"assert", "break", "case", "catch", "class", "const", "continue", "default", "do",
	"else", "enum", "extends", "false", "final", "finally", "for", "if", "in", "is", "new", "null",
	"rethrow", "return", "super", "switch", "this", "throw", "true", "try", "var", "void", "while", "with",
	"abstract", "as", "covariant", "deferred", "dynamic", "export", "extension", "external", "factory",
	"get", "implements", "import", "interface", "late", "library", "mixin", "operator", "part",
	"required", "set", "static", "typedef", "await", "yield", "hashCode", "runtimeType", "toString",
	"noSuchMethod"}

// dartReserved are the names a field, a parameter or a statement constant may not take:
// the keywords, and the names the generated code uses itself (the factory's json, the
// pattern variable value, toJson, fromJson, additionalProperties).
var dartReserved = set(append([]string{"json", "value", "toJson", "fromJson", "additionalProperties"}, dartKeywords...)...)

// dartEnumReserved are the names an enum value may not take: the keywords, the members
// every enum has (index, name, values) and the generated ones (json, toJson, fromJson).
var dartEnumReserved = set(append([]string{"index", "name", "values", "json", "toJson", "fromJson"}, dartKeywords...)...)

func dartMember(s string) string { return memberName(s, dartReserved, "Value") }

// dart writes the Dart transport of an api: models, TidelineApi, TidelineTransport and
// TidelineException (docs/sdk-flutter.md).
func dart(a *api, source string) string {
	var b strings.Builder
	fmt.Fprintf(&b, dartHeader, source)
	b.WriteString(dartRuntime)
	b.WriteString(dartClient(a))
	for _, m := range a.models {
		b.WriteString("\n")
		switch m.kind {
		case mObject:
			b.WriteString(dartClass(a, m))
		case mEnum:
			b.WriteString(dartEnum(m))
		case mOneOf:
			b.WriteString(dartOneOf(a, m))
		}
	}
	return b.String()
}

const dartHeader = `// GENERATED CODE - DO NOT EDIT. cmd/sdkgen writes it from %s:
// go generate ./cmd/sdkgen
//
// The HTTP layer of the Tideline API: a model class (or enum, or sealed type) per schema,
// a typed method per operation on TidelineApi, and one TidelineTransport that adds the
// bearer token, reads Retry-After and turns every answer that is not a success into a
// TidelineException.

// ignore_for_file: lines_longer_than_80_chars, unnecessary_brace_in_string_interps, sort_constructors_first

import 'dart:convert';

import 'package:http/http.dart' as http;
`

// dartRuntime is the fixed part of the transport.
const dartRuntime = `
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
`

func dartClient(a *api) string {
	var b strings.Builder
	b.WriteString(`
/// The Tideline API: one method per operation of openapi.yaml.
final class TidelineApi {
  /// The API over [transport].
  TidelineApi(this.transport);

  /// The transport the requests go through.
  final TidelineTransport transport;

  /// The same API with another bearer token.
  TidelineApi withToken(String? token) => TidelineApi(transport.withToken(token));
`)
	for _, op := range a.ops {
		b.WriteString("\n")
		b.WriteString(dartMethod(a, op))
	}
	b.WriteString("}\n")
	return b.String()
}

func dartMethod(a *api, op *operation) string {
	var b strings.Builder
	b.WriteString(comment(opDoc(op), "  ", "/// "))
	var positional, named []string
	for _, p := range op.pathParams {
		positional = append(positional, dartType(a, p.t)+" "+dartMember(p.name))
	}
	if op.body != nil {
		if op.bodyRequired {
			positional = append(positional, dartType(a, *op.body)+" body")
		} else {
			named = append(named, dartType(a, nullable(*op.body))+" body")
		}
	}
	for _, p := range op.queryParams {
		if p.required {
			named = append(named, "required "+dartType(a, p.t)+" "+dartMember(p.name))
		} else {
			named = append(named, dartType(a, nullable(p.t))+" "+dartMember(p.name))
		}
	}
	params := strings.Join(positional, ", ")
	if len(named) > 0 {
		if params != "" {
			params += ", "
		}
		params += "{" + strings.Join(named, ", ") + "}"
	}
	path := op.path
	for _, p := range op.pathParams {
		path = strings.ReplaceAll(path, "{"+p.name+"}", "${Uri.encodeComponent("+dartScalarText(p.t, dartMember(p.name))+")}")
	}
	query := ""
	if len(op.queryParams) > 0 {
		var parts []string
		for _, p := range op.queryParams {
			name := dartMember(p.name)
			if p.required {
				parts = append(parts, fmt.Sprintf("%s: %s", dartString(p.name), dartScalarText(p.t, name)))
			} else {
				parts = append(parts, fmt.Sprintf("if (%s case final value?) %s: %s", name, dartString(p.name), dartScalarText(p.t, "value")))
			}
		}
		query = ", query: {" + strings.Join(parts, ", ") + "}"
	}
	if op.result == rURI {
		fmt.Fprintf(&b, "  Uri %sUri(%s) => transport.uri('%s'%s);\n", op.id, params, path, query)
		return b.String()
	}
	body := ""
	if op.body != nil {
		enc := "jsonEncode(" + dartEncode(a, *op.body, "body", 0) + ")"
		if !op.bodyRequired {
			enc = "body == null ? null : jsonEncode(body)"
			if !plain(*op.body) {
				enc = "switch (body) { final value? => jsonEncode(" + dartEncode(a, *op.body, "value", 0) + "), null => null }"
			}
		}
		body = ", body: " + enc
	}
	auth := ""
	if op.secured {
		auth = ", auth: true"
	}
	send := fmt.Sprintf("await transport.send('%s', '%s'%s%s%s)", strings.ToUpper(op.method), path, query, body, auth)
	switch op.result {
	case rNone:
		fmt.Fprintf(&b, "  Future<void> %s(%s) async {\n    %s;\n  }\n", op.id, params, send)
	case rText:
		fmt.Fprintf(&b, "  Future<String> %s(%s) async => (%s).body;\n", op.id, params, send)
	case rJSON:
		t := *op.resultType
		fmt.Fprintf(&b, "  Future<%s> %s(%s) async {\n    final res = %s;\n    return %s;\n  }\n",
			dartType(a, t), op.id, params, send, dartDecode(a, t, "jsonDecode(res.body)", 0, "_object(res.body)"))
	}
	return b.String()
}

func nullable(t typ) typ { t.nullable = true; return t }

// dartScalarText is a query or path parameter's value (a scalar or an enum) as text.
func dartScalarText(t typ, v string) string {
	switch t.kind {
	case kString:
		return v
	case kRef:
		return v + ".json"
	case kDateTime:
		return "_date(" + v + ")"
	}
	return "'$" + v + "'"
}

func dartString(s string) string {
	q := strconv.Quote(s)
	q = strings.ReplaceAll(q[1:len(q)-1], "'", `\'`)
	q = strings.ReplaceAll(q, "$", `\$`)
	return "'" + q + "'"
}

// dartType is t as a Dart type.
func dartType(a *api, t typ) string {
	var s string
	switch t.kind {
	case kString:
		s = "String"
	case kInt, kInt64:
		s = "int"
	case kNum:
		s = "num"
	case kDouble:
		s = "double"
	case kBool:
		s = "bool"
	case kDateTime:
		s = "DateTime"
	case kAny:
		return "Object?"
	case kRef:
		s = t.ref
	case kArray:
		s = "List<" + dartType(a, *t.elem) + ">"
	case kMap:
		s = "Map<String, " + dartType(a, *t.elem) + ">"
	}
	if t.nullable {
		s += "?"
	}
	return s
}

func (a *api) model(name string) *model {
	for _, m := range a.models {
		if m.name == name {
			return m
		}
	}
	panic("no model " + name)
}

// dartDecode is the Dart expression that decodes the JSON value v (an Object?) as t.
// objectExpr, when set, is a better expression for v as a JSON object.
func dartDecode(a *api, t typ, v string, depth int, objectExpr ...string) string {
	if t.nullable && t.kind != kAny {
		inner := t
		inner.nullable = false
		return fmt.Sprintf("%s == null ? null : %s", v, dartDecode(a, inner, v, depth))
	}
	e := fmt.Sprintf("e%d", depth)
	switch t.kind {
	case kString:
		return v + " as String"
	case kInt, kInt64:
		return "(" + v + " as num).toInt()"
	case kNum:
		return v + " as num"
	case kDouble:
		return "(" + v + " as num).toDouble()"
	case kBool:
		return v + " as bool"
	case kDateTime:
		return "DateTime.parse(" + v + " as String)"
	case kAny:
		return v
	case kRef:
		switch a.model(t.ref).kind {
		case mObject:
			if len(objectExpr) > 0 {
				return t.ref + ".fromJson(" + objectExpr[0] + ")"
			}
			return t.ref + ".fromJson(" + v + " as Map<String, Object?>)"
		case mEnum:
			return t.ref + ".fromJson(" + v + " as String)"
		default:
			return t.ref + ".fromJson(" + v + ")"
		}
	case kArray:
		return fmt.Sprintf("List<%s>.unmodifiable((%s as List<Object?>).map((%s) => %s))",
			dartType(a, *t.elem), v, e, dartDecode(a, *t.elem, e, depth+1))
	case kMap:
		if t.elem.kind == kAny {
			return fmt.Sprintf("Map<String, Object?>.unmodifiable(%s as Map<String, Object?>)", v)
		}
		return fmt.Sprintf("Map<String, %s>.unmodifiable((%s as Map<String, Object?>).map((k%d, %s) => MapEntry(k%d, %s)))",
			dartType(a, *t.elem), v, depth, e, depth, dartDecode(a, *t.elem, e, depth+1))
	}
	panic("unknown kind")
}

// dartEncode is the Dart expression that encodes the value v (of type t, not null) as
// JSON.
func dartEncode(a *api, t typ, v string, depth int) string {
	e := fmt.Sprintf("e%d", depth)
	switch t.kind {
	case kDateTime:
		return "_date(" + v + ")"
	case kRef:
		return v + ".toJson()"
	case kArray:
		if plain(*t.elem) {
			return v
		}
		return fmt.Sprintf("[for (final %s in %s) %s]", e, v, dartEncodeMaybeNull(a, *t.elem, e, depth+1))
	case kMap:
		if plain(*t.elem) {
			return v
		}
		return fmt.Sprintf("{for (final %s in %s.entries) %s.key: %s}", e, v, e, dartEncodeMaybeNull(a, *t.elem, e+".value", depth+1))
	}
	return v
}

func dartEncodeMaybeNull(a *api, t typ, v string, depth int) string {
	if !t.nullable {
		return dartEncode(a, t, v, depth)
	}
	inner := t
	inner.nullable = false
	return fmt.Sprintf("switch (%s) { final n%d? => %s, null => null }", v, depth, dartEncode(a, inner, fmt.Sprintf("n%d", depth), depth))
}

// plain reports whether values of t are their own JSON (no conversion needed).
func plain(t typ) bool {
	switch t.kind {
	case kString, kInt, kInt64, kNum, kDouble, kBool, kAny:
		return true
	case kArray, kMap:
		return plain(*t.elem)
	}
	return false
}

func dartClass(a *api, m *model) string {
	var b strings.Builder
	b.WriteString(comment(m.doc, "", "/// "))
	fmt.Fprintf(&b, "final class %s {\n", m.name)
	fmt.Fprintf(&b, "  /// Creates a [%s].\n  const %s(", m.name, m.name)
	if len(m.fields) > 0 || m.extra != nil {
		b.WriteString("{\n")
		for _, f := range m.fields {
			if f.required {
				fmt.Fprintf(&b, "    required this.%s,\n", dartMember(f.json))
			} else {
				fmt.Fprintf(&b, "    this.%s,\n", dartMember(f.json))
			}
		}
		if m.extra != nil {
			b.WriteString("    this.additionalProperties = const {},\n")
		}
		b.WriteString("  }")
	}
	b.WriteString(");\n\n")
	fmt.Fprintf(&b, "  /// Decodes a [%s] from its JSON object.\n", m.name)
	fmt.Fprintf(&b, "  factory %s.fromJson(Map<String, Object?> json) => %s(\n", m.name, m.name)
	for _, f := range m.fields {
		t := f.t
		if !f.required {
			t.nullable = true
		}
		fmt.Fprintf(&b, "        %s: %s,\n", dartMember(f.json), dartDecode(a, t, "json["+dartString(f.json)+"]", 0))
	}
	if m.extra != nil {
		fmt.Fprintf(&b, "        additionalProperties: Map<String, %s>.unmodifiable({\n", dartType(a, *m.extra))
		b.WriteString("          for (final e in json.entries)\n")
		fmt.Fprintf(&b, "            if (!_declared.contains(e.key)) e.key: %s,\n", dartDecode(a, *m.extra, "e.value", 1))
		b.WriteString("        }),\n")
	}
	b.WriteString("      );\n")
	if m.extra != nil {
		var keys []string
		for _, f := range m.fields {
			keys = append(keys, dartString(f.json))
		}
		fmt.Fprintf(&b, "\n  static const _declared = <String>{%s};\n", strings.Join(keys, ", "))
	}
	for _, f := range m.fields {
		t := f.t
		if !f.required {
			t.nullable = true
		}
		b.WriteString("\n")
		b.WriteString(comment(f.doc, "  ", "/// "))
		fmt.Fprintf(&b, "  final %s %s;\n", dartType(a, t), dartMember(f.json))
	}
	if m.extra != nil {
		fmt.Fprintf(&b, "\n  /// The members beside the declared fields.\n  final Map<String, %s> additionalProperties;\n", dartType(a, *m.extra))
	}
	fmt.Fprintf(&b, "\n  /// Encodes this [%s] as its JSON object.\n", m.name)
	b.WriteString("  Map<String, Object?> toJson() => {\n")
	for _, f := range m.fields {
		name, key := dartMember(f.json), dartString(f.json)
		switch {
		case f.required && !f.t.nullable:
			fmt.Fprintf(&b, "        %s: %s,\n", key, dartEncode(a, f.t, name, 0))
		case f.required:
			inner := f.t
			inner.nullable = false
			if plain(inner) {
				fmt.Fprintf(&b, "        %s: %s,\n", key, name)
			} else {
				fmt.Fprintf(&b, "        %s: switch (%s) { final value? => %s, null => null },\n", key, name, dartEncode(a, inner, "value", 0))
			}
		default:
			inner := f.t
			inner.nullable = false
			fmt.Fprintf(&b, "        if (%s case final value?) %s: %s,\n", name, key, dartEncode(a, inner, "value", 0))
		}
	}
	if m.extra != nil {
		fmt.Fprintf(&b, "        for (final e in additionalProperties.entries) e.key: %s,\n", dartEncodeMaybeNull(a, *m.extra, "e.value", 1))
	}
	b.WriteString("      };\n}\n")
	return b.String()
}

func dartEnum(m *model) string {
	var b strings.Builder
	b.WriteString(comment(m.doc, "", "/// "))
	fmt.Fprintf(&b, "enum %s {\n", m.name)
	for i, v := range m.values {
		sep := ","
		if i == len(m.values)-1 {
			sep = ";"
		}
		fmt.Fprintf(&b, "  %s(%s)%s\n", memberName(v, dartEnumReserved, "Value"), dartString(v), sep)
	}
	fmt.Fprintf(&b, `
  const %[1]s(this.json);

  /// Decodes a [%[1]s]; a value the API does not list is a FormatException.
  static %[1]s fromJson(String json) => values.firstWhere((v) => v.json == json,
      orElse: () => throw FormatException('%[1]s: unknown value', json));

  /// The value as JSON has it.
  final String json;

  /// Encodes this [%[1]s] as JSON.
  String toJson() => json;
}
`, m.name)
	return b.String()
}

func dartOneOf(a *api, m *model) string {
	var b strings.Builder
	b.WriteString(comment(m.doc, "", "/// "))
	fmt.Fprintf(&b, "sealed class %s {\n  const %s();\n\n", m.name, m.name)
	fmt.Fprintf(&b, "  /// Decodes a [%s]: the variant its JSON matches", m.name)
	if m.discriminator != "" {
		fmt.Fprintf(&b, " by %s", dartString(m.discriminator))
	} else {
		b.WriteString(", tried in order")
	}
	b.WriteString(".\n")
	fmt.Fprintf(&b, "  factory %s.fromJson(Object? json) {\n", m.name)
	if m.discriminator != "" {
		fmt.Fprintf(&b, "    if (json is Map<String, Object?>) {\n      switch (json[%s]) {\n", dartString(m.discriminator))
		for _, v := range m.variants {
			fmt.Fprintf(&b, "        case %s:\n          return %s(%s.fromJson(json));\n", dartString(v.tag), variantClass(m, v), v.t.ref)
		}
		b.WriteString("      }\n    }\n")
	} else {
		for _, v := range m.variants {
			fmt.Fprintf(&b, "    if (%s) return %s(%s);\n", dartMatch(a, v, "json"), variantClass(m, v), dartDecodeChecked(a, v.t, "json"))
		}
	}
	fmt.Fprintf(&b, "    throw FormatException('%s: no variant matches', json);\n  }\n\n", m.name)
	fmt.Fprintf(&b, "  /// Encodes this [%s] as its variant's JSON.\n  Object? toJson();\n}\n", m.name)
	for _, v := range m.variants {
		cls := variantClass(m, v)
		fmt.Fprintf(&b, "\n/// The [%s] that is a %s.\nfinal class %s extends %s {\n", m.name, dartType(a, v.t), cls, m.name)
		fmt.Fprintf(&b, "  /// Wraps [value].\n  const %s(this.value);\n\n  /// The variant's value.\n  final %s value;\n\n", cls, dartType(a, v.t))
		inner := v.t
		if v.t.nullable {
			fmt.Fprintf(&b, "  @override\n  Object? toJson() => %s;\n}\n", dartEncodeMaybeNull(a, inner, "value", 0))
		} else {
			fmt.Fprintf(&b, "  @override\n  Object? toJson() => %s;\n}\n", dartEncode(a, inner, "value", 0))
		}
	}
	return b.String()
}

// dartDecodeChecked decodes the JSON value v as t after dartMatch's test promoted it
// (to String, num, bool, a list or a map): no cast is left to make.
func dartDecodeChecked(a *api, t typ, v string) string {
	if t.nullable && t.kind != kAny {
		inner := t
		inner.nullable = false
		return fmt.Sprintf("%s == null ? null : %s", v, dartDecodeChecked(a, inner, v))
	}
	switch t.kind {
	case kDouble:
		return v + ".toDouble()"
	case kDateTime:
		return "DateTime.parse(" + v + ")"
	case kRef:
		return t.ref + ".fromJson(" + v + ")"
	case kArray:
		return fmt.Sprintf("List<%s>.unmodifiable(%s.map((e0) => %s))", dartType(a, *t.elem), v, dartDecode(a, *t.elem, "e0", 1))
	case kMap:
		if t.elem.kind == kAny {
			return fmt.Sprintf("Map<String, Object?>.unmodifiable(%s)", v)
		}
		return fmt.Sprintf("Map<String, %s>.unmodifiable(%s.map((k0, e0) => MapEntry(k0, %s)))", dartType(a, *t.elem), v, dartDecode(a, *t.elem, "e0", 1))
	}
	return v
}

func variantClass(m *model, v variant) string { return m.name + variantName(v) }

// variantName names a oneOf variant by its type.
func variantName(v variant) string {
	switch v.t.kind {
	case kRef:
		return v.t.ref
	case kString:
		return "String"
	case kInt, kInt64:
		return "Int"
	case kNum, kDouble:
		return "Number"
	case kBool:
		return "Bool"
	case kDateTime:
		return "DateTime"
	case kArray:
		return "List"
	case kMap:
		return "Map"
	}
	return "Value"
}

// dartMatch is the test that JSON value v can be the variant.
func dartMatch(a *api, v variant, j string) string {
	null := ""
	if v.t.nullable {
		null = j + " == null || "
	}
	switch v.t.kind {
	case kString, kDateTime:
		return null + j + " is String"
	case kInt, kInt64:
		return null + j + " is int"
	case kNum, kDouble:
		return null + j + " is num"
	case kBool:
		return null + j + " is bool"
	case kArray:
		return null + j + " is List<Object?>"
	case kMap:
		return null + j + " is Map<String, Object?>"
	case kRef:
		switch a.model(v.t.ref).kind {
		case mEnum:
			return null + j + " is String"
		case mObject:
			test := j + " is Map<String, Object?>"
			for _, r := range v.required {
				test += " && " + j + ".containsKey(" + dartString(r) + ")"
			}
			return null + test
		}
	}
	return "true"
}
