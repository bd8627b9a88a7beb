package sync

import (
	"cmp"
	"context"
	"regexp"
	"slices"
	"strconv"
	"strings"
	stdsync "sync"
	"time"
)

// Sync health per device: SDKs say who they are in the Tideline-Client header of every
// push, pull and stream (ClientHeader); the Service records, per user and client, when it
// last pushed and pulled and what it runs (ClientActivity, in the store through
// BrowseStore.RecordClient), and the Hub knows which clients have a stream on this node.
// The console shows them on a user's page and in the overview.
//
// Recording costs no store write per pull: a node records a client's pulls at most once
// per ClientNoteEvery, and its pushes likewise (see noteClient), so the times an admin
// sees are at most that old.

// ClientHeader is the request header in which an SDK describes itself:
//
//	Tideline-Client: sdk=go/v0.4.0; protocol=1; client=5f3a9c0e
//
// key=value pairs separated by ";": sdk is the SDK's name and version, protocol the sync
// protocol version the client speaks, client the install's client id (the clientId of its
// pushes). Unknown keys are ignored (later SDKs may add some); a pair that is malformed
// is ignored, and a header longer than 512 bytes as a whole. The header never changes how
// a request is served: it is recorded, for the admin.
const ClientHeader = "Tideline-Client"

// ClientInfo is what a request's Tideline-Client header says.
type ClientInfo struct {
	// ID is the install's client id ("" when the header names none).
	ID string
	// SDK is the SDK's name and version, such as "go/v0.4.0" or "flutter/0.1.0".
	SDK string
	// Protocol is the sync protocol version the client speaks (0: it did not say).
	Protocol int
}

var (
	sdkForm      = regexp.MustCompile(`^[A-Za-z0-9._+~-]{1,32}(/[A-Za-z0-9._+~-]{1,32})?$`)
	protocolForm = regexp.MustCompile(`^[1-9][0-9]{0,2}$`)
)

// ParseClientHeader reads a Tideline-Client header (see ClientHeader); what it cannot
// read it leaves out.
func ParseClientHeader(v string) ClientInfo {
	var c ClientInfo
	if len(v) > 512 {
		return c
	}
	for pair := range strings.SplitSeq(v, ";") {
		key, value, ok := strings.Cut(strings.TrimSpace(pair), "=")
		if !ok {
			continue
		}
		switch key {
		case "client":
			if c.ID == "" && clientIDForm.MatchString(value) {
				c.ID = value
			}
		case "sdk":
			if c.SDK == "" && sdkForm.MatchString(value) {
				c.SDK = value
			}
		case "protocol":
			if c.Protocol == 0 && protocolForm.MatchString(value) {
				c.Protocol, _ = strconv.Atoi(value)
			}
		}
	}
	return c
}

type clientInfoKey struct{}

// WithClientInfo returns ctx carrying the request's client (from its Tideline-Client
// header); the HTTP layer puts it there.
func WithClientInfo(ctx context.Context, c ClientInfo) context.Context {
	return context.WithValue(ctx, clientInfoKey{}, c)
}

// ClientInfoFrom returns the client ctx carries (the zero ClientInfo when none).
func ClientInfoFrom(ctx context.Context) ClientInfo {
	c, _ := ctx.Value(clientInfoKey{}).(ClientInfo)
	return c
}

// ClientActivity is what is known of one client of a user: when it last pushed and
// pulled, and what it runs.
type ClientActivity struct {
	UserID, ClientID string
	SDK              string
	Protocol         int
	// LastPush and LastPull are when a push or a pull of the client was last recorded
	// (zero: never), at most ClientNoteEvery before the latest.
	LastPush, LastPull time.Time
	// High is the client's mark: the highest mutation id it has had settled (lists fill
	// it from the client's mark; 0 when it has pushed nothing).
	High int64
}

// Seen is the later of LastPush and LastPull.
func (a ClientActivity) Seen() time.Time {
	if a.LastPush.After(a.LastPull) {
		return a.LastPush
	}
	return a.LastPull
}

// MaxClientsPerUser bounds the client records of a user (BrowseStore.RecordClient): a
// client making up ids records no more than that, and pushes out only its own user's.
const MaxClientsPerUser = 50

// ClientNoteEvery is how often at most a node records a client's pulls, and its pushes.
const ClientNoteEvery = time.Minute

// maxClientNotes bounds a node's memory of what it recorded; past it, entries older than
// ClientNoteEvery are forgotten, and while none is, nothing new is recorded.
const maxClientNotes = 100_000

// clientNotes is a node's memory of when it last recorded each client's pushes and pulls.
type clientNotes struct {
	mu   stdsync.Mutex
	last map[clientNoteKey]time.Time
}

type clientNoteKey struct {
	user, client string
	pull         bool
}

