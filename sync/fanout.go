package sync

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"errors"
	"slices"
	"sort"
	"strconv"
	"sync/atomic"
)

// Protocol 2: changes on the stream.
//
// A stream of protocol 2 starts like one of protocol 1: it is poked. When a pull that
// names it completes (HasMore false), the stream takes over from that pull's cursor
// (handoff): it is live. From then on each poll of the hub reads the changes committed
// since the last poll once, per bucket that some protocol 2 stream on this node reads (a
// batch), encodes each change once, and sends every live stream in a touched bucket one
// message: its changes after its position, in sequence order, each document once, and a
// cursor signed for it, exactly as a pull from its previous cursor would have answered.
//
// A live stream falls back to pokes (and its client pulls, then hands over again) when
// the hub cannot vouch for the next message: its send buffer is full, the message would
// be over MaxMessageBytes, one of its buckets had more changes than a batch reads, a purge
// reached the range (a reset), a change would evict a document, or its buckets changed
// (a group or role). So a live stream never skips a change: every message continues from
// the last, and everything else is a pull from a cursor, as in protocol 1.

// Why a live stream fell back to pokes (the reasons in the metrics).
const (
	fallBuffer  = "buffer"  // its send buffer was full
	fallSize    = "size"    // its next message was over MaxMessageBytes
	fallUnread  = "unread"  // a bucket of it was not read whole for the batch
	fallReset   = "reset"   // the batch could not be read whole (a purge, too many buckets touched)
	fallEvict   = "evict"   // a change would evict a document from it
	fallBuckets = "buckets" // its buckets changed (a group or a role)
	fallGap     = "gap"     // a handoff from a pull older than the batches the hub keeps
)

var fallReasons = []string{fallBuffer, fallSize, fallUnread, fallReset, fallEvict, fallBuckets, fallGap}

// fanoutStats counts what protocol 2 streams were sent.
type fanoutStats struct {
	messages, changes, handoffs, refused atomic.Int64
	live                                 atomic.Int64
	fallbacks                            [7]atomic.Int64 // by fallReasons
}

// FanoutStats are counts of the hub's protocol 2 work since it started.
type FanoutStats struct {
	Messages  int64            // changes messages queued for live streams
	Changes   int64            // changes in them
	Handoffs  int64            // pulls that made a stream live
	Refused   int64            // pulls that named a stream that could not take over
	Fallbacks map[string]int64 // live streams that fell back to pokes, by reason
	Live      int64            // streams live now
}

// Fanout returns the counts of protocol 2 work.
func (h *Hub) Fanout() FanoutStats {
	st := FanoutStats{Messages: h.fan.messages.Load(), Changes: h.fan.changes.Load(), Handoffs: h.fan.handoffs.Load(),
		Refused: h.fan.refused.Load(), Fallbacks: map[string]int64{}}
	for i, r := range fallReasons {
		st.Fallbacks[r] = h.fan.fallbacks[i].Load()
	}
	st.Live = h.fan.live.Load()
	return st
}

func (c *HubConfig) setFanoutDefaults() {
	for _, d := range []struct {
		v   *int
		def int
	}{{&c.MaxMessageBytes, 256 << 10}, {&c.SendBuffer, 64}, {&c.SendBufferBytes, 1 << 20},
		{&c.History, 4096}, {&c.HistoryBytes, 16 << 20}, {&c.BatchChanges, 1000}} {
		if *d.v <= 0 {
			*d.v = d.def
		}
	}
}

// liveState is where a live stream is: its subscription (the collections of its cursor's
// one track) and its position, the watermark its last cursor is at. The hub has told it
// everything in its buckets up to max(pos, the hub's last poll).
type liveState struct {
	track track // All and Names; Positions unused
	pos   int64
}

