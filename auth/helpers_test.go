package auth_test

import (
	"context"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tideline-dev/tideline"
	"github.com/tideline-dev/tideline/auth"
	"github.com/tideline-dev/tideline/store/enginetest"
)

// cheap are argon2id parameters that keep tests fast; the defaults are measured in
// docs/benchmarks.md.
var cheap = auth.Argon2Params{MemoryKiB: 64, Iterations: 1, Parallelism: 1}

const goodPassword = "correct horse battery staple"

// mailbox is a Mailer that keeps what it is given, so a test can read the links.
type mailbox struct {
	mu   sync.Mutex
	sent []auth.Email
	ch   chan auth.Email
}

func newMailbox() *mailbox { return &mailbox{ch: make(chan auth.Email, 100)} }

func (m *mailbox) Send(_ context.Context, e auth.Email) error {
	m.mu.Lock()
	m.sent = append(m.sent, e)
	m.mu.Unlock()
	m.ch <- e
	return nil
}

// next waits for the next email.
func (m *mailbox) next(t *testing.T) auth.Email {
	t.Helper()
	select {
	case e := <-m.ch:
		return e
	case <-time.After(10 * time.Second):
		t.Fatal("no email within 10s")
		return auth.Email{}
	}
}

// none checks that no email is waiting after the outbox has drained.
func (m *mailbox) count() int {
	m.mu.Lock()
	defer m.mu.Unlock()
	return len(m.sent)
}

// tokenIn returns the emailed action token in e.
func tokenIn(t *testing.T, e auth.Email) string {
	t.Helper()
	for _, f := range strings.Fields(e.Text) {
		if i := strings.Index(f, "tlact_"); i >= 0 {
			return f[i:]
		}
	}
	t.Fatalf("no token in email %q", e.Text)
	return ""
}

// env is a Service on a real embedded store, with a manual clock and a mailbox.
type env struct {
	t     *testing.T
	svc   *auth.Service
	store auth.Store
	clock *tideline.ManualClock
	mail  *mailbox
	cfg   auth.Config
}

var client = auth.Client{IP: "203.0.113.5", UserAgent: "test/1.0", DeviceName: "Test phone", Platform: "ios"}

// eachEngine runs test once per engine (enginetest.Each).
var eachEngine = enginetest.Each

// openStore opens a fresh auth store on engine, closed when the test ends.
func openStore(t *testing.T, engine string) auth.Store { return enginetest.Open(t, engine, nil).Auth() }

func newEnv(t *testing.T, engine string, change func(*auth.Config)) *env {
	t.Helper()
	db := enginetest.Open(t, engine, nil)
	e := &env{t: t, store: db.Auth(), clock: tideline.NewManualClock(time.Date(2026, 5, 1, 9, 0, 0, 0, time.UTC)), mail: newMailbox()}
	e.cfg = auth.Config{Argon2: cheap, Clock: e.clock, Mailer: e.mail, Limits: &auth.Limits{}, Secrets: db.Secrets()}
	if change != nil {
		change(&e.cfg)
	}
	e.svc = e.service()
	return e
}

// service returns another Service on the same store: another node.
func (e *env) service() *auth.Service {
	e.t.Helper()
	svc, err := auth.New(e.t.Context(), e.store, e.cfg)
	if err != nil {
		e.t.Fatal(err)
	}
	e.t.Cleanup(svc.Close)
	return svc
}

func (e *env) signUp(email string) auth.Result {
	e.t.Helper()
	res, err := e.svc.SignUp(e.t.Context(), email, goodPassword, client)
	if err != nil {
		e.t.Fatalf("SignUp %s: %v", email, err)
	}
	return res
}

func (e *env) principal(access string) auth.Principal {
	e.t.Helper()
	p, err := e.svc.Authenticate(e.t.Context(), access)
	if err != nil {
		e.t.Fatalf("Authenticate: %v", err)
	}
	return p
}

var wantCode = enginetest.WantCode

func (e *env) auditTypes(userID string) []string {
	e.t.Helper()
	events, err := e.svc.ListAudit(e.t.Context(), auth.AuditQuery{UserID: userID, Limit: 100})
	if err != nil {
		e.t.Fatal(err)
	}
	var out []string
	for i := len(events) - 1; i >= 0; i-- {
		out = append(out, events[i].Type)
	}
	return out
}
