part of 'client.dart';

// kindOf is the SQL that turns a json_each type into a filter kind.
String _kindOf(String alias) => "(CASE $alias.type WHEN 'integer' THEN 'number' WHEN 'real' THEN 'number' "
    "WHEN 'true' THEN 'bool' WHEN 'false' THEN 'bool' ELSE $alias.type END)";

/// A query compiled to one SELECT over tl_view with every name and value bound
/// (docs/sdk-core.md, "Queries").
final class _Compiled {
  _Compiled(String collection, Query q) {
    final b = StringBuffer('SELECT doc_id, doc, version, pending FROM tl_view WHERE collection = ${_bind(collection)}');
    for (final f in q.where) {
      b.write(' AND ${_filter(f)}');
    }
    if (q.orderBy.isNotEmpty) {
      final (container, last) = _container(q.orderBy);
      b.write(' ORDER BY (SELECT f.value FROM json_each($container) f WHERE f.key = ${_bind(last)}) '
          '${q.descending ? 'DESC' : 'ASC'}, doc_id');
    } else {
      b.write(' ORDER BY doc_id');
    }
    if (q.limit > 0) b.write(' LIMIT ${_bind(q.limit)}');
    sql = b.toString();
  }

  late final String sql;
  final params = <String, Object?>{};

  String _bind(Object? v) {
    final name = ':q${params.length}';
    params[name] = v;
    return name;
  }

  // _container is the SQL of the object that holds the last segment of path, and that
  // segment: the document for "a", the object field a of the document for "a.b".
  (String, String) _container(String path) {
    final segs = path.split('.');
    segs.forEach(_checkField);
    var expr = 'tl_view.doc';
    for (final s in segs.sublist(0, segs.length - 1)) {
      expr = "(SELECT j.value FROM json_each($expr) j WHERE j.key = ${_bind(s)} AND j.type = 'object')";
    }
    return (expr, segs.last);
  }

  // _scalar is v as the query binds it: its SQL value and its kind, as json_each reports
  // a field's value and type.
  static (Object, String) _scalar(Object? v) => switch (v) {
        bool b => (b ? 1 : 0, 'bool'),
        String text => (text, 'text'),
        num n => (n, 'number'),
        _ => throw const InvalidException('a filter compares with a string, a number or a boolean'),
      };

  String _filter(Filter f) {
    final (container, last) = _container(f.field);
    final key = _bind(last);
    if (f.op == FilterOp.isIn || f.op == FilterOp.contains) {
      final List<Object?> list;
      if (f.op == FilterOp.isIn) {
        final v = f.value;
        if (v is! List || v.isEmpty) throw const InvalidException('in takes a non-empty list');
        list = v;
      } else {
        list = [f.value];
      }
      var from = 'json_each($container) f', at = 'f';
      if (f.op == FilterOp.contains) {
        from += ", json_each(CASE WHEN f.type = 'array' THEN f.value ELSE '[]' END) e";
        at = 'e';
      }
      final alternatives = [
        for (final v in list)
          () {
            final (value, kind) = _scalar(v);
            return '(${_kindOf(at)} = ${_bind(kind)} AND $at.value = ${_bind(value)})';
          }(),
      ];
      return 'EXISTS (SELECT 1 FROM $from WHERE f.key = $key AND (${alternatives.join(' OR ')}))';
    }
    final (value, kind) = _scalar(f.value);
    final op = f.op == FilterOp.ne ? '=' : f.op.symbol;
    final cond = 'EXISTS (SELECT 1 FROM json_each($container) f WHERE f.key = $key '
        'AND ${_kindOf('f')} = ${_bind(kind)} AND f.value $op ${_bind(value)})';
    return f.op == FilterOp.ne ? 'NOT $cond' : cond;
  }
}

extension on Tideline {
  // _find runs a compiled query; called under the cache's lock.
  List<Doc> _find(_Compiled q) {
    final stmt = _cache.db.prepare(q.sql);
    try {
      return [
        for (final r in stmt.selectWith(StatementParameters.named(q.params)))
          Doc(id: r['doc_id'] as String, json: r['doc'] as String, version: r['version'] as int, pending: r['pending'] as int),
      ];
    } finally {
      stmt.dispose();
    }
  }

  // _watch is a live query: the result now, then a new one whenever it changes (a write,
  // a page, a receipt, a clear touched the collection), with what was added, changed and
  // removed. Each run is queued on the cache's lock when the change is told, so results
  // come in the order of the changes.
  Stream<QueryResult> _watch(String collection, Query query) {
    final compiled = _Compiled(collection, query); // an invalid query fails here, at once
    Map<String, Doc>? last;
    void Function()? unsubscribe;
    late final StreamController<QueryResult> out;
    void run() {
      unawaited(_db.run(() {
        if (_closed || out.isClosed) return;
        final docs = _find(compiled);
        final now = {for (final d in docs) d.id: d};
        final added = <String>[], changed = <String>[];
        for (final d in docs) {
          final old = last?[d.id];
          if (old == null) {
            added.add(d.id);
          } else if (old.version != d.version || old.pending != d.pending || !_jsonEquals(old.fields, d.fields)) {
            changed.add(d.id);
          }
        }
        final removed = [for (final id in last?.keys ?? const <String>[]) if (!now.containsKey(id)) id]..sort();
        if (last != null && added.isEmpty && changed.isEmpty && removed.isEmpty) return;
        last = now;
        out.add(QueryResult(docs: List.unmodifiable(docs), added: added, changed: changed, removed: removed));
      }).catchError((Object e, StackTrace s) {
        if (!out.isClosed) out.addError(e, s);
      }));
    }

    out = StreamController<QueryResult>(
      sync: true,
      onListen: () {
        final prefix = '$collection/';
        unsubscribe = _subscribe((e) {
          if (e.changed.any((k) => k == '*' || k.startsWith(prefix))) run();
        });
        run();
      },
      onCancel: () => unsubscribe?.call(),
    );
    return out.stream;
  }
}

// _jsonEquals compares two decoded JSON values: objects by their members (in any order),
// arrays element by element.
bool _jsonEquals(Object? a, Object? b) {
  if (a is Map<String, Object?> && b is Map<String, Object?>) {
    return a.length == b.length && a.entries.every((e) => b.containsKey(e.key) && _jsonEquals(e.value, b[e.key]));
  }
  if (a is List<Object?> && b is List<Object?>) {
    if (a.length != b.length) return false;
    for (var i = 0; i < a.length; i++) {
      if (!_jsonEquals(a[i], b[i])) return false;
    }
    return true;
  }
  return a == b;
}
