import 'dart:convert';
import 'dart:math';

import 'package:http/http.dart' as http;

import 'generated/core_sql.dart';

/// A session handed to Tideline.open: the client keeps it in the cache (tl_meta),
/// refreshes it there, and binds the cache to its user.
final class Session {
  /// A session of [userId] with its tokens. An empty [refreshToken]: the session ends at
  /// the access token's first 401.
  const Session({required this.accessToken, this.refreshToken = '', this.userId = ''});

  /// A session from sign-in tokens, its user read from the access token's sub claim
  /// (not verified: the server verifies tokens, the client only needs to know whose
  /// cache this is).
  factory Session.fromTokens(String accessToken, [String refreshToken = '']) =>
      Session(accessToken: accessToken, refreshToken: refreshToken, userId: subjectOf(accessToken));

  /// The user ('' when unknown).
  final String userId;

  /// The access token (a JWT).
  final String accessToken;

  /// The refresh token.
  final String refreshToken;
}

/// A JWT's sub claim, read without verifying it ('' when [token] is not a JWT).
String subjectOf(String token) {
  final parts = token.split('.');
  if (parts.length != 3) return '';
  try {
    final claims = jsonDecode(utf8.decode(base64Url.decode(base64Url.normalize(parts[1]))));
    final sub = claims is Map<String, Object?> ? claims['sub'] : null;
    return sub is String ? sub : '';
  } on FormatException {
    return '';
  }
}

/// How the realtime loop waits between failed attempts: exponential from [min] to [max],
/// with full jitter (docs/sdk-core.md, "Realtime loop").
final class Backoff {
  /// A backoff from [min] to [max].
  const Backoff({this.min = const Duration(milliseconds: 500), this.max = const Duration(seconds: 30)});

  /// The shortest wait.
  final Duration min;

  /// The longest wait.
  final Duration max;

  /// The wait after [failures] failures in a row: a random duration up to
  /// min * 2^failures, capped at [max].
  Duration wait(int failures, [Random? random]) {
    var d = min * pow(2, failures.clamp(0, 16)).toInt();
    if (d > max || d <= Duration.zero) d = max;
    return Duration(microseconds: (random ?? Random()).nextInt(d.inMicroseconds + 1));
  }
}

/// Options of Tideline.open; what is not given takes the default said.
final class TidelineOptions {
  /// Options.
  const TidelineOptions({
    this.httpClient,
    this.collections,
    this.pushBatch = CoreSql.pushMaxMutations,
    this.pushBytes = CoreSql.pushMaxBytes,
    this.pullLimit = CoreSql.pullLimit,
    this.clock,
    this.clearOtherUser = false,
    this.clientId,
    this.onRefresh,
    this.protocol = 2,
    this.filesDir,
    this.cacheBytes = CoreSql.filesCacheBytes,
  });

  /// Sends the requests (a new http.Client).
  final http.Client? httpClient;

  /// The subscription: the collections pulled (null: all).
  final List<String>? collections;

  /// The most mutations one push sends (500, the protocol's limit).
  final int pushBatch;

  /// The byte budget of one push (512 KiB, half the server's default body limit).
  final int pushBytes;

  /// The most changes one pull asks for (500).
  final int pullLimit;

  /// The clock (DateTime.now); tests set it.
  final DateTime Function()? clock;

  /// Clear a cache that belongs to another user than the session's (its documents and
  /// unsent writes are lost) instead of failing with OtherUserException.
  final bool clearOtherUser;

  /// The install's id when the cache has none yet (null: a random one). Conformance
  /// scenarios set it; apps leave it.
  final String? clientId;

  /// Told the new tokens after each refresh (the cache keeps them already).
  final void Function(String accessToken, String refreshToken)? onRefresh;

  /// The sync protocol the client speaks (docs/sync-protocol.md): 2 (the newest: a
  /// connected client gets the changes on its stream and does not pull while the stream
  /// is live), or 1 for a server that only speaks 1.
  final int protocol;

  /// Where attached and downloaded files are kept (null: the cache's path with ".files"
  /// appended).
  final String? filesDir;

  /// The download cache's limit: beyond it the least recently opened files that are not
  /// pinned are removed (256 MiB).
  final int cacheBytes;
}

/// A document of the local view.
final class Doc {
  /// A document.
  Doc({required this.id, required this.json, required this.version, required this.pending});

  /// Its id.
  final String id;

  /// Its JSON text, as the cache holds it.
  final String json;

  /// The server version it is based on (0: never synced).
  final int version;

  /// How many local writes of it are not acknowledged yet.
  final int pending;

  /// Its fields (integers stay exact on native platforms).
  late final Map<String, Object?> fields = Map.unmodifiable(jsonDecode(json) as Map<String, Object?>);

