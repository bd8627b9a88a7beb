package auth

import (
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
	entries *boundedMap[string, cachedSession]
}

type cachedSession struct {
	userID    string
	roles     []string
	anonymous bool
	at        time.Time
}

const maxCachedSessions = 100_000

func newSessionCache(ttl time.Duration, clock tideline.Clock) *sessionCache {
	return &sessionCache{ttl: ttl, clock: clock, entries: newBoundedMap[string, cachedSession](maxCachedSessions)}
}

// get returns the session's entry while it is fresh.
func (c *sessionCache) get(id string) (cachedSession, bool) {
	e, ok := c.entries.get(id)
	return e, ok && c.clock.Now().Sub(e.at) < c.ttl
}

func (c *sessionCache) remember(id string, e cachedSession) {
	e.at = c.clock.Now()
	c.entries.put(id, e)
}

func (c *sessionCache) forget(id string) { c.entries.delete(id) }

// forgetUser drops the entries of a user's sessions: after their sessions are revoked, or
// they are disabled, deleted or given other roles.
func (c *sessionCache) forgetUser(userID string) {
	c.entries.deleteFunc(func(_ string, e cachedSession) bool { return e.userID == userID })
}
