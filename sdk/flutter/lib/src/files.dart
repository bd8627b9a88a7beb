part of 'client.dart';

// Attachments (docs/sdk-core.md, "Attachments"): the upload queue (tl_attachments), the
// download cache (tl_files) and the files directory beside the cache.

/// A document field's reference to a file (docs/files.md): [id] is the server's file id;
/// while the file is on its way up it is null and [pending] is the local attachment's
/// id; when its upload failed for good, [failed] is the reason's code.
final class FileRef {
  /// A reference.
  const FileRef({
    this.id,
    this.pending,
    this.failed,
    this.name = '',
    this.size = 0,
    this.contentType = '',
    this.sha256 = '',
  });

  /// The server's file id (null: no file yet, or none).
  final String? id;

  /// The local id of the attachment uploading it (on the device that attached it).
  final String? pending;

  /// Why the upload was refused for good (too_large, invalid, forbidden).
  final String? failed;

  /// The file's name.
  final String name;

  /// Its size in bytes.
  final int size;

  /// Its media type.
  final String contentType;

  /// Its SHA-256, hex.
  final String sha256;

  /// The reference as a document field holds it: "_file" once there is a file,
  /// "pending" (or "failed") before.
  Map<String, Object?> toJson() => {
        if (id != null) '_file': id,
        if (pending != null) 'pending': pending,
        if (failed != null) 'failed': failed,
        'name': name,
        'size': size,
        'contentType': contentType,
        'sha256': sha256,
      };

  /// Reads a reference from a field's value (Doc.fields); null when it is not one (an
  /// object with a string "_file", "pending" or "failed").
  static FileRef? from(Object? value) {
    if (value is! Map<String, Object?>) return null;
    String? str(String k) => value[k] is String ? value[k]! as String : null;
    if (str('_file') == null && str('pending') == null && str('failed') == null) return null;
    final size = value['size'];
    return FileRef(
      id: str('_file'),
      pending: str('pending'),
      failed: str('failed'),
      name: str('name') ?? '',
      size: size is num ? size.toInt() : (size is JsonNumber ? size.value.toInt() : 0),
      contentType: str('contentType') ?? '',
      sha256: str('sha256') ?? '',
    );
  }
}

/// A file waiting in the upload queue.
final class Attachment {
  /// An attachment.
  const Attachment({
    required this.localId,
    required this.collection,
    required this.docId,
    required this.field,
    required this.name,
    required this.contentType,
    required this.size,
    required this.sha256,
    required this.state,
    required this.attempts,
    required this.uploadUrl,
    required this.offset,
    required this.path,
  });

  /// Its local id ("pending" in the reference).
  final String localId;

  /// The document and the field it fills.
  final String collection, docId, field;

  /// The file's name and media type.
  final String name, contentType;

  /// Its size in bytes.
  final int size;

  /// Its SHA-256, hex.
  final String sha256;

  /// queued (no upload on the server yet), uploading, or canceled (its reference left the
  /// document: the next run deletes the upload).
  final String state;

  /// Failed attempts so far (network, 5xx, 409, 429).
  final int attempts;

  /// The tus upload's path, once created.
  final String? uploadUrl;

  /// The server's offset as last heard.
  final int offset;

  /// The copy, relative to the files directory.
  final String path;

  static Attachment _fromRow(Row r, [String? localId]) => Attachment(
        localId: localId ?? r['local_id'] as String,
        collection: r['collection'] as String,
        docId: r['doc_id'] as String,
        field: r['field'] as String,
        name: r['name'] as String,
        contentType: r['content_type'] as String,
        size: r['size'] as int,
        sha256: r['sha256'] as String,
        state: r['state'] as String,
        attempts: r['attempts'] as int,
        uploadUrl: r['upload_url'] as String?,
        offset: r['upload_offset'] as int,
        path: r['path'] as String,
      );

  Attachment _with({String? state, String? uploadUrl, bool clearUrl = false, int? offset}) => Attachment(
        localId: localId,
        collection: collection,
        docId: docId,
        field: field,
        name: name,
        contentType: contentType,
        size: size,
        sha256: sha256,
        state: state ?? this.state,
        attempts: attempts,
        uploadUrl: clearUrl ? null : (uploadUrl ?? this.uploadUrl),
        offset: offset ?? this.offset,
        path: path,
      );
}

