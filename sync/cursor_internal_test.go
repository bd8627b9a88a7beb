package sync

import (
	"fmt"
	"strings"
	"testing"

	"github.com/tideline-dev/tideline"
)

// TestCursorFoldsTracks: a cursor that would be longer than the server reads is folded
// into one track at the lowest position of each bucket, covering every track's
// collections; one that cannot fit even then is an error, never a cursor.
func TestCursorFoldsTracks(t *testing.T) {
	s := &Service{cursorKey: []byte("test key")}
	c := cursor{User: "alice"}
	for i := range 80 {
		tr := track{Names: []string{fmt.Sprintf("coll_%02d", i)}, Positions: map[string]int64{}}
		for b := range 50 {
			tr.Positions[fmt.Sprintf("group:%036d", b)] = int64(1000 + i + b)
		}
		if i == 7 {
			delete(tr.Positions, "group:"+strings.Repeat("0", 36)) // a bucket new to this track
		}
		c.Tracks = append(c.Tracks, tr)
	}
	raw, err := s.encodeCursor(c)
	if err != nil {
		t.Fatal(err)
	}
	if len(raw) > MaxCursorBytes {
		t.Fatalf("a cursor of %d bytes, over %d", len(raw), MaxCursorBytes)
	}
	back, err := s.decodeCursor(raw, "alice")
	if err != nil {
		t.Fatalf("the server refused its own cursor: %v", err)
	}
	if len(back.Tracks) != 1 || len(back.Tracks[0].Names) != 80 || back.Tracks[0].All {
		t.Fatalf("folded into %d tracks, %d names", len(back.Tracks), len(back.Tracks[0].Names))
	}
	for b := range 50 {
		want := int64(1000 + b) // track 0's, the lowest
		if b == 0 {
			want = 0 // track 7 lacked it
		}
		if got := back.Tracks[0].Positions[fmt.Sprintf("group:%036d", b)]; got != want {
			t.Fatalf("bucket %d at %d, want %d", b, got, want)
		}
	}

	huge := cursor{User: "alice", Tracks: []track{{All: true, Positions: map[string]int64{}}}}
	for b := range 6000 {
		huge.Tracks[0].Positions[fmt.Sprintf("group:%036d", b)] = 123456
	}
	if raw, err := s.encodeCursor(huge); tideline.ErrorCode(err) != tideline.CodeTooLarge || raw != "" {
		t.Fatalf("a cursor too long for one track: %d bytes, %v; want too_large", len(raw), err)
	}
}