// batch is what one poll read: the changes committed in (from, to] of every bucket that a
// protocol 2 stream on this node reads, each encoded once.
type batch struct {
	from, to int64
	whole    bool                        // false: nothing of it can be vouched for (everyone pulls)
	touched  map[string]bool             // the buckets written in the range
	changes  map[string][]*encodedChange // bucket -> its changes, in sequence order; absent: not read
	size     int
}

// encodedChange is a document's state in a batch, its change encoded up to its buckets,
// which each stream gets as the ones it reads.
type encodedChange struct {
	ref      DocRef
	seq      int64
	evictSeq int64
	buckets  []string // the document's buckets
	head     []byte   // `{"collection":…,"docId":…,"op":…,"version":…,"seq":…[,"doc":…],"buckets":`
}

func newStreamID() string {
	b := make([]byte, 16)
	_, _ = rand.Read(b)
	return base64.RawURLEncoding.EncodeToString(b)
}

// read reads the batch (last, w]: the changes of every touched bucket that a protocol 2
// stream here reads. The batch is not whole when more buckets were touched than listed
// (more), on the first poll, or when a purge reached into the range.
func (h *Hub) read(ctx context.Context, last, w int64, touched []Touched, more bool) (*batch, error) {
	b := &batch{from: last, to: w, whole: !more, touched: map[string]bool{}, changes: map[string][]*encodedChange{}, size: 256}
	if more {
		return b, nil
	}
	h.mu.Lock()
	var need []string
	for _, t := range touched {
		if !b.touched[t.Bucket] {
			b.touched[t.Bucket] = true
			if h.v2[t.Bucket] > 0 {
				need = append(need, t.Bucket)
			}
		}
	}
	anyLive := len(h.v2) > 0
	h.mu.Unlock()
	if !anyLive { // no protocol 2 stream here: nothing to read, and nothing vouched for
		b.whole = false
		return b, nil
	}
	seen := map[DocRef]*encodedChange{}
	for _, bucket := range need {
		docs, err := h.svc.store.ScanBucket(ctx, BucketScan{Buckets: []string{bucket}, After: last, Through: w, Limit: h.cfg.BatchChanges + 1})
		if err != nil {
			return nil, err
		}
		if len(docs) > h.cfg.BatchChanges {
			continue // too busy a bucket to send: its streams pull
		}
		list := make([]*encodedChange, 0, len(docs))
		for _, d := range docs {
			ec := seen[d.Ref]
			if ec == nil || ec.seq != d.Seq {
				if ec = encodeChange(d); ec == nil {
					return nil, errUnencodable
				}
				seen[d.Ref] = ec
				b.size += len(ec.head) + 64
			}
			list = append(list, ec)
		}
		b.changes[bucket] = list
	}
	// A purge that reached past last may have removed a change of the range before it was
	// read: nothing of the batch can be vouched for then (the streams pull, and reset).
	horizon, err := h.svc.store.PurgeHorizon(ctx)
	if err != nil {
		return nil, err
	}
	if horizon > last {
		b.whole = false
	}
	return b, nil
}

var errUnencodable = errors.New("sync: a stored document cannot be encoded as JSON")

// encodeChange encodes d as a change up to its buckets (nil when its fields cannot be
// encoded, which a stored document always can). An evict has no head: a stream that would
// get one pulls instead.
func encodeChange(d Document) *encodedChange {
	ec := &encodedChange{ref: d.Ref, seq: d.Seq, evictSeq: d.EvictSeq, buckets: d.Buckets}
	var w bytes.Buffer
	w.WriteString(`{"collection":`)
	writeJSONString(&w, d.Ref.Collection)
	w.WriteString(`,"docId":`)
	writeJSONString(&w, d.Ref.ID)
	if d.Deleted {
		w.WriteString(`,"op":"delete"`)
	} else {
		w.WriteString(`,"op":"upsert"`)
	}
	w.WriteString(`,"version":` + strconv.FormatInt(d.Version, 10) + `,"seq":` + strconv.FormatInt(d.Seq, 10))
	if !d.Deleted {
		fields := d.Fields
		if fields == nil {
			fields = map[string]any{}
		}
		doc, err := json.Marshal(normalizeInPlace(fields))
		if err != nil {
			return nil
		}
		w.WriteString(`,"doc":`)
		w.Write(doc)
	}
	w.WriteString(`,"buckets":`)
	ec.head = w.Bytes()
	return ec
}

