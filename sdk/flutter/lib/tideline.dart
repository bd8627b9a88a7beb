// Tideline's Flutter and Dart SDK: an offline-first cache of the user's documents in a
// local SQLite file, synced with a Tideline server (docs/sdk-flutter.md).

export 'src/client.dart' show Attachment, CachedFile, Collection, FileRef, Tideline, TidelineFiles, TypedCollection, WriteTx;
export 'src/errors.dart';
export 'src/generated/api.dart' show TidelineApi, TidelineException, TidelineTransport;
export 'src/json_text.dart' show JsonNumber;
export 'src/model.dart';
