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

func (s *Service) encodeCursor(c cursor) string {
	c.Version = cursorVersion
	body, _ := json.Marshal(c) // a cursor always marshals
	mac := hmac.New(sha256.New, s.cursorKey)
	mac.Write(body)
	enc := base64.RawURLEncoding
	return enc.EncodeToString(body) + "." + enc.EncodeToString(mac.Sum(nil))
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
	if !ok || err1 != nil || err2 != nil || len(raw) > 64<<10 {
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
