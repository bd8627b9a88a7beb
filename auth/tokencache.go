package auth

import (
	"crypto/sha256"
	"sync"
)

// tokenCache remembers the access tokens this node has verified, by a hash of their text,
// so that a device's every request does not pay the Ed25519 signature check again (about
// 60 µs of CPU, a tenth of a node's CPU under the load test). It is safe because a token's
// text decides the check: the same bytes verify the same way under the same key, issuer
// and audience. What can change with time is checked at every use: the token's expiry
// (with tokenLeeway, as the full check) and that its key still verifies (keys dropped from
// the store stop their cached tokens too). Sessions and users are checked after this, as
// for any token.
type tokenCache struct {
	mu      sync.Mutex
	entries map[[sha256.Size]byte]verifiedToken
}

type verifiedToken struct {
	claims *AccessClaims // never changed once cached
	kid    string
}

// maxCachedTokens bounds the cache (about 150 bytes an entry); past it, it starts over.
const maxCachedTokens = 100_000

func newTokenCache() *tokenCache {
	return &tokenCache{entries: map[[sha256.Size]byte]verifiedToken{}}
}

func (c *tokenCache) get(sum [sha256.Size]byte) (verifiedToken, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	v, ok := c.entries[sum]
	return v, ok
}

func (c *tokenCache) remember(sum [sha256.Size]byte, v verifiedToken) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.entries) >= maxCachedTokens {
		c.entries = map[[sha256.Size]byte]verifiedToken{}
	}
	c.entries[sum] = v
}

func (c *tokenCache) forget(sum [sha256.Size]byte) {
	c.mu.Lock()
	defer c.mu.Unlock()
	delete(c.entries, sum)
}
