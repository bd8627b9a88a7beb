package sync

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"slices"
	"strings"

	"github.com/tideline-dev/tideline"
)

// CodeInvalidCursor is the error of a cursor that is malformed, tampered with, made for
// another user, or made for another set of collections.
const CodeInvalidCursor = tideline.CodeInvalidCursor

// cursor is a client's position: per bucket, the highest sequence number it has received.
// On the wire it is opaque: base64url JSON and an HMAC under a server secret, so a client
// cannot forge a position or use another user's.
type cursor struct {
	Version     int              `json:"v"`
	User        string           `json:"u"`
	Collections []string         `json:"c,omitempty"` // the subset it was made for; none: all
	Positions   map[string]int64 `json:"p"`
}

const cursorVersion = 1

func (s *Service) encodeCursor(c cursor) string {
	c.Version = cursorVersion
	body, _ := json.Marshal(c) // a cursor always marshals
	mac := hmac.New(sha256.New, s.cursorKey)
	mac.Write(body)
	enc := base64.RawURLEncoding
	return enc.EncodeToString(body) + "." + enc.EncodeToString(mac.Sum(nil))
}

// decodeCursor checks and reads a cursor for user; "" is the start (no positions).
func (s *Service) decodeCursor(raw, user string, collections []string) (cursor, error) {
	if raw == "" {
		return cursor{User: user, Collections: collections, Positions: map[string]int64{}}, nil
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
	if err := json.Unmarshal(body, &c); err != nil || c.Version != cursorVersion || c.Positions == nil {
		return cursor{}, bad("The cursor is of an unknown version; pull without a cursor to start over.")
	}
	if c.User != user {
		return cursor{}, bad("The cursor belongs to another user; pull without a cursor to start over.")
	}
	if !slices.Equal(c.Collections, collections) {
		return cursor{}, bad("The cursor was made for another set of collections; pull with the same collections, or without a cursor to start over.")
	}
	return c, nil
}
