package sync

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"maps"
	"slices"
	"strings"

	"github.com/tideline-dev/tideline"
)

// CodeInvalidCursor is the error of a cursor that is malformed, tampered with, or made for
// another user.
const CodeInvalidCursor = tideline.CodeInvalidCursor

// cursor is a client's position in the change feed. On the wire it is opaque: base64url
// JSON and an HMAC under a server secret, so a client cannot forge a position or use
// another user's.
//
// It is a list of tracks: each covers a set of collections and holds, per bucket, the
// highest sequence number received. A subscription starts as one track; a collection added
// later gets a track of its own, starting at 0 (its initial sync) while the others continue,
// and tracks that reach the same positions merge.
type cursor struct {
	Version   int      `json:"v"`
	User      string   `json:"u"`
	Tracks    []track  `json:"t"`
	Resetting []string `json:"r,omitempty"` // buckets being synced again after a purge
}

type track struct {
	All       bool             `json:"a,omitempty"`
	Names     []string         `json:"n,omitempty"`
	Positions map[string]int64 `json:"p"`
}

func (t track) set() collSet { return collSet{all: t.All, names: t.Names} }

const cursorVersion = 1

// MaxCursorBytes bounds a cursor on the wire, both the ones the server issues and the ones
// it reads: whatever it issues it accepts back, so a client never has to start over
// because of its cursor's size. A cursor holds a position per bucket the user reads for
// each track, and the names of at most MaxSubscription collections: one track of about
// 4,000 buckets fits (a user in that many groups; roles are at most 32). It stays well
// under the default request body limit (http.maxBodyBytes, 1 MiB).
const MaxCursorBytes = 256 << 10

// encodeCursor signs c. When the cursor would be longer than MaxCursorBytes, its tracks
// are folded into one (fold): what it costs is changes sent again, never one missed. A
// user who reads too many buckets for even one track gets an error, never a cursor the
// server would refuse.
func (s *Service) encodeCursor(c cursor) (string, error) {
	c.Version = cursorVersion
	out := s.signCursor(c)
	if len(out) > MaxCursorBytes && len(c.Tracks) > 1 {
		c.fold()
		out = s.signCursor(c)
	}
	if len(out) > MaxCursorBytes {
		return "", tideline.Errorf(tideline.CodeTooLarge,
			"The cursor of a user who reads this many buckets (groups and roles) would be longer than %d bytes; leave some groups.", MaxCursorBytes)
	}
	return out, nil
}

func (s *Service) signCursor(c cursor) string {
	body, _ := json.Marshal(c) // a cursor always marshals
	mac := hmac.New(sha256.New, s.cursorKey)
	mac.Write(body)
	enc := base64.RawURLEncoding
	return enc.EncodeToString(body) + "." + enc.EncodeToString(mac.Sum(nil))
}

// fold joins every track into one that covers all their collections at, per bucket, the
// lowest position of any track (a bucket a track lacks is at 0 there). Every track's
// changes are still ahead of the folded one, so nothing is missed; the changes the folded
// track has already sent on some track come again, which a client applies harmlessly
// (upserts and deletes are idempotent; an evict of a document it lacks is ignored).
func (c *cursor) fold() {
	if len(c.Tracks) < 2 {
		return
	}
	folded := track{Positions: maps.Clone(c.Tracks[0].Positions)}
	set := c.Tracks[0].set()
	for _, t := range c.Tracks[1:] {
		set = set.union(t.set())
		for b, pos := range folded.Positions {
			if p, ok := t.Positions[b]; !ok || p < pos {
				folded.Positions[b] = p // 0 when t lacks b
			}
		}
		for b := range t.Positions {
			if _, ok := folded.Positions[b]; !ok {
				folded.Positions[b] = 0
			}
		}
	}
	folded.All, folded.Names = set.all, set.names
	c.Tracks = []track{folded}
}

// decodeCursor checks and reads a cursor of user; "" is a start with no track.
func (s *Service) decodeCursor(raw, user string) (cursor, error) {
	if raw == "" {
		return cursor{User: user}, nil
	}
	bad := func(msg string) error {
		return &tideline.Error{Code: CodeInvalidCursor, Message: msg, Fields: map[string]string{"cursor": msg}}
	}
	body64, mac64, ok := strings.Cut(raw, ".")
	enc := base64.RawURLEncoding
	body, err1 := enc.DecodeString(body64)
	sum, err2 := enc.DecodeString(mac64)
	if !ok || err1 != nil || err2 != nil || len(raw) > MaxCursorBytes {
		return cursor{}, bad("The cursor is malformed; pull without a cursor to start over.")
	}
	mac := hmac.New(sha256.New, s.cursorKey)
	mac.Write(body)
	if !hmac.Equal(sum, mac.Sum(nil)) {
		return cursor{}, bad("The cursor was not made by this server; pull without a cursor to start over.")
	}
	var c cursor
	if err := json.Unmarshal(body, &c); err != nil || c.Version != cursorVersion {
		return cursor{}, bad("The cursor is of an unknown version; pull without a cursor to start over.")
	}
	if c.User != user {
		return cursor{}, bad("The cursor belongs to another user; pull without a cursor to start over.")
	}
	for i := range c.Tracks { // "p": null, or no "p": no position yet (a pull writes to the map)
		if c.Tracks[i].Positions == nil {
			c.Tracks[i].Positions = map[string]int64{}
		}
	}
	return c, nil
}

// subscribe fits the cursor's tracks to the collections asked for: tracks keep only what
// is still asked, and what no track covers gets a new track at 0.
func (c *cursor) subscribe(want collSet) {
	var kept []track
	covered := collSet{}
	for _, t := range c.Tracks {
		set := t.set().intersect(want)
		if set.empty() {
			continue
		}
		t.All, t.Names = set.all, set.names
		kept = append(kept, t)
		covered = covered.union(set)
	}
	if added := want.minus(covered); !added.empty() {
		kept = append(kept, track{All: added.all, Names: added.names, Positions: map[string]int64{}})
	}
	c.Tracks = kept
}

// clone is a deep copy of c.
func (c cursor) clone() cursor {
	out := c
	out.Resetting = slices.Clone(c.Resetting)
	out.Tracks = make([]track, len(c.Tracks))
	for i, t := range c.Tracks {
		t.Names = slices.Clone(t.Names)
		t.Positions = maps.Clone(t.Positions)
		out.Tracks[i] = t
	}
	return out
}

// merge joins tracks that hold the same positions.
func (c *cursor) merge() {
	var out []track
	for _, t := range c.Tracks {
		joined := false
		for i := range out {
			if maps.Equal(out[i].Positions, t.Positions) {
				u := out[i].set().union(t.set())
				out[i].All, out[i].Names = u.all, u.names
				joined = true
				break
			}
		}
		if !joined {
			out = append(out, t)
		}
	}
	c.Tracks = out
}
