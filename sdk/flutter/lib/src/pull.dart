part of 'client.dart';

/// A pull answered 400 invalid_cursor or 410: the pull starts over.
final class _InvalidCursor implements Exception {
  const _InvalidCursor();
}

extension on Tideline {
  // _pull is the procedure "pull": pages until the server has nothing more; each page and
  // its cursor are applied in one transaction, so an app killed midway pulls that page
  // again. An invalid cursor starts a full resync: the documents are marked, and those
  // the new initial sync does not re-send are dropped at its end; pending writes stay.
  Future<void> _pull() async {
    _setStatus((s) => s.copyWith(downloading: true));
    while (true) {
      final bool more;
      try {
        more = await _pullPage();
      } on _InvalidCursor {
        await _db.run(() => _cache.transaction(() {
              _cache.exec('server_mark_all');
              _cache.setMeta('resync', '1');
              _cache.setMeta('cursor', null);
            }));
        continue;
      } catch (_) {
        // The server may have handed the stream over at a page this client never applied
        // (the answer was lost): its messages would skip what that page held. Not live,
        // they are ignored until a pull hands it over anew.
        _setStream(_streamId, live: false);
        rethrow;
      }
      if (!more) return;
    }
  }

  Future<bool> _pullPage() async {
    final (cursor, fresh) = await _db.run(() => (_cache.meta('cursor'), _cache.scalar('server_empty') == 1));
    final stream = _streamId; // protocol 2: the open stream, which this pull may hand over
    final body = jsonEncode({
      if (_options.protocol >= 2) 'protocol': _options.protocol,
      if (stream != null) 'stream': stream,
      'limit': _options.pullLimit,
      'fresh': fresh, // only a cache with no server copy at all: its initial sync may skip tombstones
      if (cursor != null) 'cursor': cursor,
      if (_options.collections case final c?) 'collections': c,
    });
    final answer = await _call('/v1/sync/pull', body);
    final page = decodeJsonText(answer);
    if (page is! Map<String, Object?>) throw FormatException('a pull answer that is not an object', answer);
    final changes = page['changes'] is List<Object?> ? page['changes']! as List<Object?> : const <Object?>[];
    final hasMore = page['hasMore'] == true;
    final (changed, dropped) = await _db.run(() => _cache.transaction(() => _applyPage(page, changes, hasMore)));
    _removeFiles(dropped);
    if (!hasMore) _handedOver(stream, page['live'] == true);
    _setStatus((s) => s.copyWith(
          initial: s.hasSyncedOnce ? s.initial : Progress(pages: s.initial.pages + 1, changes: s.initial.changes + changes.length),
          hasSyncedOnce: s.hasSyncedOnce || !hasMore,
        ));
    if (changed.isNotEmpty) _emit(_Event(changed: changed));
    return hasMore;
  }

  // _applyStreamPage applies a changes message of the stream (protocol 2) as a "stream
  // page": its changes, the rebase of the documents touched and its cursor, in one
  // transaction, one at a time with syncs (so it comes after the pull it continues), and
  // nothing during a full resync (its cursor would skip what the resync has not re-sent)
  // nor while the stream is not live (it continues from a hand-over this client has not
  // applied: a pull that failed, or none yet).
  Future<void> _applyStreamPage(String message) => _syncLock.run(() async {
        if (!_live) return;
        final m = decodeJsonText(message);
        if (m is! Map<String, Object?>) throw FormatException('a stream message that is not an object', message);
        final changes = m['changes'] is List<Object?> ? m['changes']! as List<Object?> : const <Object?>[];
        final page = <String, Object?>{'cursor': m['cursor']}; // changes and a cursor, nothing else
        final (changed, dropped) = await _db.run(() => _cache.transaction(() {
              if (_cache.meta('resync') == '1') return (const <String>[], const <String>[]);
              return _applyPage(page, changes, true, fromStream: true);
            }));
        _removeFiles(dropped);
        if (changed.isNotEmpty) _emit(_Event(changed: changed));
      });

  // _applyPage is the procedure "page": the page's changes, the drops it asks for, the
  // rebase of every document touched, and the cursor, inside the caller's transaction. A
  // stream page ([fromStream]) never completes a resync nor sets synced.
  // It returns the documents touched, and the paths of the cached files it dropped (whose
  // document is gone or no longer refers to them), to remove once it commits.
  (List<String>, List<String>) _applyPage(Map<String, Object?> page, List<Object?> changes, bool hasMore,
      {bool fromStream = false}) {
    final cache = _cache;
    final changed = <String>[];
    final touched = <String>{};
    void touch(String collection, String id) {
      if (touched.add('$collection/$id')) changed.add('$collection/$id');
    }

    List<Object?>? names(String key) => page[key] is List<Object?> ? page[key]! as List<Object?> : null;

    // drop removes the server copies a query lists, to rebase them below.
    void drop(String query, String delete, Map<String, Object?> params) {
      for (final row in cache.select(query, params)) {
        touch(row['collection'] as String, row['doc_id'] as String);
      }
      cache.exec(delete, params);
    }

    if (names('resetBuckets') case final reset? when reset.isNotEmpty) {
      cache.exec('server_mark_reset', {':buckets': encodeJsonText(reset)});
    }
    for (final ch in changes) {
      if (ch is! Map<String, Object?>) throw const FormatException('a change that is not an object');
      final collection = ch['collection']! as String, id = ch['docId']! as String;
      final key = {':collection': collection, ':doc_id': id};
      if (ch['op'] == 'evict') {
        cache.exec('server_evict', key);
      } else {
        final doc = ch['op'] == 'upsert' && ch['doc'] is Map<String, Object?> ? encodeJsonText(ch['doc']) : null;
        cache.exec('server_put', {
          ...key,
          ':doc': doc,
          ':version': _int(ch['version']),
          ':seq': _int(ch['seq']),
          ':buckets': encodeJsonText(ch['buckets'] ?? const <Object?>[]),
        });
      }
      touch(collection, id);
    }
    if (names('removedBuckets') case final removed? when removed.isNotEmpty) {
      drop('docs_in_buckets', 'server_drop_buckets', {':buckets': encodeJsonText(removed)});
    }
    if (names('resetComplete') case final complete? when complete.isNotEmpty) {
      drop('docs_marked', 'server_drop_marked', {':buckets': encodeJsonText(complete)});
    }
    if (names('collections') case final collections?) {
      drop('docs_outside', 'server_drop_outside', {':collections': encodeJsonText(collections)});
    }
    if (!hasMore && !fromStream) {
      if (cache.meta('resync') == '1') {
        // The end of a full resync drops what it did not re-send.
        drop('docs_marked_all', 'server_drop_marked_all', const {});
        cache.setMeta('resync', null);
      }
      cache.setMeta('synced', '1');
    }
    // With an empty outbox (the usual case) no document has a pending write.
    final pending = cache.scalar('outbox_count') == 0 ? 0 : null;
    for (final k in changed) {
      final slash = k.indexOf('/');
      _rebase(cache, k.substring(0, slash), k.substring(slash + 1), pending);
      cache.exec('attachments_cancel_unwanted', {':collection': k.substring(0, slash), ':doc_id': k.substring(slash + 1)});
    }
    // Access lost: cached files (and partial downloads) whose document is gone, or no
    // longer refers to them.
    final dropped = changed.isEmpty
        ? const <String>[]
        : [..._dropFiles('files_unreachable'), ..._dropFiles('downloads_unreachable', const {}, 'download_delete')];
    cache.setMeta('cursor', page['cursor'] is String ? page['cursor']! as String : null);
    return (changed, dropped);
  }
}