/// A file of the download cache.
final class CachedFile {
  /// A cached file.
  const CachedFile({
    required this.id,
    required this.collection,
    required this.docId,
    required this.size,
    required this.sha256,
    required this.pinned,
    required this.usedAt,
    required this.path,
  });

  /// The file's id.
  final String id;

  /// The document it was opened through (or uploaded for).
  final String collection, docId;

  /// Its size in bytes.
  final int size;

  /// Its SHA-256, hex.
  final String sha256;

  /// Kept whatever the cache limit.
  final bool pinned;

  /// Its last open.
  final DateTime usedAt;

  /// Where it is.
  final String path;
}

/// An upload the server refused for good (its code: too_large, invalid, forbidden).
final class _Refused implements Exception {
  const _Refused(this.code, this.message);
  final String code, message;
}

/// A request whose body is a stream made beforehand (a file from an offset).
final class _BodyRequest extends http.BaseRequest {
  _BodyRequest(super.method, super.url, this._body);

  final Stream<List<int>> _body;

  @override
  http.ByteStream finalize() {
    super.finalize();
    return http.ByteStream(_body);
  }
}

final _fileIdForm = RegExp(r'^[A-Za-z0-9_-][A-Za-z0-9._-]{0,127}$');

String _randomName() {
  final random = Random.secure();
  return List.generate(12, (_) => random.nextInt(256).toRadixString(16).padLeft(2, '0')).join();
}

String _mediaType(String name) {
  final dot = name.lastIndexOf('.');
  final ext = dot < 0 ? '' : name.substring(dot + 1).toLowerCase();
  return switch (ext) {
    'jpg' || 'jpeg' => 'image/jpeg',
    'png' => 'image/png',
    'gif' => 'image/gif',
    'webp' => 'image/webp',
    'heic' => 'image/heic',
    'pdf' => 'application/pdf',
    'txt' => 'text/plain',
    'mp4' => 'video/mp4',
    'mov' => 'video/quicktime',
    'm4a' => 'audio/mp4',
    _ => 'application/octet-stream',
  };
}

extension TidelineFiles on Tideline {
  String _abs(String rel) => '$_filesDir/$rel';

  /// Captures the file at [localPath] for [field] of the document (docs/sdk-core.md,
  /// "Attachments"): the SDK copies it into the cache's files directory (the app may
  /// delete its own), and patches the field at once with a pending reference, so the app
  /// shows the file from the device while it uploads. The upload runs in the realtime
  /// loop (or [upload]); when it finishes, a patch sets the field to the file's reference.
  /// A later write that replaces the field, or deletes the document, cancels it.
  Future<FileRef> attach(String collection, String docId, String field, String localPath, {String? contentType}) async {
    _checkDoc(collection, docId);
    _checkField(field);
    final name = localPath.split(Platform.pathSeparator).last;
    final type = (contentType == null || contentType.isEmpty) ? _mediaType(name) : contentType;
    final (tmp, size, sum) = await _copyIn('up', File(localPath).openRead());
    final rel = 'up/${_randomName()}';
    FileRef? ref;
    try {
      final changed = await _db.run(() => _cache.transaction(() {
            final n = int.parse(_cache.meta('attachment_seq') ?? '0') + 1;
            _cache.setMeta('attachment_seq', '$n');
            final r = FileRef(pending: '$_id-$n', name: name, size: size, contentType: type, sha256: sum);
            ref = r;
            _cache.exec('attachment_add', {
              ':local_id': r.pending,
              ':collection': collection,
              ':doc_id': docId,
              ':field': field,
              ':path': rel,
              ':name': name,
              ':content_type': type,
              ':size': size,
              ':sha256': sum,
              ':now': _now().millisecondsSinceEpoch,
            });
            final w = WriteTx._(this);
            w._write(collection, docId, 'patch', {field: r.toJson()}, null);
            // The copy takes its name inside the transaction: a crash before the commit
            // leaves a file no row names, which the next open removes.
            File(tmp).renameSync(_abs(rel));
            return w._changed;
          }));
      await _refreshStatus();
      _emit(_Event(changed: changed, local: true, attachment: ref!.pending));
      return ref!;
    } finally {
      final f = File(tmp);
      if (f.existsSync()) f.deleteSync();
    }
  }