func writeJSONString(w *bytes.Buffer, s string) {
	b, _ := json.Marshal(s) // a string always marshals
	w.Write(b)
}

// deliver sends live stream s the changes of batch b after its position, or makes it fall
// back to pokes when it cannot. Called with h.mu held.
func (h *Hub) deliver(s *Subscriber, b *batch) {
	ls := s.live
	from := max(b.from, ls.pos)
	if from >= b.to {
		return // it is there already (it took over from a pull that had read further)
	}
	if !b.whole {
		h.fallBehind(s, fallReset)
		return
	}
	var picked []*encodedChange
	seen := map[DocRef]bool{}
	for _, bucket := range s.buckets {
		list, read := b.changes[bucket]
		if !read {
			if b.touched[bucket] {
				h.fallBehind(s, fallUnread)
				return
			}
			continue
		}
		for _, ec := range list {
			if ec.seq > from && !seen[ec.ref] && ls.track.set().has(ec.ref.Collection) {
				seen[ec.ref] = true
				picked = append(picked, ec)
			}
		}
	}
	sort.Slice(picked, func(i, j int) bool { return picked[i].seq < picked[j].seq })
	var changes [][]byte
	size := 0
	for _, ec := range picked {
		mine := intersect(ec.buckets, s.buckets)
		if len(mine) == 0 {
			if from >= ec.evictSeq {
				continue // evicted before its position: it hears nothing of the document
			}
			h.fallBehind(s, fallEvict)
			return
		}
		tail, _ := json.Marshal(mine)
		c := slices.Concat(ec.head, tail, []byte("}"))
		size += len(c) + 1
		if size > h.cfg.MaxMessageBytes {
			h.fallBehind(s, fallSize)
			return
		}
		changes = append(changes, c)
	}
	ls.pos = b.to
	if len(changes) == 0 {
		return // nothing in its buckets and collections: its next cursor moves past this
	}
	cur := cursor{User: s.user, Tracks: []track{{All: ls.track.All, Names: ls.track.Names, Positions: make(map[string]int64, len(s.buckets))}}}
	for _, bucket := range s.buckets {
		cur.Tracks[0].Positions[bucket] = b.to
	}
	signed, err := h.svc.encodeCursor(cur)
	if err != nil { // too large a cursor: over any message, and the client's pull says why
		h.fallBehind(s, fallSize)
		return
	}
	var msg bytes.Buffer
	msg.Grow(size + len(signed) + 64)
	msg.WriteString(`{"type":"changes","seq":` + strconv.FormatInt(b.to, 10) + `,"changes":[`)
	for i, c := range changes {
		if i > 0 {
			msg.WriteByte(',')
		}
		msg.Write(c)
	}
	msg.WriteString(`],"cursor":"` + signed + `"}`)
	if msg.Len() > h.cfg.MaxMessageBytes {
		h.fallBehind(s, fallSize)
		return
	}
	if !s.enqueue(msg.Bytes(), h.cfg.SendBuffer, h.cfg.SendBufferBytes) {
		h.fallBehind(s, fallBuffer)
		return
	}
	h.fan.messages.Add(1)
	h.fan.changes.Add(int64(len(changes)))
}

