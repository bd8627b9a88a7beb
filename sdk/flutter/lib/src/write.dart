part of 'client.dart';

final _collectionForm = RegExp(r'^[a-z][a-z0-9_]{0,62}$');
final _docIdForm = RegExp(r'^[A-Za-z0-9_][A-Za-z0-9._:@~-]{0,127}$');

/// An atomic group of local writes (Tideline.write): all of them reach the outbox and the
/// view in one transaction, or none does. The server applies them in order, each with its
/// own receipt.
final class WriteTx {
  WriteTx._(this._t);

  final Tideline _t;
  final _changed = <String>[];
  bool _open = true;

  /// Replaces the document with [fields] (fields it lacks are removed).
  void put(String collection, String id, Map<String, Object?> fields) {
    _checkDoc(collection, id);
    fields.keys.forEach(_checkField);
    _write(collection, id, 'put', fields, null);
  }

  /// Changes some fields of the document (creating it when missing, so that an offline
  /// device can increment a counter nobody created yet).
  void patch(String collection, String id, List<Change> changes) {
    _checkDoc(collection, id);
    final (fields, ops) = _patchParts(changes);
    _write(collection, id, 'patch', fields, ops);
  }

  /// The document as the transaction sees it, its own writes included (null: none). Use
  /// it for a read-modify-write: the collections' reads would wait for the transaction.
  Doc? get(String collection, String id) {
    if (!_open) throw StateError('the write transaction has ended');
    return _get(_t._cache, collection, id);
  }

  /// Removes the document.
  void delete(String collection, String id) {
    _checkDoc(collection, id);
    _write(collection, id, 'delete', null, null);
  }

  // _write is the procedure "write" of docs/sdk-core.md: the HLC read and advanced in the
  // transaction, the mutation added to the outbox, and only this mutation folded onto the
  // document's current view (its cost does not grow with the pending writes).
  void _write(String collection, String id, String op, Map<String, Object?>? fields, Map<String, Object?>? ops) {
    if (!_open) throw StateError('the write transaction has ended');
    final t = _t, cache = t._cache;
    final fieldsJson = op == 'delete' ? null : _encode(fields ?? const {});
    final opsJson = ops == null ? null : _encode(ops);
    final now = t._now().millisecondsSinceEpoch;
    final stamp = nextHlc(cache.meta('hlc'), now, t._id);
    cache.setMeta('hlc', stamp);
    final key = {':collection': collection, ':doc_id': id};
    cache.exec('add_mutation', {
      ...key,
      ':op': op,
      ':fields': fieldsJson,
      ':ops': opsJson,
      ':hlc': stamp,
      ':now': now,
    });
    final view = cache.select('view_get', key);
    final current = view.isEmpty ? null : view.first.columnAt(0) as String?;
    _putView(cache, collection, id, _applyMutation(cache, current, op, fieldsJson, opsJson));
    cache.exec('attachments_cancel_unwanted', key); // a pending reference it replaced
    _changed.add('$collection/$id');
  }
}

String _encode(Object value) {
  try {
    return jsonEncode(value);
  } on JsonUnsupportedObjectError catch (e) {
    throw InvalidException('a value JSON cannot hold: ${e.unsupportedObject}');
  }
}

// _checkDoc refuses collection names and document ids the server would reject.
void _checkDoc(String collection, String id) {
  if (!_collectionForm.hasMatch(collection) || collection.startsWith('tideline_') || collection.startsWith('system')) {
    throw InvalidException('collection name "$collection" (lower-case letters, digits and _, starting with a letter)');
  }
  if (!_docIdForm.hasMatch(id)) throw InvalidException('document id "$id"');
}

