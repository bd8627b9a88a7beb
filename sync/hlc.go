package sync

import (
	"fmt"
	"regexp"
	"strconv"
	stdsync "sync"
	"time"

	"github.com/tideline-dev/tideline"
)

// HLC is a hybrid logical clock timestamp in its wire form
// "<wall ms, 13 digits>-<counter, 5 digits>-<node>", such as
// "1767225600000-00003-phone-7f3a". The fixed-width fields make string order the clock's
// order; the node (the client id) breaks ties, so two clients never produce equal stamps.
// The empty HLC is older than every other.
type HLC string

var hlcForm = regexp.MustCompile(`^(\d{13})-(\d{5})-([A-Za-z0-9_-]{1,64})$`)

// ParseHLC checks the wire form of s.
func ParseHLC(s string) (HLC, error) {
	if !hlcForm.MatchString(s) {
		return "", fmt.Errorf("%q is not an HLC of the form <13-digit ms>-<5-digit counter>-<node>", s)
	}
	return HLC(s), nil
}

// MakeHLC builds an HLC from its parts.
func MakeHLC(wall time.Time, counter int, node string) HLC {
	return HLC(fmt.Sprintf("%013d-%05d-%s", max(0, wall.UnixMilli()), counter%100000, node))
}

// Wall is the timestamp's wall-clock part.
func (h HLC) Wall() time.Time {
	m := hlcForm.FindStringSubmatch(string(h))
	if m == nil {
		return time.Time{}
	}
	ms, _ := strconv.ParseInt(m[1], 10, 64)
	return time.UnixMilli(ms).UTC()
}

func (h HLC) parts() (wall int64, counter int, node string) {
	m := hlcForm.FindStringSubmatch(string(h))
	if m == nil {
		return 0, 0, ""
	}
	wall, _ = strconv.ParseInt(m[1], 10, 64)
	counter, _ = strconv.Atoi(m[2])
	return wall, counter, m[3]
}

// After reports whether h is later than o.
func (h HLC) After(o HLC) bool { return h > o }

func maxHLC(a, b HLC) HLC {
	if a > b {
		return a
	}
	return b
}

// hlcClock stamps the server's own mutations (those sent without an HLC) and clamps
// client stamps that run too far ahead. It observes every accepted client stamp, so a
// server stamp is always later than any stamp it has seen: a write the server stamps
// after a client's write wins over it.
type hlcClock struct {
	clock   tideline.Clock
	maxSkew time.Duration
	mu      stdsync.Mutex
	last    HLC
}

// now returns a new stamp for node, later than every stamp seen.
func (c *hlcClock) now(node string) HLC {
	c.mu.Lock()
	defer c.mu.Unlock()
	wall := c.clock.Now().UnixMilli()
	lw, lc, _ := c.last.parts()
	counter := 0
	if lw >= wall {
		wall, counter = lw, lc+1
		if counter > 99999 { // more than 100,000 stamps in one millisecond: borrow the next one
			wall, counter = wall+1, 0
		}
	}
	h := MakeHLC(time.UnixMilli(wall), counter, node)
	c.last = h
	return h
}

// accept returns the stamp a client's mutation gets: its own when it is not more than
// maxSkew ahead of the server's clock (clamped = false), otherwise a server stamp with the
// client's node (clamped = true), so a client cannot make its writes win forever by lying
// about time.
func (c *hlcClock) accept(h HLC, node string) (HLC, bool) {
	if h.Wall().After(c.clock.Now().Add(c.maxSkew)) {
		return c.now(node), true
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	c.last = maxHLC(c.last, h)
	return h, false
}
