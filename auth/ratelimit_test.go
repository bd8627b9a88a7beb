package auth_test

import (
	"bytes"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/tideline-dev/tideline"
	"github.com/tideline-dev/tideline/auth"
	"github.com/tideline-dev/tideline/store/mongo"
	"github.com/tideline-dev/tideline/store/storetest"
)

// mongoNodes opens n handles on one new MongoDB database, each with its own client: the
// stores of n nodes.
func mongoNodes(t *testing.T, n int) []*mongo.DB {
	t.Helper()
	uri := storetest.MongoURI(t)
	name := "auth_" + strings.ReplaceAll(tideline.NewID(), "-", "")[:20]
	var dbs []*mongo.DB
	for range n {
		db, err := mongo.Open(t.Context(), mongo.Options{URI: uri, Database: name})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { db.Close() })
		dbs = append(dbs, db)
	}
	return dbs
}

// sharedNodes returns two Services, each on its own handle of one MongoDB database with its
// own mongo.RateStore, as cmd/api wires two nodes.
func sharedNodes(t *testing.T, limits auth.Limits, clock tideline.Clock) (a, b *auth.Service) {
	t.Helper()
	var svcs []*auth.Service
	for _, db := range mongoNodes(t, 2) {
		svc, err := auth.New(t.Context(), db.Auth(), auth.Config{Argon2: cheap, Clock: clock, Mailer: newMailbox(), Secrets: db.Secrets(),
			Limits: &limits, RateStore: mongo.NewRateStore(db)})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(svc.Close)
		svcs = append(svcs, svc)
	}
	return svcs[0], svcs[1]
}

func wantRetryAfter(t *testing.T, err error, want time.Duration) {
	t.Helper()
	wantCode(t, err, tideline.CodeRateLimited)
	var ra interface{ RetryAfter() time.Duration }
	if !asRetry(err, &ra) || ra.RetryAfter() != want {
		t.Fatalf("retry after: %v, want %v", err, want)
	}
}

func TestRateLimitsSharedByNodes(t *testing.T) {
	t.Parallel()
	t.Run("Login", func(t *testing.T) {
		clock := tideline.NewManualClock(time.Date(2026, 5, 1, 9, 0, 10, 0, time.UTC)) // 10 s into a minute
		a, b := sharedNodes(t, auth.Limits{Login: auth.Rate{Burst: 5, Per: time.Minute}}, clock)
		if _, err := a.SignUp(t.Context(), "ada@example.com", goodPassword, client); err != nil {
			t.Fatal(err)
		}
		for i, node := range []*auth.Service{a, a, a, b, b} {
			if _, err := node.Login(t.Context(), "ada@example.com", goodPassword, client); err != nil {
				t.Fatalf("login %d of 5: %v", i+1, err)
			}
		}
		_, err := b.Login(t.Context(), "ada@example.com", goodPassword, client)
		wantRetryAfter(t, err, 50*time.Second)
		// Another address has its own limit.
		other := client
		other.IP = "198.51.100.1"
		if _, err := b.Login(t.Context(), "ada@example.com", goodPassword, other); err != nil {
			t.Fatalf("another address: %v", err)
		}
		clock.Advance(50 * time.Second)
		if _, err := a.Login(t.Context(), "ada@example.com", goodPassword, client); err != nil {
			t.Fatalf("after the window: %v", err)
		}
	})

	t.Run("LoginFailures", func(t *testing.T) {
		clock := tideline.NewManualClock(time.Date(2026, 5, 1, 9, 0, 0, 0, time.UTC))
		a, b := sharedNodes(t, auth.Limits{LoginFailures: auth.Rate{Burst: 3, Per: 15 * time.Minute}}, clock)
		if _, err := a.SignUp(t.Context(), "ada@example.com", goodPassword, client); err != nil {
			t.Fatal(err)
		}
		for _, node := range []*auth.Service{a, b, a} {
			_, err := node.Login(t.Context(), "ada@example.com", "wrong password!", client)
			wantCode(t, err, tideline.CodeInvalidCredentials)
		}
		// Spent on both nodes, even with the right password; a success counts nothing.
		clock.Advance(5 * time.Minute)
		_, err := b.Login(t.Context(), "ada@example.com", goodPassword, client)
		wantRetryAfter(t, err, 10*time.Minute)
		clock.Advance(10 * time.Minute)
		for _, node := range []*auth.Service{b, a} {
			if _, err := node.Login(t.Context(), "ada@example.com", goodPassword, client); err != nil {
				t.Fatalf("after the window: %v", err)
			}
		}
	})
}

// TestRateLimitsStoreFails: when the shared store fails, each node limits on its own (in
// memory) and says so in its log, once, rather than lock everyone out or let all through.
func TestRateLimitsStoreFails(t *testing.T) {
	t.Parallel()
	db := mongoNodes(t, 1)[0]
	broken := mongoNodes(t, 1)[0]
	broken.Close()
	var logs bytes.Buffer
	clock := tideline.NewManualClock(time.Date(2026, 5, 1, 9, 0, 0, 0, time.UTC))
	svc, err := auth.New(t.Context(), db.Auth(), auth.Config{Argon2: cheap, Clock: clock, Mailer: newMailbox(), Secrets: db.Secrets(),
		Limits: &auth.Limits{Signup: auth.Rate{Burst: 2, Per: time.Hour}}, RateStore: mongo.NewRateStore(broken),
		Logger: slog.New(slog.NewTextHandler(&logs, nil))})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(svc.Close)
	for _, email := range []string{"ada@example.com", "bob@example.com"} {
		if _, err := svc.SignUp(t.Context(), email, goodPassword, client); err != nil {
			t.Fatalf("sign-up within the limit: %v", err)
		}
	}
	_, err = svc.SignUp(t.Context(), "eve@example.com", goodPassword, client)
	wantCode(t, err, tideline.CodeRateLimited)
	if n := strings.Count(logs.String(), "level=WARN msg=\"the shared rate limit store failed"); n != 1 {
		t.Fatalf("%d warnings, want 1:\n%s", n, logs.String())
	}
	clock.Advance(time.Minute)
	svc.SignInAnonymously(t.Context(), client)
	if n := strings.Count(logs.String(), "level=WARN"); n != 2 {
		t.Fatalf("%d warnings a minute later, want 2:\n%s", n, logs.String())
	}
}
