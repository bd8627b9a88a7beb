import 'generated/api.dart' show TidelineException;

/// The errors of the SDK besides [TidelineException] (an answer of the server): one
/// class per kind of docs/sdk-core.md "Errors".
sealed class TidelineError implements Exception {
  const TidelineError(this.message);

  /// What happened, for people.
  final String message;

  @override
  String toString() => '$runtimeType: $message';
}

/// The cache holds no session, or the session ended and could not be refreshed: sign in
/// again. Local reads and writes go on; the outbox is kept.
final class SignedOutException extends TidelineError {
  /// Creates a [SignedOutException].
  const SignedOutException([super.message = 'the session has ended: sign in again']);
}

/// The cache belongs to another user than the session's (at open or sign-in), or the
/// server says the client id is another user's (a 403 to a push or pull: [server]).
/// Sign out with clearLocal, or open with clearOtherUser, to start over.
final class OtherUserException extends TidelineError {
  /// Creates an [OtherUserException].
  const OtherUserException([super.message = 'the local cache belongs to another user', this.server]);

  /// The server's answer, when it was a 403.
  final TidelineException? server;

  /// The HTTP status of [server] (0: the refusal was local).
  int get status => server?.status ?? 0;
}

/// A write, a query or a value the server would reject as malformed, refused locally: it
/// changed nothing.
final class InvalidException extends TidelineError {
  /// Creates an [InvalidException].
  const InvalidException(super.message);
}

/// The server could not be reached, or the connection dropped: nothing was lost, the
/// next sync goes on from where this one stopped.
final class NetworkException extends TidelineError {
  /// Wraps [cause].
  NetworkException(this.cause) : super('$cause');

  /// The error of the connection.
  final Object cause;
}

/// The SQLite library cannot run the core: older than the core's minimum, or without
/// the JSON functions.
final class SqliteUnsupportedException extends TidelineError {
  /// Creates a [SqliteUnsupportedException].
  const SqliteUnsupportedException(super.message);
}

/// The cache file cannot be used: written by a newer SDK, or a migration failed.
final class CacheException extends TidelineError {
  /// Creates a [CacheException].
  const CacheException(super.message);
}

/// A file reference with no file to be had on this device: an upload that failed, or a
/// pending one that another device attached (or that finished or failed since the
/// reference was read: read the field again).
final class NoFileException extends TidelineError {
  /// Creates a [NoFileException].
  const NoFileException([super.message = 'the file is not on this device and cannot be downloaded']);
}