// _checkField refuses a field name the protocol rejects: 1 to 256 bytes of UTF-8, not
// starting with $, without . or NUL, not _id or _sync. Quotes and apostrophes are fine:
// the core never pastes a name into SQL or into a JSON path.
void _checkField(String name) {
  final wellFormed = !name.runes.any((r) => r >= 0xD800 && r <= 0xDFFF); // no lone surrogate
  if (name.isEmpty || utf8.encode(name).length > 256 || name.startsWith(r'$') || name.contains('.') ||
      name.contains('\u0000') || !wellFormed) {
    throw InvalidException('field name "$name" (1 to 256 bytes of UTF-8, not starting with \$, without . or NUL)');
  }
  if (name == '_id' || name == '_sync') throw InvalidException('field name "$name" is reserved');
}

// _patchParts checks a patch's changes and splits them into the mutation's fields and ops
// (null when it has none).
(Map<String, Object?>, Map<String, Object?>?) _patchParts(List<Change> changes) {
  if (changes.isEmpty) throw const InvalidException('a patch needs at least one change');
  final fields = <String, Object?>{};
  final ops = <String, Object?>{};
  for (final ch in changes) {
    _checkField(ch.field);
    if (fields.containsKey(ch.field) || ops.containsKey(ch.field)) {
      throw InvalidException('field "${ch.field}" changed twice in one patch');
    }
    final op = ch.op;
    if (op == null) {
      fields[ch.field] = ch.value;
      continue;
    }
    switch (op) {
      case 'inc' || 'max' || 'min':
        if (ch.value is! num) throw InvalidException('$op of field "${ch.field}" takes a number');
      case 'add' || 'remove':
        final elems = ch.value;
        if (elems is! List || elems.isEmpty || elems.length > 1000) {
          throw InvalidException('$op of field "${ch.field}" takes 1 to 1000 elements');
        }
        for (final e in elems) {
          if (e is! String && e is! num && e is! bool) {
            throw InvalidException('$op of field "${ch.field}": elements are strings, numbers or booleans');
          }
        }
      default:
        throw InvalidException('unknown operation "$op"');
    }
    ops[ch.field] = {op: ch.value};
  }
  return (fields, ops.isEmpty ? null : ops);
}

// _applyMutation runs the core's apply_mutation: doc with one mutation on top (null:
// deleted).
String? _applyMutation(Cache cache, String? doc, String op, String? fields, String? ops) =>
    cache.scalar('apply_mutation', {':doc': doc, ':op': op, ':fields': fields, ':ops': ops}) as String?;

// _putView stores a document's view (view_set), or removes it when doc is null.
void _putView(Cache cache, String collection, String id, String? doc) {
  final key = {':collection': collection, ':doc_id': id};
  if (doc == null) {
    cache.exec('view_delete', key);
  } else {
    cache.exec('view_set', {...key, ':doc': doc});
  }
}

// _serverDoc is the server copy's document (null: deleted or absent).
String? _serverDoc(Cache cache, String collection, String id) =>
    cache.scalar('server_get', {':collection': collection, ':doc_id': id}) as String?;

// _rebase is the procedure "rebase": the view recomputed from the server copy with every
// pending mutation of the document folded on top, in order. [pending] 0 says the caller
// knows the document has none (the outbox is empty); null: look.
void _rebase(Cache cache, String collection, String id, [int? pending]) {
  final key = {':collection': collection, ':doc_id': id};
  pending ??= cache.scalar('pending_of_doc', key) as int;
  if (pending == 0) {
    cache.exec('view_delete', key);
    cache.exec('view_from_server', key);
    return;
  }
  var doc = _serverDoc(cache, collection, id);
  for (final row in cache.select('outbox_of_doc', key).toList()) {
    doc = _applyMutation(cache, doc, row['op'] as String, row['fields'] as String?, row['ops'] as String?);
  }
  _putView(cache, collection, id, doc);
}

// _clearTx is the procedure "clear", inside the caller's transaction.
void _clearTx(Tideline t) {
  for (final s in ['clear_outbox', 'clear_server', 'clear_view', 'clear_meta', 'clear_attachments', 'clear_files', 'clear_downloads']) {
    t._cache.exec(s);
  }
  t._newClientId();
}
