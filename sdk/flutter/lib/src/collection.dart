part of 'client.dart';

/// One collection of documents: writes go to the cache at once and to the server at the
/// next sync; reads see the local view (the server copy with the local writes on top),
/// offline too.
final class Collection {
  Collection._(this._t, this.name);

  final Tideline _t;

  /// The collection's name.
  final String name;

  /// Replaces the document [id] with [fields] (fields it lacks are removed).
  Future<void> put(String id, Map<String, Object?> fields) => _t.write((tx) => tx.put(name, id, fields));

  /// Changes some fields of the document [id] with [changes] (Change.set, unset, inc,
  /// max, min, add, remove), creating it when missing.
  Future<void> patch(String id, List<Change> changes) => _t.write((tx) => tx.patch(name, id, changes));

  /// Removes the document [id].
  Future<void> delete(String id) => _t.write((tx) => tx.delete(name, id));

  /// The document [id] as the app sees it; null when it does not exist (or is deleted).
  Future<Doc?> get(String id) => _t._db.run(() => _get(_t._cache, name, id));

  /// The documents that match [query] (all, by id, without one).
  Future<List<Doc>> find([Query query = const Query()]) async {
    final compiled = _Compiled(name, query); // an invalid query is a failed future
    return _t._db.run(() => _t._find(compiled));
  }

  /// A live query: [query]'s result when listened to, and a new one whenever it changes
  /// (a local write, a pull, a receipt), with the ids added, changed and removed. An
  /// invalid query throws [InvalidException] at once.
  Stream<QueryResult> watch([Query query = const Query()]) => _t._watch(name, query);

  /// The same collection with documents converted to and from [T].
  TypedCollection<T> withConverter<T>(Converter<T> converter) => TypedCollection._(this, converter);
}

Doc? _get(Cache cache, String collection, String id) {
  final rows = cache.select('view_get', {':collection': collection, ':doc_id': id});
  if (rows.isEmpty) return null;
  final r = rows.first;
  return Doc(id: id, json: r['doc'] as String, version: r['version'] as int, pending: r['pending'] as int);
}

/// A collection whose documents are values of [T] (Collection.withConverter).
final class TypedCollection<T> {
  TypedCollection._(this.untyped, this.converter);

  /// The same collection, untyped (patch, delete...).
  final Collection untyped;

  /// The converter.
  final Converter<T> converter;

  Item<T> _item(Doc d) => Item(id: d.id, value: converter.fromJson(d.fields), version: d.version, pending: d.pending);

  /// Replaces the document [id] with [value].
  Future<void> put(String id, T value) => untyped.put(id, converter.toJson(value));

  /// The document [id] as a [T]; null when it does not exist.
  Future<T?> get(String id) async {
    final d = await untyped.get(id);
    return d == null ? null : converter.fromJson(d.fields);
  }

  /// The documents that match [query], as [T]s.
  Future<List<Item<T>>> find([Query query = const Query()]) async => [for (final d in await untyped.find(query)) _item(d)];

  /// A live query of [T]s (Collection.watch).
  Stream<TypedQueryResult<T>> watch([Query query = const Query()]) => untyped.watch(query).map((r) => TypedQueryResult(
        items: [for (final d in r.docs) _item(d)],
        added: r.added,
        changed: r.changed,
        removed: r.removed,
      ));
}