  /// The value of [field] (null: absent).
  Object? operator [](String field) => fields[field];
}

/// One part of a patch: a field set or unset, or a commutative operation on it.
final class Change {
  const Change._(this.field, this.op, this.value);

  /// Assigns [value] to [field] (null removes it).
  const Change.set(String field, Object? value) : this._(field, null, value);

  /// Removes [field].
  const Change.unset(String field) : this._(field, null, null);

  /// Adds [n] to a numeric field (from 0): concurrent increments from any device sum
  /// exactly.
  const Change.inc(String field, num n) : this._(field, 'inc', n);

  /// Keeps the larger of the field and [n].
  const Change.max(String field, num n) : this._(field, 'max', n);

  /// Keeps the smaller of the field and [n].
  const Change.min(String field, num n) : this._(field, 'min', n);

  /// Adds [elements] (strings, numbers or booleans) the array field lacks, each once.
  const Change.add(String field, List<Object> elements) : this._(field, 'add', elements);

  /// Removes every element equal to one of [elements] from the array field.
  const Change.remove(String field, List<Object> elements) : this._(field, 'remove', elements);

  /// An operation by name ("inc", "max", "min" with a number; "add", "remove" with a
  /// list): what a conformance runner reads from a scenario.
  const Change.op(String field, String kind, Object? arg) : this._(field, kind, arg);

  /// The field changed.
  final String field;

  /// The operation (null: the field is set, or unset when [value] is null).
  final String? op;

  /// The value set, or the operation's operand.
  final Object? value;
}

/// The server's answer to one local write (docs/sync-protocol.md, "Receipts"). [status]
/// is applied, merged (newer writes won some fields, or server-wins kept the server's),
/// rejected ([code] and [message] say why; nothing changed) or conflict (optimistic
/// policy: the write was based on an old version). Every receipt is final.
final class Receipt {
  /// A receipt.
  const Receipt({
    required this.mutationId,
    required this.collection,
    required this.docId,
    required this.status,
    this.code = '',
    this.message = '',
    this.field = '',
    this.doc,
    this.docJson,
    this.deleted = false,
    this.duplicate = false,
    this.hlcClamped = false,
    this.local = false,
    this.attachment = '',
  });

  /// The mutation's id (the outbox row's).
  final int mutationId;

  /// The document's collection.
  final String collection;

  /// The document's id.
  final String docId;

  /// applied, merged, rejected or conflict.
  final String status;

  /// Why it was rejected (invalid, forbidden, too_large, schema_violation...).
  final String code;

  /// The rejection, for people.
  final String message;

  /// The rejected field (fields.title, docId...).
  final String field;

  /// The server's document, for merged and conflict.
  final Map<String, Object?>? doc;

  /// [doc] as the server's JSON text.
  final String? docJson;

  /// The server's document is deleted.
  final bool deleted;

  /// The server had applied this mutation before (the batch was resent).
  final bool duplicate;

  /// The mutation's stamp was too far ahead of the server's clock; the server's was used.
  final bool hlcClamped;

  /// A rejection the client made itself (a mutation too large to push even alone: code
  /// too_large); it never reached the server.
  final bool local;

  /// Set on the receipt of an upload refused for good (too large, over the quota,
  /// forbidden, a wrong hash): the attachment's local id; its field now holds a failed
  /// reference, and [mutationId] is 0.
  final String attachment;
}

/// Counts what an initial sync has received so far: the protocol does not say how many
/// changes remain, so it counts up rather than to a total.
final class Progress {
  /// Progress.
  const Progress({this.pages = 0, this.changes = 0});

  /// Pages received.
  final int pages;

  /// Changes received.
  final int changes;
}

/// What the client knows of its sync (docs/sdk-core.md, "Sync status").
final class SyncStatus {
  /// A status.
  const SyncStatus({
    this.online = false,
    this.pending = 0,
    this.lastSynced,
    this.lastError,
    this.signedIn = false,
    this.userId = '',
    this.uploading = false,
    this.downloading = false,
    this.hasSyncedOnce = false,
    this.initial = const Progress(),
    this.live = false,
    this.uploads = 0,
  });

  /// The last request reached the server.
  final bool online;

  /// Local writes not yet acknowledged.
  final int pending;

  /// The end of the last complete sync in this process (null: none yet).
  final DateTime? lastSynced;

  /// The last sync's error (null when it succeeded).
  final Object? lastError;

  /// The cache holds a session; when false, local reads and writes go on and sync waits.
  final bool signedIn;

  /// The user the cache belongs to ('' until a session with a known user).
  final String userId;

  /// A push is under way.
  final bool uploading;

  /// A pull is under way.
  final bool downloading;