  // _copyIn writes [bytes] to a new temporary file under [dir] of the files directory,
  // flushed to disk, and returns its path, size and SHA-256 (hex).
  Future<(String, int, String)> _copyIn(String dir, Stream<List<int>> bytes) async {
    final d = Directory(_abs(dir));
    d.createSync(recursive: true);
    final path = '${d.path}/tmp-${_randomName()}';
    final out = File(path).openWrite();
    var size = 0;
    final hashed = StreamController<List<int>>();
    final digest = sha256.bind(hashed.stream).first;
    try {
      await for (final chunk in bytes) {
        out.add(chunk);
        hashed.add(chunk);
        size += chunk.length;
      }
      await hashed.close();
      await out.flush();
      await out.close();
      final raf = await File(path).open(mode: FileMode.append);
      await raf.flush(); // fsync
      await raf.close();
    } catch (_) {
      await out.close().catchError((Object _) => null);
      final f = File(path);
      if (f.existsSync()) f.deleteSync();
      rethrow;
    }
    return (path, size, (await digest).toString());
  }

  /// The upload queue, oldest first.
  Future<List<Attachment>> attachments() =>
      _db.run(() => _cache.select('attachments_queue').map((r) => Attachment._fromRow(r)).toList());

  /// Runs the upload queue once, oldest first (docs/sdk-core.md, "upload"): each
  /// attachment still wanted is created on the server (tus POST) or resumed from the
  /// server's offset (HEAD), and sent (PATCH); a finished one completes its reference
  /// with a patch. One refused for good is dropped with a failed reference and a receipt
  /// ([Receipt.attachment]). The first other failure stops the run and is thrown; the
  /// upload resumes at the next run, also after a restart.
  Future<void> upload() => _uploadLock.run(() async {
        for (final a in await attachments()) {
          try {
            await _uploadOne(a);
          } on SignedOutException {
            rethrow;
          } on OtherUserException {
            rethrow;
          } on Object catch (e) {
            await _db.run(() => _cache.transaction(
                () => _cache.exec('attachment_attempt_failed', {':local_id': a.localId, ':error': '$e'})));
            await _refreshStatus();
            rethrow;
          }
        }
        await _refreshStatus();
      });

  bool _wanted(Attachment a) =>
      _cache.scalar('attachment_wanted', {
        ':collection': a.collection,
        ':doc_id': a.docId,
        ':field': a.field,
        ':local_id': a.localId,
      }) ==
      1;

  Future<void> _uploadOne(Attachment a) async {
    if (a.state == 'canceled') return _cancelUpload(a);
    // Not in the view for a moment (a stale copy after a duplicate receipt): left for the
    // next run; a reference that really left the view was canceled by that write or page.
    if (!await _db.run(() => _wanted(a))) return;
    var resume = a.uploadUrl != null;
    for (var restarts = 0;; restarts++) {
      if (restarts > 2) throw StateError('the server lost upload ${a.localId} again and again');
      try {
        if (a.uploadUrl == null) {
          final loc = await _createUpload(a);
          a = a._with(state: 'uploading', uploadUrl: loc, offset: 0);
          await _db.run(() => _cache.transaction(
              () => _cache.exec('attachment_started', {':local_id': a.localId, ':upload_url': loc})));
          if (a.size == 0) return _completeUpload(a, _fileIdOf(loc)); // tus finishes an empty upload at creation
        } else if (resume) {
          resume = false;
          final off = await _uploadOffset(a.uploadUrl!);
          // off == size: every byte is there but the upload is not a file (the server
          // stopped between the last byte and the commit; a PATCH would answer 204
          // without committing): start over, as for an upload that is gone.
          if (off == null || off >= a.size) {
            // The upload is no more: finished (a crash came between its last byte and the
            // completion), or expired. The file itself says which.
            final id = _fileIdOf(a.uploadUrl!);
            if (off == null && await _fileExists(id, a.sha256)) return _completeUpload(a, id);
            a = await _restartUpload(a);
            continue;
          }
          a = a._with(offset: off);
          await _db.run(() => _cache.transaction(
              () => _cache.exec('attachment_progress', {':local_id': a.localId, ':upload_offset': off})));
        }
        if (!await _sendBytes(a)) {
          a = await _restartUpload(a);
          continue;
        }
        return _completeUpload(a, _fileIdOf(a.uploadUrl!));
      } on _Refused catch (r) {
        return _refused(a, r);
      }
    }
  }

