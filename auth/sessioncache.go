package auth

import (
	"sync"
	"time"

	"github.com/tideline-dev/tideline"
)

// sessionCache remembers, per session, that it was active with an enabled user when last
// checked (and that user's roles), so that verifying an access token reads the store at
// most once per TTL per session. Changes made on this node forget the affected entries at
// once; other nodes notice within TTL.
type sessionCache struct {
	ttl     time.Duration
	clock   tideline.Clock
	mu      sync.Mutex
	entries map[string]cachedSession
}

type cachedSession struct {
	userID    string
	roles     []string
	anonymous bool
	at        time.Time
}

const maxCachedSessions = 100_000

func newSessionCache(ttl time.Duration, clock tideline.Clock) *sessionCache {
	return &sessionCache{ttl: ttl, clock: clock, entries: map[string]cachedSession{}}
}

// get returns the session's entry while it is fresh.
func (c *sessionCache) get(id string) (cachedSession, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	e, ok := c.entries[id]
	return e, ok && c.clock.Now().Sub(e.at) < c.ttl
}

func (c *sessionCache) remember(id string, e cachedSession) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.entries) >= maxCachedSessions {
		c.entries = map[string]cachedSession{}
	}
	e.at = c.clock.Now()
	c.entries[id] = e
}

func (c *sessionCache) forget(id string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	delete(c.entries, id)
}

// forgetUser drops the entries of a user's sessions: after their sessions are revoked, or
// they are disabled, deleted or given other roles.
func (c *sessionCache) forgetUser(userID string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for id, e := range c.entries {
		if e.userID == userID {
			delete(c.entries, id)
		}
	}
}
