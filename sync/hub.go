package sync

import (
	"context"
	"fmt"
	"slices"
	"strings"
	stdsync "sync"
	"sync/atomic"
	"time"

	"github.com/tideline-dev/tideline"
)

// Notifier is told of users who have new changes and no open stream on this node, so that
// their devices can be woken (push implements it as a silent push). Calls are coalesced:
// at most one per user per HubConfig.NotifyEvery.
type Notifier interface {
	Notify(ctx context.Context, userIDs []string)
}

// HubConfig configures a Hub; zero fields take the defaults given.
type HubConfig struct {
	// PollEvery is how often the node reads the watermark to learn of other nodes' new
	// changes (100 ms). Pushes on this node make it poll at once (see Hub.kick).
	PollEvery time.Duration
	// MaxStreams bounds the open streams on this node (20,000); past it, Subscribe fails
	// with unavailable.
	MaxStreams int
	// MaxStreamsPerUser bounds one user's open streams on this node
	// (DefaultMaxStreamsPerUser), so that one account cannot take every slot of the node;
	// past it, Subscribe fails with rate_limited. A user has a stream per app in the
	// foreground (a phone, a tablet, browser tabs).
	MaxStreamsPerUser int
	// Notifier wakes users with no open stream; nil: nobody is woken.
	Notifier Notifier
	// NotifyEvery is the least time between two notifications of one user (30 s).
	NotifyEvery time.Duration
	// RefreshEvery is how often a stream's buckets are read again, so that group and role
	// changes made on other nodes reach it (30 s; changes made through this node apply at
	// once).
	RefreshEvery time.Duration

	// Protocol 2 (changes on the stream; see fanout.go). MaxMessageBytes bounds one
	// changes message (256 KiB): a stream whose next message would be larger is poked
	// instead. SendBuffer and SendBufferBytes bound the messages waiting for one stream
	// (64, 1 MiB): a stream that lets more pile up has fallen behind and is poked.
	// History and HistoryBytes bound the recent batches kept for streams that take over
	// from a pull a little behind the node (4,096 batches, 16 MiB). BatchChanges is the most
	// changes of one bucket read for one batch (1,000): a bucket busier than that between
	// two polls pokes its streams.
	MaxMessageBytes, SendBuffer, SendBufferBytes int
	History, HistoryBytes, BatchChanges          int

	// Node names this node in the stream counts it reports to the store every
	// NodeReportEvery, which the admin console shows for every node ("": it reports none).
	Node string
}

// Hub tells the open streams of this node about new changes in their buckets. A stream of
// protocol 1, and one of protocol 2 that is not live, gets "pokes": a poked client pulls.
// A poke is a hint, never the data: a client that missed pokes (disconnected, slow) pulls
// from its cursor and misses nothing. A live stream of protocol 2 gets the changes
// themselves, read once per node and bucket (fanout.go).
type Hub struct {
	svc *Service
	cfg HubConfig

	pollMu    stdsync.Mutex // one poll at a time: batches follow each other without gaps
	refreshAt time.Time     // under pollMu: when refreshStale next looks for streams due (see there)

	mu       stdsync.Mutex
	byBucket map[string]map[*Subscriber]struct{}
	byUser   map[string]map[*Subscriber]struct{}
	byID     map[string]*Subscriber // protocol 2 streams, by the id a pull names
	v2       map[string]int         // bucket -> protocol 2 streams in it: the buckets a poll reads
	notified map[string]time.Time
	last     int64     // the watermark of the last poll
	polled   bool      // a poll has set last
	reported time.Time // when this node last reported its streams (reportStreams)
	history  []*batch
	histSize int

	beforeHandoff func() // tests: runs at the start of every hand-over

	streams atomic.Int64
	pokes   atomic.Int64
	mark    atomic.Int64
	kicks   chan struct{} // a push committed on this node: poll now
	fan     fanoutStats
}

// Subscriber is one open stream.
type Subscriber struct {
	user     string // caller.UserID, which never changes (read without the lock)
	id       string // protocol 2: the id a pull names to hand the stream over
	protocol int
	caller   Caller
	buckets  []string
	loaded   time.Time
	seq      atomic.Int64
	ch       chan struct{} // one slot: something to Take
	live     *liveState    // protocol 2, guarded by Hub.mu: nil while the stream pokes

	mu       stdsync.Mutex // guards what Take takes
	out      [][]byte
	outBytes int
	pokeDue  bool
}

// Pokes delivers a value when something is waiting for the stream: Take says what.
func (s *Subscriber) Pokes() <-chan struct{} { return s.ch }