  Future<Attachment> _restartUpload(Attachment a) async {
    await _db.run(() => _cache.transaction(() => _cache.exec('attachment_restart', {':local_id': a.localId})));
    return a._with(state: 'queued', clearUrl: true, offset: 0);
  }

  static String _fileIdOf(String uploadPath) => uploadPath.substring(uploadPath.lastIndexOf('/') + 1);

  // _refused ends an upload refused for good: the field marked failed (when it still
  // holds the pending reference), the row and the copy gone, a receipt to the app.
  Future<void> _refused(Attachment a, _Refused r) async {
    final changed = await _db.run(() => _cache.transaction(() {
          var changed = const <String>[];
          if (_wanted(a)) {
            final ref = FileRef(failed: r.code, name: a.name, size: a.size, contentType: a.contentType, sha256: a.sha256);
            final w = WriteTx._(this);
            w._write(a.collection, a.docId, 'patch', {a.field: ref.toJson()}, null);
            changed = w._changed;
          }
          _cache.exec('attachment_delete', {':local_id': a.localId});
          return changed;
        }));
    _removeFiles([a.path]);
    await _refreshStatus();
    if (changed.isNotEmpty) _emit(_Event(changed: changed, local: true));
    _emit(_Event(
        receipt: Receipt(
      mutationId: 0,
      collection: a.collection,
      docId: a.docId,
      status: 'rejected',
      code: r.code,
      message: r.message,
      field: a.field,
      local: true,
      attachment: a.localId,
    )));
  }

  // _cancelUpload drops an attachment whose reference is gone: the server's upload is
  // deleted (best effort), then the row and the copy.
  Future<void> _cancelUpload(Attachment a) async {
    if (a.uploadUrl case final url?) {
      try {
        await _fileRequest('DELETE', url, headers: const {'Tus-Resumable': '1.0.0'});
      } on Object {
        // An upload left behind is the server's sweeper's.
      }
    }
    await _db.run(() => _cache.transaction(() => _cache.exec('attachment_delete', {':local_id': a.localId})));
    _removeFiles([a.path]);
  }

  // _completeUpload: the field's reference becomes the file's (a patch, when the field
  // still holds the pending one), the copy becomes a cached file, the row goes.
  Future<void> _completeUpload(Attachment a, String fileId) async {
    final (keep, changed, wait) = await _db.run(() => _cache.transaction(() {
          var changed = const <String>[];
          final keep = _wanted(a);
          if (!keep) {
            final state = _cache.scalar('attachment_state', {':local_id': a.localId}) as String?;
            // Not in the view for a moment (a stale copy): the next run finds the upload
            // gone and the file there, and completes it then.
            if (state != null && state != 'canceled') return (false, changed, true);
          }
          if (keep) {
            final ref = FileRef(id: fileId, name: a.name, size: a.size, contentType: a.contentType, sha256: a.sha256);
            final w = WriteTx._(this);
            w._write(a.collection, a.docId, 'patch', {a.field: ref.toJson()}, null);
            changed = w._changed;
            _cache.exec('file_put', {
              ':file_id': fileId,
              ':path': a.path,
              ':size': a.size,
              ':sha256': a.sha256,
              ':collection': a.collection,
              ':doc_id': a.docId,
              ':pinned': 0,
              ':now': _now().millisecondsSinceEpoch,
            });
          }
          // The patch just put the reference in the view, so file_put keeps the copy;
          // were it not so, the copy is not kept.
          final kept = keep && _cache.changes == 1;
          _cache.exec('attachment_delete', {':local_id': a.localId});
          return (kept, changed, false);
        }));
    if (wait) return;
    if (!keep) {
      _removeFiles([a.path]);
      return;
    }
    await _evict(fileId);
    await _refreshStatus();
    _emit(_Event(changed: changed, local: true));
  }

