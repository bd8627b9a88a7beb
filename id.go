package tideline

import (
	"crypto/rand"
	"encoding/hex"
	"sync"
	"time"
)

// NewID returns a new identifier for a server-created entity (user, session, key, ...): a
// UUID version 7 in its canonical text form, 36 characters. The first 48 bits are the Unix
// time in milliseconds, so IDs created later sort later; the next 12 bits are a counter
// (RFC 9562, method 1), so the IDs one process makes within a millisecond sort in the
// order it made them too (lists ordered by ID are in creation order); the other 62 bits
// are random, so IDs cannot be guessed.
func NewID() string {
	idMu.Lock()
	ms, seq := uint64(time.Now().UnixMilli()), randomSeq()
	if ms <= idLast.ms { // the same millisecond, or the clock stepped back: count on
		ms, seq = idLast.ms, idLast.seq+1
		if seq > 0xfff { // 4,096 IDs in a millisecond: borrow the next one
			ms, seq = ms+1, randomSeq()
		}
	}
	idLast.ms, idLast.seq = ms, seq
	idMu.Unlock()
	return newID(ms, seq)
}

var (
	idMu   sync.Mutex
	idLast struct {
		ms  uint64
		seq uint16
	}
)

// randomSeq starts a millisecond's counter at a random value below 2,048, leaving room to
// count.
func randomSeq() uint16 {
	var b [2]byte
	_, _ = rand.Read(b[:])
	return (uint16(b[0])<<8 | uint16(b[1])) & 0x7ff
}

func newIDAt(t time.Time) string { return newID(uint64(t.UnixMilli()), randomSeq()) }

func newID(ms uint64, seq uint16) string {
	var b [16]byte
	_, _ = rand.Read(b[8:]) // crypto/rand.Read never fails (it crashes the program instead)
	b[0], b[1], b[2] = byte(ms>>40), byte(ms>>32), byte(ms>>24)
	b[3], b[4], b[5] = byte(ms>>16), byte(ms>>8), byte(ms)
	b[6], b[7] = 0x70|byte(seq>>8)&0x0f, byte(seq) // version 7, the counter
	b[8] = 0x80 | b[8]&0x3f                        // RFC 9562 variant
	var s [36]byte
	hex.Encode(s[0:8], b[0:4])
	s[8] = '-'
	hex.Encode(s[9:13], b[4:6])
	s[13] = '-'
	hex.Encode(s[14:18], b[6:8])
	s[18] = '-'
	hex.Encode(s[19:23], b[8:10])
	s[23] = '-'
	hex.Encode(s[24:], b[10:])
	return string(s[:])
}

// ValidID reports whether s has the form of an ID made by NewID (any UUID in canonical
// lower-case text form). Handlers check path and body IDs with it before they reach a store.
func ValidID(s string) bool {
	if len(s) != 36 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch i {
		case 8, 13, 18, 23:
			if c != '-' {
				return false
			}
		default:
			if !('0' <= c && c <= '9' || 'a' <= c && c <= 'f') {
				return false
			}
		}
	}
	return true
}