// Take returns the changes messages waiting for the stream (protocol 2), in order, and
// whether a poke is due after them (with Seq); both are then cleared.
func (s *Subscriber) Take() (messages [][]byte, poke bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	messages, poke = s.out, s.pokeDue
	s.out, s.outBytes, s.pokeDue = nil, 0, false
	return messages, poke
}

// ID is the stream's id (protocol 2; "" for protocol 1): a pull that names it hands the
// stream over.
func (s *Subscriber) ID() string { return s.id }

// Seq is the watermark of the latest poke.
func (s *Subscriber) Seq() int64 { return s.seq.Load() }

// NewHub returns the hub of svc; Run makes it poll.
func NewHub(svc *Service, cfg HubConfig) *Hub {
	if cfg.PollEvery <= 0 {
		cfg.PollEvery = 100 * time.Millisecond
	}
	if cfg.MaxStreams <= 0 {
		cfg.MaxStreams = 20_000
	}
	if cfg.MaxStreamsPerUser <= 0 {
		cfg.MaxStreamsPerUser = DefaultMaxStreamsPerUser
	}
	if cfg.NotifyEvery <= 0 {
		cfg.NotifyEvery = 30 * time.Second
	}
	if cfg.RefreshEvery <= 0 {
		cfg.RefreshEvery = 30 * time.Second
	}
	cfg.setFanoutDefaults()
	h := &Hub{svc: svc, cfg: cfg, byBucket: map[string]map[*Subscriber]struct{}{}, byUser: map[string]map[*Subscriber]struct{}{},
		byID: map[string]*Subscriber{}, v2: map[string]int{}, notified: map[string]time.Time{}, kicks: make(chan struct{}, 1)}
	svc.hub = h
	return h
}

// Streams is the number of open streams; Pokes the number of pokes sent; Watermark the
// last watermark seen.
func (h *Hub) Streams() int64   { return h.streams.Load() }
func (h *Hub) Pokes() int64     { return h.pokes.Load() }
func (h *Hub) Watermark() int64 { return h.mark.Load() }

// DefaultMaxStreamsPerUser is HubConfig.MaxStreamsPerUser unless configured.
const DefaultMaxStreamsPerUser = 10

// Subscribe opens a stream for caller speaking protocol (1: pokes; 2: changes once a pull
// hands the stream over, see fanout.go). It fails with unavailable past MaxStreams, and
// with rate_limited when the caller has MaxStreamsPerUser streams open on this node
// already (counted and added under one lock: concurrent calls never exceed it).
func (h *Hub) Subscribe(ctx context.Context, caller Caller, protocol int) (*Subscriber, error) {
	if h.streams.Add(1) > int64(h.cfg.MaxStreams) {
		h.streams.Add(-1)
		return nil, tideline.Errorf(tideline.CodeUnavailable, "This server holds as many streams as it may; retry later, or pull.")
	}
	buckets, err := h.svc.bucketsOf(ctx, caller)
	if err != nil {
		h.streams.Add(-1)
		return nil, err
	}
	s := &Subscriber{user: caller.UserID, protocol: max(1, protocol), caller: caller, buckets: buckets, loaded: h.svc.clock.Now(), ch: make(chan struct{}, 1)}
	if s.protocol >= 2 {
		s.id = newStreamID()
	}
	s.seq.Store(h.mark.Load())
	h.mu.Lock()
	defer h.mu.Unlock()
	if len(h.byUser[caller.UserID]) >= h.cfg.MaxStreamsPerUser {
		h.streams.Add(-1)
		return nil, tideline.Limited(fmt.Sprintf("This account has %d realtime streams open on this server, the most one account may; close one (each app needs one), or pull.",
			h.cfg.MaxStreamsPerUser), 0, "sync.maxStreamsPerUser")
	}
	h.index(s)
	addTo(h.byUser, caller.UserID, s)
	if s.id != "" {
		h.byID[s.id] = s
	}
	return s, nil
}

func (h *Hub) index(s *Subscriber) {
	for _, b := range s.buckets {
		addTo(h.byBucket, b, s)
		if s.protocol >= 2 {
			h.v2[b]++
		}
	}
}

func (h *Hub) unindex(s *Subscriber) {
	for _, b := range s.buckets {
		removeFrom(h.byBucket, b, s)
		if s.protocol >= 2 {
			if h.v2[b]--; h.v2[b] <= 0 {
				delete(h.v2, b)
			}
		}
	}
}

func addTo(m map[string]map[*Subscriber]struct{}, k string, s *Subscriber) {
	if m[k] == nil {
		m[k] = map[*Subscriber]struct{}{}
	}
	m[k][s] = struct{}{}
}

func removeFrom(m map[string]map[*Subscriber]struct{}, k string, s *Subscriber) {
	delete(m[k], s)
	if len(m[k]) == 0 {
		delete(m, k)
	}
}