  // _fileRequest sends a request of the files API with the access token, refreshing it
  // once after a 401. [body] is made anew for each attempt.
  Future<http.StreamedResponse> _fileRequest(String method, String pathAndQuery,
      {Map<String, String> headers = const {}, (Stream<List<int>>, int?) Function()? body}) async {
    var token = await _token();
    for (var attempt = 0;; attempt++) {
      final (stream, length) = body?.call() ?? (const Stream<List<int>>.empty(), method == 'POST' ? 0 : null);
      final req = _BodyRequest(method, Uri.parse('${_api.transport.baseUrl}$pathAndQuery'), stream);
      req.headers.addAll(headers);
      req.headers['Authorization'] = 'Bearer $token';
      if (length != null) req.contentLength = length;
      final http.StreamedResponse res;
      try {
        res = await _api.transport.client.send(req);
      } on http.ClientException catch (e) {
        throw NetworkException(e);
      } on SocketException catch (e) {
        throw NetworkException(e);
      } on HttpException catch (e) {
        throw NetworkException(e);
      }
      if (res.statusCode != 401) return res;
      await res.stream.drain<void>();
      if (attempt > 0) throw await _endSession();
      token = await _refresh(token);
    }
  }

  // _answer reads an answer that is not the one hoped for: a refusal for good (413,
  // 400, 403) or a TidelineException.
  Future<Exception> _answer(http.StreamedResponse res) async {
    final r = await http.Response.fromStream(res);
    final e = TidelineException.fromResponse(r, now: _now());
    final body = e.detail ?? e.title ?? r.body;
    final message = body.isEmpty ? 'HTTP ${r.statusCode}' : body; // a HEAD's answer has no body
    return switch (r.statusCode) {
      413 => _Refused(e.code.isEmpty ? 'too_large' : e.code, message),
      400 => _Refused(e.code.isEmpty ? 'invalid' : e.code, message),
      403 => _Refused(e.code.isEmpty ? 'forbidden' : e.code, message),
      _ => e,
    };
  }

  // _createUpload is the tus POST: the upload's path (its Location's).
  Future<String> _createUpload(Attachment a) async {
    String b64(String s) => base64.encode(utf8.encode(s));
    final res = await _fileRequest('POST', '/v1/files/uploads', headers: {
      'Tus-Resumable': '1.0.0',
      'Upload-Length': '${a.size}',
      'Upload-Metadata': 'sha256 ${b64(a.sha256)},filename ${b64(a.name)},filetype ${b64(a.contentType)}',
    });
    if (res.statusCode != 201) throw await _answer(res);
    await res.stream.drain<void>();
    final loc = Uri.tryParse(res.headers['location'] ?? '');
    if (loc == null || loc.path.isEmpty || !_fileIdForm.hasMatch(_fileIdOf(loc.path))) {
      throw FormatException("the upload's Location", res.headers['location']);
    }
    return loc.path;
  }

  // _uploadOffset is the tus HEAD: the server's offset, or null when the upload is gone.
  Future<int?> _uploadOffset(String uploadPath) async {
    final res = await _fileRequest('HEAD', uploadPath, headers: const {'Tus-Resumable': '1.0.0'});
    await res.stream.drain<void>();
    switch (res.statusCode) {
      case 200 || 204:
        final off = int.tryParse(res.headers['upload-offset'] ?? '');
        if (off == null || off < 0) throw FormatException("the upload's offset", res.headers['upload-offset']);
        return off;
      case 404 || 410 || 403:
        return null;
      // The server finished the upload at this HEAD (its last bytes had arrived) and
      // refused the file (the quota, the hash): for good, as at any request of the run.
      case 413:
        throw _Refused('too_large', 'HTTP 413');
      case 400:
        throw _Refused('invalid', 'HTTP 400');
    }
    throw TidelineException(status: res.statusCode, code: '');
  }

  // _fileExists asks whether the file is there with this hash (a conditional GET: 304).
  Future<bool> _fileExists(String fileId, String sum) async {
    final res = await _fileRequest('GET', '/v1/files/${Uri.encodeComponent(fileId)}', headers: {'If-None-Match': '"$sum"'});
    await res.stream.drain<void>();
    return switch (res.statusCode) {
      304 => true,
      200 || 404 => false,
      _ => throw TidelineException(status: res.statusCode, code: ''),
    };
  }

  // _sendBytes is the tus PATCH of everything from the offset; false: the server no
  // longer knows the upload.
  Future<bool> _sendBytes(Attachment a) async {
    final res = await _fileRequest('PATCH', a.uploadUrl!, headers: {
      'Tus-Resumable': '1.0.0',
      'Upload-Offset': '${a.offset}',
      'Content-Type': 'application/offset+octet-stream',
    }, body: () => (File(_abs(a.path)).openRead(a.offset, a.size), a.size - a.offset));
    switch (res.statusCode) {
      case 204 || 200:
        await res.stream.drain<void>();
        return true;
      case 404 || 410:
        await res.stream.drain<void>();
        return false;
    }
    throw await _answer(res);
  }

