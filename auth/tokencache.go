package auth

import "crypto/sha256"

// tokenCache remembers the access tokens this node has verified, by a hash of their text,
// so that a device's every request does not pay the Ed25519 signature check again (about
// 60 µs of CPU, a tenth of a node's CPU under the load test). It is safe because a token's
// text decides the check: the same bytes verify the same way under the same key, issuer
// and audience. What can change with time is checked at every use: the token's expiry
// (with tokenLeeway, as the full check) and that its key still verifies (keys dropped from
// the store stop their cached tokens too). Sessions and users are checked after this, as
// for any token.
type tokenCache = boundedMap[[sha256.Size]byte, verifiedToken]

type verifiedToken struct {
	claims *AccessClaims // never changed once cached
	kid    string
}

// maxCachedTokens bounds the cache (about 150 bytes an entry); past it, it starts over.
const maxCachedTokens = 100_000

func newTokenCache() *tokenCache {
	return newBoundedMap[[sha256.Size]byte, verifiedToken](maxCachedTokens)
}