// Unsubscribe closes a stream.
func (h *Hub) Unsubscribe(s *Subscriber) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if _, ok := h.byUser[s.caller.UserID][s]; !ok {
		return
	}
	h.unindex(s)
	removeFrom(h.byUser, s.caller.UserID, s)
	delete(h.byID, s.id)
	h.setLive(s, nil)
	h.streams.Add(-1)
}

// refresh reads the buckets of userID's streams again (a group or role changed, or they
// are due: RefreshEvery). Streams whose buckets are the same go on as they were (a live
// one stays live); the others take their new buckets, fall back to pokes and are poked,
// since their new buckets may hold changes they never pulled. Streams of one user with the
// same roles share one read.
func (h *Hub) refresh(ctx context.Context, userID string) {
	h.mu.Lock()
	subs := make([]*Subscriber, 0, len(h.byUser[userID]))
	callers := make([]Caller, 0, len(h.byUser[userID]))
	for s := range h.byUser[userID] {
		subs, callers = append(subs, s), append(callers, s.caller)
	}
	h.mu.Unlock()
	type read struct {
		roles   []string
		buckets []string
	}
	var reads []read
	for i, s := range subs {
		var buckets []string
		if j := slices.IndexFunc(reads, func(r read) bool { return slices.Equal(r.roles, callers[i].Roles) }); j >= 0 {
			buckets = reads[j].buckets
		} else {
			b, err := h.svc.bucketsOf(ctx, callers[i])
			if err != nil {
				continue // the next periodic refresh tries again
			}
			buckets = b
			reads = append(reads, read{callers[i].Roles, b})
		}
		h.mu.Lock()
		_, open := h.byUser[userID][s]
		changed := open && !sameSet(s.buckets, buckets)
		if open {
			s.loaded = h.svc.clock.Now()
		}
		if changed {
			h.unindex(s)
			s.buckets = slices.Clone(buckets)
			h.index(s)
			h.fallBehind(s, fallBuckets)
		}
		h.mu.Unlock()
		if changed {
			s.poke(h.mark.Load()) // its new buckets may hold changes: let it pull
		}
	}
}

// SetRoles gives a stream its user's current roles (read again when its session is
// checked): its role buckets follow, and it is poked if they changed.
func (h *Hub) SetRoles(ctx context.Context, s *Subscriber, roles []string) {
	h.mu.Lock()
	same := slices.Equal(s.caller.Roles, roles)
	h.mu.Unlock()
	if same {
		return
	}
	c := Caller{UserID: s.user, Roles: slices.Clone(roles), Client: s.caller.Client}
	buckets, err := h.svc.bucketsOf(ctx, c)
	if err != nil {
		return // the next check tries again
	}
	h.mu.Lock()
	if _, ok := h.byUser[c.UserID][s]; ok {
		h.unindex(s)
		s.caller, s.buckets, s.loaded = c, buckets, h.svc.clock.Now()
		h.index(s)
		h.fallBehind(s, fallBuckets)
	}
	h.mu.Unlock()
	s.poke(h.mark.Load())
}

func (s *Subscriber) poke(seq int64) {
	if seq > s.seq.Load() {
		s.seq.Store(seq)
	}
	s.mu.Lock()
	s.pokeDue = true
	s.mu.Unlock()
	s.wake()
}

// wake tells the stream's goroutine that something waits for it.
func (s *Subscriber) wake() {
	select {
	case s.ch <- struct{}{}:
	default: // it is told already: what came since is taken with the rest
	}
}

// kick asks Run to poll now: a push committed on this node, so its streams hear of it
// without waiting for the next tick (on the embedded engine every write is local, and a
// change reaches the other devices in the time of a pull). Kicks coalesce: those arriving
// during a poll make one more poll.
func (h *Hub) kick() {
	select {
	case h.kicks <- struct{}{}:
	default:
	}
}

// Run polls every PollEvery, and at once after a kick, until ctx is done.
func (h *Hub) Run(ctx context.Context) {
	t := time.NewTicker(h.cfg.PollEvery)
	defer t.Stop()
	defer h.svc.marks.setFresh(false) // nobody keeps the copy fresh any more
	for {
		if err := h.Poll(ctx); err != nil && ctx.Err() == nil {
			h.svc.cfg.Logger.Warn("sync hub poll failed", "err", err.Error())
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		case <-h.kicks:
		}
	}
}