  /// The path of the file a reference of the document names, on this device: the copy
  /// of a pending attachment, a cached file (now the most recently used), or the file
  /// downloaded through the document (the server checks access) and kept in the cache. A
  /// download cut midway keeps the bytes that arrived, and the next open (also after a
  /// restart, or in another process on the cache) asks only for the rest, with Range. A
  /// download whose SHA-256 is not the reference's is refused ([InvalidException]); a
  /// reference with no file to be had throws [NoFileException].
  Future<String> openFile(String collection, String docId, FileRef ref) async {
    _checkDoc(collection, docId);
    final id = ref.id;
    if (id == null) {
      final pending = ref.pending;
      if (pending == null) throw const NoFileException();
      final rows = await _db.run(() => _cache.select('attachment_get', {':local_id': pending}).toList());
      if (rows.isEmpty) throw const NoFileException();
      return _abs(rows.first['path'] as String);
    }
    if (!_fileIdForm.hasMatch(id)) throw InvalidException('file id "$id"');
    final rows = await _db.run(() => _cache.select('file_get', {':file_id': id}).toList());
    var pinned = 0;
    if (rows.isNotEmpty) {
      final rel = rows.first['path'] as String;
      pinned = rows.first['pinned'] as int;
      if (File(_abs(rel)).existsSync()) {
        await _db.run(() => _cache.exec('file_touch', {':file_id': id, ':now': _now().millisecondsSinceEpoch}));
        return _abs(rel);
      }
      // The row outlived its file (removed by hand): download it again.
    }
    return _download(collection, docId, ref, id, pinned);
  }

  // _download fetches a file into the cache (docs/sdk-core.md, "download"). A download cut
  // midway keeps its bytes (part/<file id>, a row of tl_downloads); the next one, in this
  // isolate or another process, also after a restart, takes them and asks for the rest
  // with Range and If-Range (the reference's hash).
  Future<String> _download(String collection, String docId, FileRef ref, String id, int pinned) async {
    final query = Uri(queryParameters: {'collection': collection, 'doc': docId}).query;
    final target = '/v1/files/${Uri.encodeComponent(id)}?$query';
    final (tmp, kept) = await _takePartial(ref, id);
    var n = kept;
    try {
      var retried = false;
      late http.StreamedResponse res;
      while (true) {
        final headers = n > 0 ? {'Range': 'bytes=$n-', 'If-Range': '"${ref.sha256}"'} : const <String, String>{};
        try {
          res = await _fileRequest('GET', target, headers: headers);
        } on Object {
          // The network, signed out, the app gave up: the bytes are kept for the next open.
          await _keepPartial(collection, docId, ref, id, tmp, n);
          rethrow;
        }
        final status = res.statusCode;
        if (status == 200) {
          n = 0; // the whole file: no range asked, or the validator did not match
          break;
        }
        if (status == 206 && _rangeStart(res.headers['content-range']) == n) break;
        if ((status == 416 || status == 206) && n > 0 && !retried) {
          // The kept bytes do not fit the file the server has: drop them, ask once more
          // for the whole file.
          await res.stream.listen(null).cancel();
          n = 0;
          retried = true;
          continue;
        }
        final e = TidelineException.fromResponse(await http.Response.fromStream(res), now: _now());
        // The user may not read it (or the bytes do not fit): nothing kept.
        if (status != 404 && status != 403 && status != 410 && status != 416 && status != 206) {
          await _keepPartial(collection, docId, ref, id, tmp, n);
        }
        throw e;
      }
      final (size, broken) = await _writeFrom(tmp, n, res.stream);
      n = size;
      if (broken != null) {
        // The body broke off: keep what arrived.
        await _keepPartial(collection, docId, ref, id, tmp, n);
        throw NetworkException(broken);
      }
      final sum = (await sha256.bind(File(tmp).openRead()).first).toString();
      if (ref.sha256.isNotEmpty && sum != ref.sha256.toLowerCase()) {
        throw InvalidException('file $id has SHA-256 $sum, its reference says ${ref.sha256}');
      }
      final rel = 'cache/$id';
      final stale = await _db.run(() => _cache.transaction(() {
            _cache.exec('file_put', {
              ':file_id': id,
              ':path': rel,
              ':size': size,
              ':sha256': sum,
              ':collection': collection,
              ':doc_id': docId,
              ':pinned': pinned,
              ':now': _now().millisecondsSinceEpoch,
            });
            // The document left the view, or stopped referring to the file, while the
            // download ran (access lost, a clear): nothing is kept.
            if (_cache.changes == 0) return null;
            // A partial another process kept meanwhile is of no more use.
            final parts = [for (final r in _cache.select('download_get', {':file_id': id})) r['path'] as String];
            if (parts.isNotEmpty) _cache.exec('download_delete', {':file_id': id});
            File(tmp).renameSync(_abs(rel));
            return parts;
          }));
      if (stale == null) throw const NoFileException();
      _removeFiles(stale);
      await _evict(id);
      return _abs(rel);
    } finally {
      // Renamed away when the file is complete, or its bytes kept.
      final f = File(tmp);
      if (f.existsSync()) f.deleteSync();
    }
  }