// due reports whether k is to be recorded at now, and if so notes that it is.
func (n *clientNotes) due(k clientNoteKey, now time.Time) bool {
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.last == nil {
		n.last = map[clientNoteKey]time.Time{}
	}
	if at, ok := n.last[k]; ok && now.Sub(at) < ClientNoteEvery {
		return false
	}
	if len(n.last) >= maxClientNotes {
		for key, at := range n.last {
			if now.Sub(at) >= ClientNoteEvery {
				delete(n.last, key)
			}
		}
		if len(n.last) >= maxClientNotes {
			return false
		}
	}
	n.last[k] = now
	return true
}

func (n *clientNotes) forget(k clientNoteKey) {
	n.mu.Lock()
	defer n.mu.Unlock()
	delete(n.last, k)
}

// noteClient records that clientID of caller pushed (pull false) or pulled, with what
// caller's Tideline-Client header says of its SDK, at most once per ClientNoteEvery per
// client and kind on this node. A failure to record is logged and fails nothing: the next
// request of the client tries again.
func (s *Service) noteClient(ctx context.Context, caller Caller, clientID string, pull bool) {
	if !clientIDForm.MatchString(clientID) || caller.UserID == "" {
		return
	}
	now := s.clock.Now()
	k := clientNoteKey{user: caller.UserID, client: clientID, pull: pull}
	if !s.notes.due(k, now) {
		return
	}
	a := ClientActivity{UserID: caller.UserID, ClientID: clientID, SDK: caller.Client.SDK, Protocol: caller.Client.Protocol}
	if pull {
		a.LastPull = now
	} else {
		a.LastPush = now
	}
	if err := s.store.RecordClient(context.WithoutCancel(ctx), a); err != nil {
		s.notes.forget(k)
		s.cfg.Logger.WarnContext(ctx, "sync: client activity not recorded", "client", clientID, "err", err.Error())
	}
}

// ClientHealth returns what is known of a user's clients, the most recently seen first
// (admin).
func (s *Service) ClientHealth(ctx context.Context, userID string) ([]ClientActivity, error) {
	return s.store.ListClients(ctx, userID)
}

// QuietClients returns the clients that have neither pushed nor pulled for quietFor, the
// most recently seen first, at most limit, and how many there are (admin).
func (s *Service) QuietClients(ctx context.Context, quietFor time.Duration, limit int) ([]ClientActivity, int, error) {
	return s.store.ListQuietClients(ctx, s.clock.Now().Add(-quietFor), max(1, limit))
}

// LiveStream is a realtime stream open on this node.
type LiveStream struct {
	UserID string
	// Client is what the stream's request said of its client (its Tideline-Client
	// header); the zero ClientInfo for a client that sent none.
	Client ClientInfo
}

// LiveStreams returns the streams open on this node, by user and client id: those of
// userID, or every user's for "".
func (h *Hub) LiveStreams(userID string) []LiveStream {
	h.mu.Lock()
	var out []LiveStream
	for user, subs := range h.byUser {
		if userID != "" && user != userID {
			continue
		}
		for s := range subs {
			out = append(out, LiveStream{UserID: user, Client: s.caller.Client})
		}
	}
	h.mu.Unlock()
	slices.SortFunc(out, func(a, b LiveStream) int {
		return cmp.Or(cmp.Compare(a.UserID, b.UserID), cmp.Compare(a.Client.ID, b.Client.ID))
	})
	return out
}

// NodeReportEvery is how often a hub reports its streams to the store (at its polls), so
// that the console of any node shows the streams of every node.
const NodeReportEvery = 30 * time.Second

// reportStreams records this node's streams when NodeReportEvery has passed since the
// last report; a failure is logged, and the next poll tries again.
func (h *Hub) reportStreams(ctx context.Context) {
	if h.cfg.Node == "" {
		return
	}
	now := h.svc.clock.Now()
	h.mu.Lock()
	due := h.reported.IsZero() || now.Sub(h.reported) >= NodeReportEvery
	if due {
		h.reported = now
	}
	h.mu.Unlock()
	if !due {
		return
	}
	if err := h.svc.store.RecordNode(ctx, NodeStreams{Node: h.cfg.Node, Streams: h.Streams(), At: now}); err != nil && ctx.Err() == nil {
		h.mu.Lock()
		h.reported = time.Time{}
		h.mu.Unlock()
		h.svc.cfg.Logger.Warn("sync hub: streams not reported", "err", err.Error())
	}
}

// NodeStreams returns the streams of every node that reported within the last two
// report periods, by node name (admin); Node is this node's name.
func (h *Hub) NodeStreams(ctx context.Context) ([]NodeStreams, error) {
	return h.svc.store.ListNodes(ctx, h.svc.clock.Now().Add(-2*NodeReportEvery))
}

// Node is this node's name (HubConfig.Node).
func (h *Hub) Node() string { return h.cfg.Node }