// Poll reads the watermark once and tells the streams in the buckets of the changes since
// the last poll: live streams of protocol 2 get the changes (read once for every stream,
// see fanout.go), the others a poke; users touched with no stream here are notified. Run
// calls it; tests call it to make a poll happen now. The watermark it reads is the node's
// copy that pulls serve up to (watermark.go); a poll that fails stops them from using it.
func (h *Hub) Poll(ctx context.Context) error {
	h.pollMu.Lock()
	defer h.pollMu.Unlock()
	h.refreshStale(ctx)
	h.reportStreams(ctx)
	w, err := h.svc.readWatermark(ctx)
	h.svc.marks.setFresh(err == nil)
	if err != nil {
		return err
	}
	h.mu.Lock()
	last, first := h.last, !h.polled
	h.polled = true
	h.mu.Unlock()
	if w <= last {
		return nil
	}
	var touched []Touched
	more := first // the first poll knows no "since": the streams open by then pull, and nobody is woken for history
	if !first {
		if touched, more, err = h.svc.store.TouchedBuckets(ctx, last, w, 10_000); err != nil {
			return err
		}
	}
	b, err := h.read(ctx, last, w, touched, more)
	if err != nil {
		return err
	}
	h.mu.Lock()
	h.last = w
	h.mark.Store(w)
	told := map[*Subscriber]bool{}
	tell := func(s *Subscriber) {
		if told[s] {
			return
		}
		told[s] = true
		if s.live != nil {
			h.deliver(s, b)
			return
		}
		s.poke(w)
		h.pokes.Add(1)
	}
	if more { // too much at once: everyone pulls
		for _, subs := range h.byUser {
			for s := range subs {
				tell(s)
			}
		}
	} else {
		if !b.whole { // a purge reached into the range: no live stream may move past it
			for _, s := range h.byID {
				if s.live != nil {
					tell(s)
				}
			}
		}
		for _, t := range touched {
			for s := range h.byBucket[t.Bucket] {
				tell(s)
			}
		}
	}
	h.remember(b)
	h.mu.Unlock()
	if h.cfg.Notifier != nil && !more {
		return h.notify(ctx, touched)
	}
	return nil
}

// refreshBatch bounds how many users' streams one poll refreshes, so that a node with
// many streams spreads the reads over its polls instead of holding one poll (and every
// live stream's next message) up for all of them; the others are refreshed by the polls
// after it.
const refreshBatch = 64

// refreshStale re-reads the buckets of streams loaded longer ago than RefreshEvery, for at
// most refreshBatch users. Finding them walks every stream, so it is done a tenth of
// RefreshEvery apart, or at the next poll while the last walk found a full batch.
func (h *Hub) refreshStale(ctx context.Context) {
	now := h.svc.clock.Now()
	if now.Before(h.refreshAt) {
		return
	}
	h.mu.Lock()
	var users []string
	for u, subs := range h.byUser {
		for s := range subs {
			if now.Sub(s.loaded) >= h.cfg.RefreshEvery {
				users = append(users, u)
				break
			}
		}
		if len(users) == refreshBatch {
			break
		}
	}
	h.mu.Unlock()
	if len(users) < refreshBatch {
		h.refreshAt = now.Add(h.cfg.RefreshEvery / 10)
	}
	for _, u := range users {
		h.refresh(ctx, u)
	}
}

// notify tells the Notifier of the users whose own or group buckets were touched in
// collections that notify, who have no stream here and were not notified lately.
// Buckets of roles, of everyone signed in and of everyone wake nobody: they are too wide.
func (h *Hub) notify(ctx context.Context, touched []Touched) error {
	all, err := h.svc.collections(ctx)
	if err != nil {
		return err
	}
	var users []string
	for _, t := range touched {
		if col, _ := h.svc.collection(all, t.Collection); !col.Notify {
			continue
		}
		switch {
		case strings.HasPrefix(t.Bucket, "user:"):
			users = append(users, strings.TrimPrefix(t.Bucket, "user:"))
		case strings.HasPrefix(t.Bucket, "group:"):
			members, err := h.svc.store.ListMembers(ctx, strings.TrimPrefix(t.Bucket, "group:"))
			if err != nil {
				return err
			}
			for _, m := range members {
				users = append(users, m.UserID)
			}
		}
	}
	slices.Sort(users)
	users = slices.Compact(users)
	now := h.svc.clock.Now()
	h.mu.Lock()
	var wake []string
	for _, u := range users {
		if len(h.byUser[u]) > 0 || now.Sub(h.notified[u]) < h.cfg.NotifyEvery {
			continue
		}
		h.notified[u] = now
		wake = append(wake, u)
	}
	for u, at := range h.notified { // forget old entries: memory stays bounded
		if now.Sub(at) >= h.cfg.NotifyEvery {
			delete(h.notified, u)
		}
	}
	h.mu.Unlock()
	if len(wake) > 0 {
		h.cfg.Notifier.Notify(ctx, wake)
	}
	return nil
}

// UserID is the stream's user.
func (s *Subscriber) UserID() string { return s.user }