  // _takePartial is step 1 of a download: in one transaction, the partial download's row
  // is deleted and its file renamed to a temporary file of this download's own, so that no
  // other process writes to it. It returns that file's path (absent when there were no
  // bytes to take) and the bytes it holds.
  Future<(String, int)> _takePartial(FileRef ref, String id) async {
    final dir = Directory(_abs('cache'))..createSync(recursive: true);
    final tmp = '${dir.path}/tmp-${_randomName()}';
    final taken = await _db.run(() => _cache.transaction(() {
          final rows = _cache.select('download_get', {':file_id': id}).toList();
          if (rows.isEmpty) return false;
          _cache.exec('download_delete', {':file_id': id});
          final part = File(_abs(rows.first['path'] as String));
          if (ref.sha256.isEmpty || (rows.first['sha256'] as String).toLowerCase() != ref.sha256.toLowerCase()) {
            // Kept for another hash: no partial of this reference's file.
            if (part.existsSync()) part.deleteSync();
            return false;
          }
          if (!part.existsSync()) return false; // a row without its file is no partial
          part.renameSync(tmp);
          return true;
        }));
    if (!taken) return (tmp, 0);
    try {
      return (tmp, File(tmp).lengthSync());
    } on FileSystemException {
      return (tmp, 0); // unreadable: start from byte 0
    }
  }

  // _writeFrom writes [body] into the file at [path] from byte [n] on (the bytes before it
  // are kept, the rest truncated), then flushes it to disk. It returns the file's length
  // and the body's error (null: it arrived whole); an error of the file is thrown.
  Future<(int, Object?)> _writeFrom(String path, int n, Stream<List<int>> body) async {
    final raf = await File(path).open(mode: FileMode.append);
    final chunks = StreamIterator(body);
    try {
      await raf.truncate(n);
      await raf.setPosition(n);
      var size = n;
      Object? broken;
      while (true) {
        final bool more;
        try {
          more = await chunks.moveNext();
        } on Object catch (e) {
          broken = e;
          break;
        }
        if (!more) break;
        await raf.writeFrom(chunks.current);
        size += chunks.current.length;
      }
      await raf.flush(); // fsync
      return (size, broken);
    } finally {
      await chunks.cancel();
      await raf.close();
    }
  }

  // _keepPartial is step 5 of a download: the [n] bytes of [tmp] (flushed) become the
  // file's partial download, unless another process kept more meanwhile, or the document
  // no longer refers to the file (access lost, a clear), or the file is cached already;
  // then [tmp] is left to be removed.
  Future<void> _keepPartial(String collection, String docId, FileRef ref, String id, String tmp, int n) async {
    if (ref.sha256.isEmpty || n <= 0) return;
    final rel = 'part/$id';
    try {
      Directory(_abs('part')).createSync(recursive: true);
      await _db.run(() => _cache.transaction(() {
            final rows = _cache.select('download_get', {':file_id': id}).toList();
            if (rows.isNotEmpty) {
              final theirs = File(_abs(rows.first['path'] as String));
              if (theirs.existsSync() && theirs.lengthSync() >= n) return; // another process kept at least as much
            }
            _cache.exec('download_put', {
              ':file_id': id,
              ':path': rel,
              ':sha256': ref.sha256,
              ':collection': collection,
              ':doc_id': docId,
              ':now': _now().millisecondsSinceEpoch,
            });
            if (_cache.changes == 0) return; // not kept
            File(tmp).renameSync(_abs(rel));
          }));
    } on Object {
      // Not kept: the next open downloads the whole file.
    }
  }

