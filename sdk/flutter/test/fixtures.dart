// What several tests answer for the server.

/// A user as the auth endpoints return it.
const userJson = {
  'id': 'u1',
  'anonymous': false,
  'createdAt': '2026-11-01T00:00:00Z',
  'updatedAt': '2026-11-01T00:00:00Z',
  'disabled': false,
  'displayName': '',
  'emailVerified': false,
  'roles': <String>[],
};

/// A session's tokens for [userJson], as sign-in and refresh return them.
Map<String, Object?> sessionJson(String access, String refresh) =>
    {'accessToken': access, 'refreshToken': refresh, 'expiresIn': 900, 'sessionId': 's', 'user': userJson};
