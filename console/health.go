package console

import (
	"net/http"
	"time"

	"github.com/tideline-dev/tideline/push"
	datasync "github.com/tideline-dev/tideline/sync"
)

// Sync health: what support needs when a user says "my phone does not sync" (docs/console.md,
// "Sync health").

// QuietAfter is how long a client may go without a push or a pull before the overview
// lists it as not syncing.
const QuietAfter = 7 * 24 * time.Hour

// quietShown bounds the quiet clients the overview lists (it counts them all).
const quietShown = 10

// deviceHealth is one client of a user, as their page shows it.
type deviceHealth struct {
	datasync.ClientActivity
	// Live says it has a realtime stream open on this node.
	Live bool
	// Device is the push device registered with the client's id as its device id (nil:
	// none is).
	Device *push.Device
}

type syncHealth struct {
	Clients []deviceHealth
	// Unnamed counts the user's streams on this node whose client sent no
	// Tideline-Client header (a client id): they cannot be matched to a row.
	Unnamed int
}

// healthOf returns the sync health of a user's clients: each client the store has a
// record of, and each client with a stream on this node that has none yet; with the push
// devices registered under the same id.
func (c *Console) healthOf(r *http.Request, userID string, devices []push.Device) (*syncHealth, error) {
	if c.cfg.Sync == nil {
		return nil, nil
	}
	clients, err := c.cfg.Sync.ClientHealth(r.Context(), userID)
	if err != nil {
		return nil, err
	}
	h := &syncHealth{}
	var streams []datasync.LiveStream
	if c.cfg.Hub != nil {
		streams = c.cfg.Hub.LiveStreams(userID)
	}
	live := map[string]bool{}
	for _, s := range streams {
		if s.Client.ID == "" {
			h.Unnamed++
		}
		live[s.Client.ID] = true
	}
	byDevice := map[string]*push.Device{}
	for i := range devices {
		byDevice[devices[i].DeviceID] = &devices[i]
	}
	for _, a := range clients {
		h.Clients = append(h.Clients, deviceHealth{ClientActivity: a, Live: live[a.ClientID], Device: byDevice[a.ClientID]})
		delete(live, a.ClientID)
	}
	for _, s := range streams { // a client with a stream that has not pushed or pulled yet
		if s.Client.ID != "" && live[s.Client.ID] {
			delete(live, s.Client.ID)
			h.Clients = append(h.Clients, deviceHealth{ClientActivity: datasync.ClientActivity{UserID: userID, ClientID: s.Client.ID,
				SDK: s.Client.SDK, Protocol: s.Client.Protocol}, Live: true, Device: byDevice[s.Client.ID]})
		}
	}
	return h, nil
}

// quietClients is the overview's card of clients that have not synced for QuietAfter.
type quietClients struct {
	Clients []datasync.ClientActivity
	// Total counts them all; Emails are their users' (by id; "" for an anonymous user).
	Total  int
	Emails map[string]string
	// Streams is this node's open streams by SDK ("unknown" for a client that sent no
	// Tideline-Client header).
	Streams map[string]int
	// Nodes are the streams of every node that reported lately (sync.NodeReportEvery);
	// ThisNode is the name of the node serving the page.
	Nodes    []datasync.NodeStreams
	ThisNode string
}

func (c *Console) quiet(r *http.Request) (*quietClients, error) {
	if c.cfg.Sync == nil {
		return nil, nil
	}
	ctx := r.Context()
	list, n, err := c.cfg.Sync.QuietClients(ctx, QuietAfter, quietShown)
	if err != nil {
		return nil, err
	}
	q := &quietClients{Clients: list, Total: n, Emails: map[string]string{}, Streams: map[string]int{}}
	for _, a := range list {
		if _, ok := q.Emails[a.UserID]; ok {
			continue
		}
		if u, err := c.cfg.Auth.GetUser(ctx, a.UserID); err == nil {
			q.Emails[a.UserID] = u.Email
		}
	}
	if c.cfg.Hub != nil {
		if q.Nodes, err = c.cfg.Hub.NodeStreams(ctx); err != nil {
			return nil, err
		}
		q.ThisNode = c.cfg.Hub.Node()
		for _, s := range c.cfg.Hub.LiveStreams("") {
			sdk := s.Client.SDK
			if sdk == "" {
				sdk = "unknown"
			}
			q.Streams[sdk]++
		}
	}
	return q, nil
}
