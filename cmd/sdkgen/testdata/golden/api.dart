// GENERATED CODE - DO NOT EDIT. cmd/sdkgen writes it from testdata/fixture.yaml:
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

  /// A pet's toys
  ///
  /// `GET /pets/{petId}/toys` (bearer token)
  Future<List<Toy>> listToys(String petId, {required ToyKind kind, int? limit, DateTime? since}) async {
    final res = await transport.send('GET', '/pets/${Uri.encodeComponent(petId)}/toys', query: {'kind': kind.json, if (limit case final value?) 'limit': '$value', if (since case final value?) 'since': _date(value)}, auth: true);
    return List<Toy>.unmodifiable((jsonDecode(res.body) as List<Object?>).map((e0) => Toy.fromJson(e0 as Map<String, Object?>)));
  }

  /// Add a pet
  ///
  /// `POST /pets`
  Future<Pet> createPet(Pet body) async {
    final res = await transport.send('POST', '/pets', body: jsonEncode(body.toJson()));
    return Pet.fromJson(_object(res.body));
  }

  /// `DELETE /pets/{petId}`
  Future<void> deletePet(int petId) async {
    await transport.send('DELETE', '/pets/${Uri.encodeComponent('$petId')}');
  }

  /// `PUT /notes`
  Future<PutNoteResponse> putNote({PutNoteRequest? body}) async {
    final res = await transport.send('PUT', '/notes', body: switch (body) { final value? => jsonEncode(value.toJson()), null => null });
    return PutNoteResponse.fromJson(_object(res.body));
  }

  /// `GET /feed`
  Uri feedUri() => transport.uri('/feed');

  /// `GET /readme`
  Future<String> readme() async => (await transport.send('GET', '/readme')).body;
}

/// A pet, with a nullable name and a oneOf owner.
final class Pet {
  /// Creates a [Pet].
  const Pet({
    required this.id,
    required this.name,
    required this.kind,
    this.weight,
    this.born,
    required this.owner,
    required this.toys,
    required this.tags,
    this.extra,
    this.scores,
    this.mood,
  });

  /// Decodes a [Pet] from its JSON object.
  factory Pet.fromJson(Map<String, Object?> json) => Pet(
        id: (json['id'] as num).toInt(),
        name: json['name'] == null ? null : json['name'] as String,
        kind: ToyKind.fromJson(json['kind'] as String),
        weight: json['weight'] == null ? null : (json['weight'] as num).toDouble(),
        born: json['born'] == null ? null : DateTime.parse(json['born'] as String),
        owner: Owner.fromJson(json['owner']),
        toys: List<Toy>.unmodifiable((json['toys'] as List<Object?>).map((e0) => Toy.fromJson(e0 as Map<String, Object?>))),
        tags: Map<String, String>.unmodifiable((json['tags'] as Map<String, Object?>).map((k0, e0) => MapEntry(k0, e0 as String))),
        extra: json['extra'] == null ? null : Map<String, Object?>.unmodifiable(json['extra'] as Map<String, Object?>),
        scores: json['scores'] == null ? null : List<num>.unmodifiable((json['scores'] as List<Object?>).map((e0) => e0 as num)),
        mood: json['mood'] == null ? null : PetMood.fromJson(json['mood'] as String),
      );

  final int id;

  /// Null when the pet has none.
  final String? name;

  final ToyKind kind;

  final double? weight;

  final DateTime? born;

  /// A person or a shelter, told apart by type.
  final Owner owner;

  final List<Toy> toys;

  final Map<String, String> tags;

  final Map<String, Object?>? extra;

  final List<num>? scores;

  final PetMood? mood;

  /// Encodes this [Pet] as its JSON object.
  Map<String, Object?> toJson() => {
        'id': id,
        'name': name,
        'kind': kind.toJson(),
        if (weight case final value?) 'weight': value,
        if (born case final value?) 'born': _date(value),
        'owner': owner.toJson(),
        'toys': [for (final e0 in toys) e0.toJson()],
        'tags': tags,
        if (extra case final value?) 'extra': value,
        if (scores case final value?) 'scores': value,
        if (mood case final value?) 'mood': value.toJson(),
      };
}

final class Toy {
  /// Creates a [Toy].
  const Toy({
    required this.name,
    this.requestId,
    this.additionalProperties = const {},
  });

  /// Decodes a [Toy] from its JSON object.
  factory Toy.fromJson(Map<String, Object?> json) => Toy(
        name: json['name'] as String,
        requestId: json['request_id'] == null ? null : json['request_id'] as String,
        additionalProperties: Map<String, int>.unmodifiable({
          for (final e in json.entries)
            if (!_declared.contains(e.key)) e.key: (e.value as num).toInt(),
        }),
      );

  static const _declared = <String>{'name', 'request_id'};

  final String name;

  final String? requestId;

  /// The members beside the declared fields.
  final Map<String, int> additionalProperties;

  /// Encodes this [Toy] as its JSON object.
  Map<String, Object?> toJson() => {
        'name': name,
        if (requestId case final value?) 'request_id': value,
        for (final e in additionalProperties.entries) e.key: e.value,
      };
}

enum ToyKind {
  ball('ball'),
  rope('rope'),
  chewBone('chew-bone');

