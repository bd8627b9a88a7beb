part of 'client.dart';

/// An outbox row: a mutation as the cache keeps it.
final class _Row {
  _Row(Row r)
      : id = r['id'] as int,
        collection = r['collection'] as String,
        docId = r['doc_id'] as String,
        op = r['op'] as String,
        fields = r['fields'] as String?,
        ops = r['ops'] as String?,
        hlc = r['hlc'] as String,
        baseVersion = r['base_version'] as int,
        size = r['size'] as int;

  final int id;
  final String collection, docId, op;
  final String? fields, ops;
  final String hlc;
  final int baseVersion, size;
}

/// A 413 to a push: the batch is split.
final class _TooLarge implements Exception {
  const _TooLarge();
}

extension on Tideline {
  // _push is the procedure "push" of docs/sdk-core.md: the outbox in batches bounded by
  // count and bytes, oldest first, until it is empty. A batch is resent as it was after a
  // failure (the server applies nothing twice); a 413 halves the batch; a mutation that is
  // too large alone is rejected locally, so it never blocks the ones after it.
  Future<void> _push() async {
    var limit = _options.pushBatch;
    while (true) {
      final batch = await _db.run(() => _nextBatch(limit));
      if (batch.isEmpty) return;
      if (batch.length == 1 && batch.first.size > _options.pushBytes) {
        await _rejectLocally(batch.first);
        continue;
      }
      _setStatus((s) => s.copyWith(uploading: true));
      final String answer;
      try {
        answer = await _send(batch);
      } on _TooLarge {
        if (batch.length == 1) {
          await _rejectLocally(batch.first);
        } else {
          limit = max(1, batch.length ~/ 2);
        }
        continue;
      }
      await _applyReceipts(batch, answer);
    }
  }

  // _nextBatch is the longest prefix of the outbox's oldest [limit] mutations whose sizes
  // sum to at most the byte budget (always at least one mutation).
  List<_Row> _nextBatch(int limit) {
    final batch = <_Row>[];
    var bytes = 0;
    for (final r in _cache.select('outbox_batch', {':limit': limit})) {
      final row = _Row(r);
      if (batch.isNotEmpty && bytes + row.size > _options.pushBytes) break;
      bytes += row.size;
      batch.add(row);
    }
    return batch;
  }

  // _send pushes one batch, each mutation as stored (its fields and ops as their JSON
  // text), and returns the answer's body.
  Future<String> _send(List<_Row> batch) {
    final body = encodeJsonText({
      if (_options.protocol >= 2) 'protocol': _options.protocol,
      'clientId': _id,
      'mutations': [
        for (final r in batch)
          {
            'id': r.id,
            'collection': r.collection,
            'docId': r.docId,
            'op': r.op,
            if (r.fields case final f?) 'fields': decodeJsonText(f),
            if (r.ops case final o?) 'ops': decodeJsonText(o),
            'hlc': r.hlc,
            'baseVersion': r.baseVersion,
          },
      ],
    });
    return _call('/v1/sync/push', body);
  }

  // _rejectLocally settles a mutation the server can never take (too large even alone):
  // it leaves the outbox, the view is rebased without it, and the app gets a rejected
  // receipt marked local.
  Future<void> _rejectLocally(_Row m) async {
    await _db.run(() => _cache.transaction(() {
          _cache.exec('ack_mutation', {':id': m.id});
          _rebase(_cache, m.collection, m.docId);
          _cache.exec('attachments_cancel_unwanted', {':collection': m.collection, ':doc_id': m.docId});
        }));
    await _refreshStatus();
    _emit(_Event(
        receipt: Receipt(
      mutationId: m.id,
      collection: m.collection,
      docId: m.docId,
      status: 'rejected',
      code: 'too_large',
      message: 'The mutation is too large to push (about ${m.size} bytes, the budget is ${_options.pushBytes}).',
      local: true,
    )));
    _emit(_Event(changed: ['${m.collection}/${m.docId}']));
  }

