// Package auth is Tideline's accounts capability: users with email and password (argon2id),
// anonymous users that can later be linked, external identities (OIDC issuers, Firebase),
// sessions per device with rotating refresh tokens, short-lived access tokens (JWT, EdDSA,
// published as a JWKS), email verification and password reset, admin API keys and roles,
// rate limits, and an audit log.
//
// The Service holds the rules; it stores everything through Store, which each storage
// engine implements (store/sqlite, store/mongo) and store/storetest checks. It imports no
// engine and no HTTP framework.
package auth
