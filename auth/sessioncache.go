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
//
// A check reads the store, then remembers what it read; a revocation writes the store,
// then forgets. A check that read before the revocation and remembers after the forget
// would put the ended session back for a TTL. So every forget starts a new generation, a
// check takes the generation before it reads, and remember stores nothing when the
// generation has moved on since: the check was in flight across a forget, and the next
// one reads the store again.
type sessionCache struct {
	ttl     time.Duration
	clock   tideline.Clock
	entries *boundedMap[string, cachedSession]

	mu  sync.Mutex // orders remember against forget
	gen uint64     // raised by every forget
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

// generation is the generation to hand to remember: take it before reading the store.
func (c *sessionCache) generation() uint64 {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.gen
}

// remember stores e for the session, unless something was forgotten since gen (what the
// caller read may be stale).
func (c *sessionCache) remember(id string, e cachedSession, gen uint64) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if gen != c.gen {
		return
	}
	e.at = c.clock.Now()
	c.entries.put(id, e)
}

func (c *sessionCache) forget(id string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.gen++
	c.entries.delete(id)
}

// forgetUser drops the entries of a user's sessions: after their sessions are revoked, or
// they are disabled, deleted or given other roles.
func (c *sessionCache) forgetUser(userID string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.gen++
	c.entries.deleteFunc(func(_ string, e cachedSession) bool { return e.userID == userID })
}