  // _rangeStart is where a 206 answer's Content-Range begins ("bytes <start>-<end>/<size>");
  // -1 when it has none that can be read.
  static int _rangeStart(String? contentRange) {
    if (contentRange == null || !contentRange.startsWith('bytes ')) return -1;
    final dash = contentRange.indexOf('-', 6);
    if (dash < 0) return -1;
    return int.tryParse(contentRange.substring(6, dash)) ?? -1;
  }

  // _expirePartials drops, at open, the partial downloads not resumed for
  // files.partialMaxAgeMs (the sweep then removes their files).
  Future<void> _expirePartials() async {
    final before = _now().millisecondsSinceEpoch - CoreSql.filesPartialMaxAgeMs;
    await _db.run(() => _cache.transaction(() => _dropFiles('downloads_expired', {':before': before}, 'download_delete')));
  }

  /// Keeps the file on the device whatever the cache limit (downloading it now if it is
  /// not here), until [unpin] or until the document is no longer readable.
  Future<String> pin(String collection, String docId, FileRef ref) async {
    final path = await openFile(collection, docId, ref);
    if (ref.id case final id?) {
      await _db.run(() => _cache.exec('file_pin', {':file_id': id, ':pinned': 1}));
    }
    return path;
  }

  /// Returns a pinned file to the cache's LRU (evicted at once if the cache is over its
  /// limit).
  Future<void> unpin(String fileId) async {
    await _db.run(() => _cache.exec('file_pin', {':file_id': fileId, ':pinned': 0}));
    await _evict('');
  }

  /// The download cache, by file id.
  Future<List<CachedFile>> cachedFiles() => _db.run(() => _cache
      .select('files_list')
      .map((r) => CachedFile(
            id: r['file_id'] as String,
            collection: r['collection'] as String,
            docId: r['doc_id'] as String,
            size: r['size'] as int,
            sha256: r['sha256'] as String,
            pinned: r['pinned'] == 1,
            usedAt: DateTime.fromMillisecondsSinceEpoch(r['used_at'] as int),
            path: _abs(r['path'] as String),
          ))
      .toList());

  // _evict removes the least recently used unpinned files beyond the cache limit (never
  // [keep]): rows in one transaction, then the files.
  Future<void> _evict(String keep) async {
    final paths = await _db.run(() => _cache.transaction(
        () => _dropFiles('files_to_evict', {':keep': keep, ':limit': _options.cacheBytes})));
    _removeFiles(paths);
  }

  // _dropFiles deletes the cached files (or partial downloads) a query lists with the
  // statement [delete], and returns their paths, to remove once the transaction commits.
  // Inside the caller's transaction.
  List<String> _dropFiles(String query, [Map<String, Object?> params = const {}, String delete = 'file_delete']) {
    final rows = _cache.select(query, params).toList();
    for (final r in rows) {
      _cache.exec(delete, {':file_id': r['file_id']});
    }
    return [for (final r in rows) r['path'] as String];
  }

  void _removeFiles(List<String> rels) {
    for (final rel in rels) {
      final f = File(_abs(rel));
      try {
        if (f.existsSync()) f.deleteSync();
      } on FileSystemException {
        // Swept at the next open.
      }
    }
  }

  // _sweepFiles removes what the files directory holds that no row names (what a crash
  // left between a file and its transaction); temporary files younger than a day are
  // left (another process may be writing one).
  Future<void> _sweepFiles() async {
    final known = await _db.run(() => <String>{
          for (final q in ['attachments_all', 'files_all', 'downloads_all'])
            for (final r in _cache.select(q)) r['path'] as String,
        });
    for (final dir in ['up', 'cache', 'part']) {
      final d = Directory(_abs(dir));
      if (!d.existsSync()) continue;
      for (final e in d.listSync()) {
        final name = e.path.substring(e.path.lastIndexOf(Platform.pathSeparator) + 1);
        if (known.contains('$dir/$name')) continue;
        if (name.startsWith('tmp-') && DateTime.now().difference(e.statSync().modified) < const Duration(days: 1)) continue;
        try {
          e.deleteSync();
        } on FileSystemException {
          // Next time.
        }
      }
    }
  }
}