  // _applyReceipts is the procedure "receipts": it settles the pushed mutations in one
  // transaction (a receipt for a mutation not sent fails it whole), then tells the app.
  Future<void> _applyReceipts(List<_Row> batch, String answer) async {
    final page = decodeJsonText(answer);
    final receipts = page is Map<String, Object?> ? page['receipts'] : null;
    if (receipts is! List<Object?>) throw FormatException('a push answer without receipts', answer);
    final byId = {for (final r in batch) r.id: r};
    final settled = await _db.run(() => _cache.transaction(() {
          final out = <Receipt>[];
          // The documents whose server copy an applied receipt of this answer wrote, with
          // the seq it wrote.
          final chained = <String, int>{};
          for (final rc in receipts) {
            if (rc is! Map<String, Object?>) throw FormatException('a receipt that is not an object', answer);
            final id = _int(rc['id']);
            final m = byId[id];
            if (m == null) throw FormatException('a receipt for mutation $id, which was not sent', answer);
            final r = _settle(m, rc, chained);
            if (r != null) out.add(r);
          }
          return out;
        }));
    await _refreshStatus();
    for (final r in settled) {
      _emit(_Event(receipt: r));
    }
    if (settled.isNotEmpty) {
      _emit(_Event(changed: [for (final r in settled) '${r.collection}/${r.docId}']));
    }
  }

  // _settle applies one receipt inside the transaction; null when another process on the
  // cache had settled the mutation already.
  Receipt? _settle(_Row m, Map<String, Object?> rc, Map<String, int> chained) {
    final key = {':collection': m.collection, ':doc_id': m.docId};
    _cache.exec('ack_mutation', {':id': m.id});
    if (_cache.changes == 0) return null;
    final status = rc['status'] is String ? rc['status']! as String : '';
    final deleted = rc['deleted'] == true, duplicate = rc['duplicate'] == true;
    final seq = rc['seq'], version = rc['version'], doc = rc['doc'];
    final hasDoc = doc is Map<String, Object?>;
    final docJson = hasDoc && !deleted ? encodeJsonText(doc) : null;
    final receipt = Receipt(
      mutationId: m.id,
      collection: m.collection,
      docId: m.docId,
      status: status,
      code: rc['code'] is String ? rc['code']! as String : '',
      message: rc['message'] is String ? rc['message']! as String : '',
      field: rc['field'] is String ? rc['field']! as String : '',
      doc: docJson == null ? null : plainJson(doc) as Map<String, Object?>,
      docJson: docJson,
      deleted: deleted,
      duplicate: duplicate,
      hlcClamped: rc['hlcClamped'] == true,
    );
    int serverPut(String statement, String? doc) {
      _cache.exec(statement, {
        ...key,
        ':doc': doc,
        ':version': _int(version),
        ':seq': _int(seq),
        ':buckets': null,
      });
      return _cache.changes;
    }

    if ((hasDoc || deleted) && seq != null && version != null) {
      // The server's document: it replaces the server copy.
      serverPut('server_put', docJson);
      chained.remove('${m.collection}/${m.docId}');
    } else if (status == 'applied' && !duplicate && seq != null && version != null) {
      // Applied as sent, now: the server copy is the old one with this mutation on top,
      // and the view (that copy with the rest of the outbox) does not change. (Not for a
      // duplicate: it was applied earlier, and the document may have changed since.)
      // Mutations of one document in one batch share a seq: a copy an applied receipt of
      // this answer wrote at this seq takes the next one on top (server_put). A copy at
      // this seq from elsewhere already has it (server_put_applied keeps it): a merged or
      // duplicate receipt before this one carried the document after the whole batch, or
      // a pull came first; then the view is rebased on it.
      final docKey = '${m.collection}/${m.docId}', receiptSeq = _int(seq);
      final applied = _applyMutation(_cache, _serverDoc(_cache, m.collection, m.docId), m.op, m.fields, m.ops);
      if (serverPut(chained[docKey] == receiptSeq ? 'server_put' : 'server_put_applied', applied) == 1) {
        chained[docKey] = receiptSeq;
        _cache.exec('view_settled', key);
        return receipt;
      }
    }
    _rebase(_cache, m.collection, m.docId);
    // After a duplicate without the document the copy may be older than the server's: a
    // pending reference this mutation wrote may be missing from the view until the next
    // page brings it back, so its attachment is not canceled.
    if (!(duplicate && !hasDoc)) _cache.exec('attachments_cancel_unwanted', key);
    return receipt;
  }
}

// _int reads an integer of the server's JSON (a JsonNumber).
int _int(Object? v) => switch (v) {
      JsonNumber n => n.value.toInt(),
      num n => n.toInt(),
      _ => throw FormatException('expected a number', '$v'),
    };