  /// A pull reached the end once for this cache: the view holds everything the server
  /// had then.
  final bool hasSyncedOnce;

  /// The first sync's progress, until [hasSyncedOnce].
  final Progress initial;

  /// The realtime stream sends the changes itself (protocol 2: a completed pull handed
  /// it over, and it has not poked or closed since), so the app can show "realtime".
  final bool live;

  /// Attached files not uploaded yet (the upload queue).
  final int uploads;

  /// This status with some fields changed.
  SyncStatus copyWith({
    bool? online,
    int? pending,
    DateTime? Function()? lastSynced,
    Object? Function()? lastError,
    bool? signedIn,
    String? userId,
    bool? uploading,
    bool? downloading,
    bool? hasSyncedOnce,
    Progress? initial,
    bool? live,
    int? uploads,
  }) =>
      SyncStatus(
        online: online ?? this.online,
        pending: pending ?? this.pending,
        lastSynced: lastSynced == null ? this.lastSynced : lastSynced(),
        lastError: lastError == null ? this.lastError : lastError(),
        signedIn: signedIn ?? this.signedIn,
        userId: userId ?? this.userId,
        uploading: uploading ?? this.uploading,
        downloading: downloading ?? this.downloading,
        hasSyncedOnce: hasSyncedOnce ?? this.hasSyncedOnce,
        initial: initial ?? this.initial,
        live: live ?? this.live,
        uploads: uploads ?? this.uploads,
      );
}

/// A filter's comparison.
enum FilterOp {
  /// Equal (same kind and value).
  eq('='),

  /// Not equal; a document without the field matches.
  ne('!='),

  /// Less than.
  lt('<'),

  /// Less than or equal.
  le('<='),

  /// Greater than.
  gt('>'),

  /// Greater than or equal.
  ge('>='),

  /// Equal to one of the value's elements (a non-empty list).
  isIn('in'),

  /// An array field with an element equal to the value.
  contains('contains');

  const FilterOp(this.symbol);

  /// The operator as queries write it.
  final String symbol;
}

/// Compares a field with a value. [field] is a path: "title", or "address.city" for a
/// field of an object field. A string never equals a number, nor a boolean a number; a
/// document without the field matches only [FilterOp.ne].
final class Filter {
  /// A filter.
  const Filter(this.field, this.op, this.value);

  /// The field's path.
  final String field;

  /// The comparison.
  final FilterOp op;

  /// A string, a number or a boolean (a list of them for [FilterOp.isIn]).
  final Object? value;
}

/// A query of the local view: every filter must hold; ordered by [orderBy] (a field
/// path; then by id), at most [limit] documents (0: all).
final class Query {
  /// A query.
  const Query({this.where = const [], this.orderBy = '', this.descending = false, this.limit = 0});

  /// The filters.
  final List<Filter> where;

  /// The field path to order by ('' : by id).
  final String orderBy;

  /// Order from the largest.
  final bool descending;

  /// The most documents (0: all).
  final int limit;
}

/// A live query's result, and how it differs from the one before (the first lists every
/// document as added).
final class QueryResult {
  /// A result.
  const QueryResult({required this.docs, this.added = const [], this.changed = const [], this.removed = const []});

  /// The documents, in the query's order.
  final List<Doc> docs;

  /// Ids of the documents that joined the result.
  final List<String> added;

  /// Ids of the documents whose fields, version or pending count changed.
  final List<String> changed;

  /// Ids of the documents that left the result (sorted).
  final List<String> removed;
}

/// Converts a collection's documents to and from values of [T] (a model class), as
/// Firestore's withConverter does.
final class Converter<T> {
  /// A converter.
  const Converter({required this.fromJson, required this.toJson});

  /// A document's fields as a [T].
  final T Function(Map<String, Object?> json) fromJson;

  /// A [T] as a document's fields.
  final Map<String, Object?> Function(T value) toJson;
}

/// A document of a typed collection.
final class Item<T> {
  /// An item.
  const Item({required this.id, required this.value, required this.version, required this.pending});

  /// Its id.
  final String id;

  /// Its value.
  final T value;

  /// The server version it is based on (0: never synced).
  final int version;

  /// How many local writes of it are not acknowledged yet.
  final int pending;
}

/// A typed live query's result.
final class TypedQueryResult<T> {
  /// A result.
  const TypedQueryResult({required this.items, this.added = const [], this.changed = const [], this.removed = const []});

  /// The documents, in the query's order.
  final List<Item<T>> items;

  /// Ids of the documents that joined the result.
  final List<String> added;

  /// Ids of the documents whose fields, version or pending count changed.
  final List<String> changed;

  /// Ids of the documents that left the result.
  final List<String> removed;
}