  const ToyKind(this.json);

  /// Decodes a [ToyKind]; a value the API does not list is a FormatException.
  static ToyKind fromJson(String json) => values.firstWhere((v) => v.json == json,
      orElse: () => throw FormatException('ToyKind: unknown value', json));

  /// The value as JSON has it.
  final String json;

  /// Encodes this [ToyKind] as JSON.
  String toJson() => json;
}

/// A person or a shelter, told apart by type.
sealed class Owner {
  const Owner();

  /// Decodes a [Owner]: the variant its JSON matches by 'type'.
  factory Owner.fromJson(Object? json) {
    if (json is Map<String, Object?>) {
      switch (json['type']) {
        case 'person':
          return OwnerPerson(Person.fromJson(json));
        case 'shelter':
          return OwnerShelter(Shelter.fromJson(json));
      }
    }
    throw FormatException('Owner: no variant matches', json);
  }

  /// Encodes this [Owner] as its variant's JSON.
  Object? toJson();
}

/// The [Owner] that is a Person.
final class OwnerPerson extends Owner {
  /// Wraps [value].
  const OwnerPerson(this.value);

  /// The variant's value.
  final Person value;

  @override
  Object? toJson() => value.toJson();
}

/// The [Owner] that is a Shelter.
final class OwnerShelter extends Owner {
  /// Wraps [value].
  const OwnerShelter(this.value);

  /// The variant's value.
  final Shelter value;

  @override
  Object? toJson() => value.toJson();
}

final class Person {
  /// Creates a [Person].
  const Person({
    required this.type,
    required this.name,
  });

  /// Decodes a [Person] from its JSON object.
  factory Person.fromJson(Map<String, Object?> json) => Person(
        type: json['type'] as String,
        name: json['name'] as String,
      );

  final String type;

  final String name;

  /// Encodes this [Person] as its JSON object.
  Map<String, Object?> toJson() => {
        'type': type,
        'name': name,
      };
}

final class Shelter {
  /// Creates a [Shelter].
  const Shelter({
    required this.type,
    required this.city,
  });

  /// Decodes a [Shelter] from its JSON object.
  factory Shelter.fromJson(Map<String, Object?> json) => Shelter(
        type: json['type'] as String,
        city: json['city'] as String,
      );

  final String type;

  final String city;

  /// Encodes this [Shelter] as its JSON object.
  Map<String, Object?> toJson() => {
        'type': type,
        'city': city,
      };
}

/// A text, a number, or a rich label, without a discriminator.
sealed class Label {
  const Label();

  /// Decodes a [Label]: the variant its JSON matches, tried in order.
  factory Label.fromJson(Object? json) {
    if (json is String) return LabelString(json);
    if (json is int) return LabelInt(json);
    if (json is Map<String, Object?> && json.containsKey('type') && json.containsKey('name')) return LabelPerson(Person.fromJson(json));
    throw FormatException('Label: no variant matches', json);
  }

  /// Encodes this [Label] as its variant's JSON.
  Object? toJson();
}

/// The [Label] that is a String.
final class LabelString extends Label {
  /// Wraps [value].
  const LabelString(this.value);

  /// The variant's value.
  final String value;

  @override
  Object? toJson() => value;
}

/// The [Label] that is a int.
final class LabelInt extends Label {
  /// Wraps [value].
  const LabelInt(this.value);

  /// The variant's value.
  final int value;

  @override
  Object? toJson() => value;
}

/// The [Label] that is a Person.
final class LabelPerson extends Label {
  /// Wraps [value].
  const LabelPerson(this.value);

  /// The variant's value.
  final Person value;

  @override
  Object? toJson() => value.toJson();
}

enum PetMood {
  happy('happy'),
  soSo('so-so'),
  defaultValue('default');

  const PetMood(this.json);

  /// Decodes a [PetMood]; a value the API does not list is a FormatException.
  static PetMood fromJson(String json) => values.firstWhere((v) => v.json == json,
      orElse: () => throw FormatException('PetMood: unknown value', json));

  /// The value as JSON has it.
  final String json;

  /// Encodes this [PetMood] as JSON.
  String toJson() => json;
}

final class PutNoteRequest {
  /// Creates a [PutNoteRequest].
  const PutNoteRequest({
    this.text,
  });

  /// Decodes a [PutNoteRequest] from its JSON object.
  factory PutNoteRequest.fromJson(Map<String, Object?> json) => PutNoteRequest(
        text: json['text'] == null ? null : json['text'] as String,
      );

  final String? text;

  /// Encodes this [PutNoteRequest] as its JSON object.
  Map<String, Object?> toJson() => {
        if (text case final value?) 'text': value,
      };
}

final class PutNoteResponse {
  /// Creates a [PutNoteResponse].
  const PutNoteResponse({
    required this.id,
  });

  /// Decodes a [PutNoteResponse] from its JSON object.
  factory PutNoteResponse.fromJson(Map<String, Object?> json) => PutNoteResponse(
        id: json['id'] as String,
      );

  final String id;

  /// Encodes this [PutNoteResponse] as its JSON object.
  Map<String, Object?> toJson() => {
        'id': id,
      };
}
