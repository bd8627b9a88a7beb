package tideline

import (
	"fmt"
	"strconv"
	"strings"
	"sync"
	"time"
)

// hlcClock issues hybrid logical clock stamps as the protocol gives them:
// "<wall ms, 13 digits>-<counter, 5 digits>-<node>"; wall = max(now, last.wall), counter =
// last.counter+1 when the wall did not move, else 0.
type hlcClock struct {
	mu      sync.Mutex
	node    string
	now     func() time.Time
	wall    int64
	counter int
}

func newHLC(node, last string, now func() time.Time) *hlcClock {
	h := &hlcClock{node: node, now: now}
	h.observe(last)
	return h
}

// observe raises the clock to a stamp seen (its own last one, or the server's).
func (h *hlcClock) observe(stamp string) {
	parts := strings.SplitN(stamp, "-", 3)
	if len(parts) < 2 {
		return
	}
	wall, err1 := strconv.ParseInt(parts[0], 10, 64)
	counter, err2 := strconv.Atoi(parts[1])
	if err1 != nil || err2 != nil {
		return
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	if wall > h.wall || (wall == h.wall && counter > h.counter) {
		h.wall, h.counter = wall, counter
	}
}

// next issues the next stamp.
func (h *hlcClock) next() string {
	h.mu.Lock()
	defer h.mu.Unlock()
	now := h.now().UnixMilli()
	if now > h.wall {
		h.wall, h.counter = now, 0
	} else {
		h.counter++
		if h.counter > 99999 { // the counter has 5 digits: move the wall on
			h.wall, h.counter = h.wall+1, 0
		}
	}
	return fmt.Sprintf("%013d-%05d-%s", h.wall, h.counter, h.node)
}