// enqueue adds a message for the stream unless that would put more than maxMsgs messages
// or maxBytes bytes in its buffer; then the buffer is dropped (the client pulls instead).
func (s *Subscriber) enqueue(msg []byte, maxMsgs, maxBytes int) bool {
	s.mu.Lock()
	if len(s.out) >= maxMsgs || s.outBytes+len(msg) > maxBytes {
		s.out, s.outBytes = nil, 0
		s.mu.Unlock()
		return false
	}
	s.out = append(s.out, msg)
	s.outBytes += len(msg)
	s.mu.Unlock()
	s.wake()
	return true
}

// fallBehind makes live stream s poke again: its client pulls, and hands over again. Called
// with h.mu held; nothing happens to a stream that is not live.
func (h *Hub) fallBehind(s *Subscriber, reason string) {
	if s.live == nil {
		return
	}
	h.setLive(s, nil)
	h.fan.fallbacks[slices.Index(fallReasons, reason)].Add(1)
	s.poke(h.last)
	h.pokes.Add(1)
}

// remember keeps b for streams that take over from a pull older than the hub's last poll.
// A batch that is not whole ends the history: nobody can take over from before it.
func (h *Hub) remember(b *batch) {
	if !b.whole {
		h.history, h.histSize = nil, 0
		return
	}
	h.history = append(h.history, b)
	h.histSize += b.size
	for len(h.history) > h.cfg.History || (h.histSize > h.cfg.HistoryBytes && len(h.history) > 1) {
		h.histSize -= h.history[0].size
		h.history[0] = nil
		h.history = h.history[1:]
	}
}

// handoff makes the stream id of user live from a pull that has just completed (HasMore
// false) with cursor cur at watermark through, for a caller of the buckets mine. It
// reports whether the stream took over: the stream must be this node's, of protocol 2,
// with the pull's buckets, and the cursor one track (no subscription change or reset under
// way) with every bucket at through. A pull older than the hub's last poll is caught up
// from the batches the hub keeps, or refused.
func (h *Hub) handoff(id, user string, mine []string, cur cursor, through int64) bool {
	h.mu.Lock()
	hook := h.beforeHandoff
	h.mu.Unlock()
	if hook != nil {
		hook()
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	s := h.byID[id]
	if s == nil || s.user != user || !liveable(cur, mine, s.buckets, through) {
		h.fan.refused.Add(1)
		return false
	}
	h.setLive(s, &liveState{track: track{All: cur.Tracks[0].All, Names: cur.Tracks[0].Names}, pos: through})
	if through < h.last {
		i := sort.Search(len(h.history), func(i int) bool { return h.history[i].to > through })
		if i == len(h.history) || h.history[i].from > through {
			h.fallBehind(s, fallGap)
			h.fan.refused.Add(1)
			return false
		}
		for _, b := range h.history[i:] {
			if h.deliver(s, b); s.live == nil {
				h.fan.refused.Add(1)
				return false
			}
		}
	}
	s.mu.Lock()
	s.pokeDue = false // a poke not sent yet is for what the stream now sends itself
	s.mu.Unlock()
	h.fan.handoffs.Add(1)
	return true
}

// setLive sets the live state of s (nil: not live), keeping the count. Called with h.mu
// held.
func (h *Hub) setLive(s *Subscriber, ls *liveState) {
	switch {
	case s.live == nil && ls != nil:
		h.fan.live.Add(1)
	case s.live != nil && ls == nil:
		h.fan.live.Add(-1)
	}
	s.live = ls
}

// liveable reports whether a stream of buckets subs can take over from a pull of cursor cur
// at through, for a caller of buckets mine.
func liveable(cur cursor, mine, subs []string, through int64) bool {
	if len(cur.Tracks) != 1 || len(cur.Resetting) > 0 || !sameSet(mine, subs) || len(cur.Tracks[0].Positions) != len(mine) {
		return false
	}
	for _, b := range mine {
		if pos, ok := cur.Tracks[0].Positions[b]; !ok || pos != through {
			return false
		}
	}
	return true
}

func sameSet(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	for _, x := range a {
		if !slices.Contains(b, x) {
			return false
		}
	}
	return true
}
