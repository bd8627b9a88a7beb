import 'package:sqlite3/sqlite3.dart';

import 'errors.dart';
import 'generated/core_sql.dart';

/// The local cache: one SQLite connection to the cache file, with the core's statements
/// prepared once. Every call is synchronous (package:sqlite3 runs SQLite in the calling
/// isolate); the client serializes them with its lock.
final class Cache {
  Cache._(this.db);

  /// The connection.
  final Database db;

  final _statements = <String, PreparedStatement>{};

  /// Opens (or creates) the cache at [path] and runs the procedure "open" of
  /// docs/sdk-core.md up to the migrations: WAL, synchronous FULL, a busy timeout of
  /// 10 s, the SQLite check, then the migrations.
  static Cache open(String path) {
    final db = sqlite3.open(path);
    final cache = Cache._(db);
    try {
      db.execute('PRAGMA journal_mode = WAL');
      db.execute('PRAGMA synchronous = FULL');
      db.execute('PRAGMA busy_timeout = 10000');
      cache._check();
      cache._migrate();
      for (final e in CoreSql.statements.entries) {
        cache._statements[e.key] = db.prepare(e.value, persistent: true);
      }
    } catch (_) {
      cache.close();
      rethrow;
    }
    return cache;
  }

  // _check runs sqlite_check: the SQLite version, and whether the JSON functions exist
  // (the statement fails to prepare without them).
  void _check() {
    final String version;
    try {
      version = db.select(CoreSql.sqliteCheck).first.columnAt(0) as String;
    } on SqliteException catch (e) {
      throw SqliteUnsupportedException('SQLite without the JSON functions the core needs ($e)');
    }
    if (!versionAtLeast(version, CoreSql.sqliteMinimum)) {
      throw SqliteUnsupportedException(
          "SQLite $version is older than the core's minimum ${CoreSql.sqliteMinimum}");
    }
  }

  // _migrate brings the cache to CoreSql.cacheVersion, one migration per transaction with
  // its user_version, read again inside it (another process may have migrated).
  void _migrate() {
    while (true) {
      final done = transaction(() {
        final v = db.userVersion;
        if (v > CoreSql.migrations.length) {
          throw CacheException('the cache is version $v, written by a newer SDK '
              '(this one knows version ${CoreSql.migrations.length})');
        }
        if (v == CoreSql.migrations.length) return true;
        try {
          db.execute(CoreSql.migrations[v]);
        } on SqliteException catch (e) {
          throw CacheException('migration ${v + 1}: $e');
        }
        db.userVersion = v + 1;
        return false;
      });
      if (done) return;
    }
  }

  /// Runs [fn] in one transaction that begins IMMEDIATE (it holds the write lock from its
  /// start, so that a procedure that reads then writes is not raced by another process
  /// on the file); rolls back when [fn] throws.
  T transaction<T>(T Function() fn) {
    db.execute('BEGIN IMMEDIATE');
    try {
      final result = fn();
      db.execute('COMMIT');
      return result;
    } catch (_) {
      if (!db.autocommit) db.execute('ROLLBACK');
      rethrow;
    }
  }

  /// Begins a transaction that [commit] or [rollback] ends: for a group of writes whose
  /// callback is asynchronous (Tideline.write).
  void begin() => db.execute('BEGIN IMMEDIATE');

  /// Commits the transaction [begin] started.
  void commit() => db.execute('COMMIT');

  /// Rolls back the transaction [begin] started, if it is still open.
  void rollback() {
    if (!db.autocommit) db.execute('ROLLBACK');
  }

  PreparedStatement _statement(String name) =>
      _statements[name] ?? (throw StateError('no statement $name in the core'));

  /// Runs the named statement with [params] (named: ':collection').
  void exec(String name, [Map<String, Object?> params = const {}]) =>
      _statement(name).executeWith(StatementParameters.named(params));

  /// The rows of the named statement with [params].
  ResultSet select(String name, [Map<String, Object?> params = const {}]) =>
      _statement(name).selectWith(StatementParameters.named(params));

  /// The first column of the first row of the named statement (null: no row).
  Object? scalar(String name, [Map<String, Object?> params = const {}]) {
    final rows = select(name, params);
    return rows.isEmpty ? null : rows.first.columnAt(0);
  }

  /// How many rows the last statement changed (SQLite's changes()).
  int get changes => db.updatedRows;

  /// A tl_meta value (null: absent).
  String? meta(String key) => scalar('get_meta', {':key': key}) as String?;

  /// Writes a tl_meta value; null or empty deletes it (a key is absent rather than empty).
  void setMeta(String key, String? value) {
    if (value == null || value.isEmpty) {
      exec('delete_meta', {':key': key});
    } else {
      exec('set_meta', {':key': key, ':value': value});
    }
  }

  /// Closes the connection.
  void close() {
    for (final s in _statements.values) {
      s.dispose();
    }
    _statements.clear();
    db.dispose();
  }
}

/// Whether the SQLite version [v] ("3.45.1") is at least [min].
bool versionAtLeast(String v, String min) {
  List<int> parts(String s) {
    final p = s.split('.').map((e) => int.tryParse(e) ?? 0).toList();
    while (p.length < 3) {
      p.add(0);
    }
    return p;
  }

  final a = parts(v), b = parts(min);
  for (var i = 0; i < 3; i++) {
    if (a[i] != b[i]) return a[i] > b[i];
  }
  return true;
}
