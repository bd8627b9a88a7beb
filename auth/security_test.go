package auth_test

import (
	"context"
	"maps"
	"sync"
	"testing"
	"time"

	"github.com/tideline-dev/tideline"
	"github.com/tideline-dev/tideline/auth"
)

// pausingStore is a real auth store whose FindSession runs hook after reading, once: a
// test holds an Authenticate between its read of the session and what it does next.
type pausingStore struct {
	auth.Store
	once sync.Once
	hook func()
}

func (s *pausingStore) FindSession(ctx context.Context, id string) (auth.Session, error) {
	sess, err := s.Store.FindSession(ctx, id)
	s.once.Do(s.hook)
	return sess, err
}

// TestRevokedSessionNotCachedAgain: an Authenticate that read the session before a logout
// on the same node must not put the session back into the cache after the logout forgot it
// (finding 7 of issue 15): the next request with the token is refused at once.
func TestRevokedSessionNotCachedAgain(t *testing.T) { eachEngine(t, testRevokedSessionNotCachedAgain) }

func testRevokedSessionNotCachedAgain(t *testing.T, engine string) {
	e := newEnv(t, engine, nil)
	read, release := make(chan struct{}), make(chan struct{})
	store := &pausingStore{Store: e.store, hook: func() { close(read); <-release }}
	svc, err := auth.New(t.Context(), store, e.cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(svc.Close)
	up, err := svc.SignUp(t.Context(), "ada@example.com", goodPassword, client)
	if err != nil {
		t.Fatal(err)
	}
	inFlight := make(chan error, 1)
	go func() {
		_, err := svc.Authenticate(context.Background(), up.Tokens.AccessToken)
		inFlight <- err
	}()
	<-read // the in-flight Authenticate has read the session: active
	p := auth.Principal{UserID: up.User.ID, SessionID: up.Tokens.SessionID}
	if err := svc.Logout(t.Context(), p, client); err != nil {
		t.Fatal(err)
	}
	close(release)
	if err := <-inFlight; err != nil {
		t.Fatalf("the in-flight Authenticate (it read the session before the logout): %v", err)
	}
	_, err = svc.Authenticate(t.Context(), up.Tokens.AccessToken)
	wantCode(t, err, tideline.CodeUnauthenticated)
}

// TestResetTokensEndWithPasswordChange: a password reset link stops working once the
// password changes, by a reset with another link or by the user (finding 10 of issue 15).
func TestResetTokensEndWithPasswordChange(t *testing.T) {
	eachEngine(t, testResetTokensEndWithPasswordChange)
}

func testResetTokensEndWithPasswordChange(t *testing.T, engine string) {
	e := newEnv(t, engine, nil)
	up := e.signUp("ada@example.com")
	e.mail.next(t) // the verification email
	resetLink := func() string {
		t.Helper()
		if err := e.svc.ForgotPassword(t.Context(), "ada@example.com", client); err != nil {
			t.Fatal(err)
		}
		return tokenIn(t, e.mail.next(t))
	}

	first, second := resetLink(), resetLink()
	if err := e.svc.ResetPassword(t.Context(), second, "a brand new passphrase", client); err != nil {
		t.Fatal(err)
	}
	wantCode(t, e.svc.ResetPassword(t.Context(), first, "the attacker's passphrase", client), tideline.CodeInvalid)

	third := resetLink()
	res, err := e.svc.Login(t.Context(), "ada@example.com", "a brand new passphrase", client)
	if err != nil {
		t.Fatal(err)
	}
	p := e.principal(res.Tokens.AccessToken)
	newer := "an even newer passphrase"
	if _, err := e.svc.UpdateMe(t.Context(), p, auth.MeUpdate{Password: &newer, CurrentPassword: "a brand new passphrase"}, client); err != nil {
		t.Fatal(err)
	}
	wantCode(t, e.svc.ResetPassword(t.Context(), third, "the attacker's passphrase", client), tideline.CodeInvalid)
	if _, err := e.svc.Login(t.Context(), "ada@example.com", newer, client); err != nil {
		t.Fatalf("the user's own password: %v", err)
	}
	_ = up
}

// concurrentAttempts runs n attempts at once, spread over nodes, and holds every one that
// reaches a password check there. Once each attempt is either held or answered, it counts
// the held ones (checked), releases them and returns every answer.
func concurrentAttempts(t *testing.T, nodes []*auth.Service, n int, attempt func(svc *auth.Service) error) (checked int, answers []error) {
	t.Helper()
	var mu sync.Mutex
	held := 0
	progress := make(chan struct{}, 2*n)
	release := make(chan struct{})
	for _, svc := range nodes {
		auth.OnVerify(svc, func() {
			mu.Lock()
			held++
			mu.Unlock()
			progress <- struct{}{}
			<-release
		})
	}
	results := make(chan error, n)
	for i := range n {
		go func() {
			results <- attempt(nodes[i%len(nodes)])
			progress <- struct{}{}
		}()
	}
	for {
		<-progress
		mu.Lock()
		checked = held
		mu.Unlock()
		if checked+len(results) == n { // (nothing held is answered before release)
			break
		}
	}
	close(release)
	for range n {
		answers = append(answers, <-results)
	}
	return checked, answers
}

// limitedNodes are the nodes of a deployment with limits and a signed-up ada: on the
// embedded engine one Service (one process owns the data, and limits in its memory); on
// MongoDB two Services, each with its own RateStore, on one database handle (one
// connection, which FerretDB v1 needs to keep $inc atomic).
func limitedNodes(t *testing.T, engine string, limits auth.Limits) []*auth.Service {
	t.Helper()
	if engine == "sqlite" {
		e := newEnv(t, engine, func(c *auth.Config) { c.Limits = &limits })
		e.signUp("ada@example.com")
		return []*auth.Service{e.svc}
	}
	db := mongoNodes(t, 1)[0]
	var nodes []*auth.Service
	for range 2 {
		svc, err := auth.New(t.Context(), db.Auth(), auth.Config{Argon2: cheap, Mailer: newMailbox(), Limits: &limits, RateStore: db.RateStore(), Secrets: db.Secrets()})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(svc.Close)
		nodes = append(nodes, svc)
	}
	if _, err := nodes[0].SignUp(t.Context(), "ada@example.com", goodPassword, client); err != nil {
		t.Fatal(err)
	}
	return nodes
}

// wantCounts checks that answers hold exactly want of each code.
func wantCounts(t *testing.T, answers []error, want map[tideline.Code]int) {
	t.Helper()
	got := map[tideline.Code]int{}
	for _, err := range answers {
		got[tideline.ErrorCode(err)]++
	}
	if !maps.Equal(got, want) {
		t.Fatalf("answers by code %v, want %v (%v)", got, want, answers)
	}
}

// TestFailedLoginLimitUnderConcurrency: of many wrong passwords sent at once, across nodes,
// only the account's limit is checked; the others are refused before any hashing (finding
// 2 of issue 15: 25 concurrent guesses were all checked).
func TestFailedLoginLimitUnderConcurrency(t *testing.T) {
	eachEngine(t, func(t *testing.T, engine string) {
		nodes := limitedNodes(t, engine, auth.Limits{LoginFailures: auth.Rate{Burst: 3, Per: 15 * time.Minute}})
		checked, answers := concurrentAttempts(t, nodes, 12, func(svc *auth.Service) error {
			_, err := svc.Login(context.Background(), "ada@example.com", "a wrong guess", client)
			return err
		})
		if checked != 3 {
			t.Fatalf("%d guesses reached the password check, want the limit, 3", checked)
		}
		wantCounts(t, answers, map[tideline.Code]int{tideline.CodeInvalidCredentials: 3, tideline.CodeRateLimited: 9})
		// The right password is refused too while the limit is spent.
		_, err := nodes[len(nodes)-1].Login(t.Context(), "ada@example.com", goodPassword, client)
		wantCode(t, err, tideline.CodeRateLimited)
	})
}

// TestSuccessfulLoginsDoNotCount: only failures count against the account's limit: a
// reservation taken for a check that succeeds is given back.
func TestSuccessfulLoginsDoNotCount(t *testing.T) {
	eachEngine(t, func(t *testing.T, engine string) {
		nodes := limitedNodes(t, engine, auth.Limits{LoginFailures: auth.Rate{Burst: 3, Per: 15 * time.Minute}})
		for i := range 10 {
			if _, err := nodes[i%len(nodes)].Login(t.Context(), "ada@example.com", goodPassword, client); err != nil {
				t.Fatalf("login %d: %v", i+1, err)
			}
		}
		for i := range 3 {
			_, err := nodes[i%len(nodes)].Login(t.Context(), "ada@example.com", "a wrong guess", client)
			wantCode(t, err, tideline.CodeInvalidCredentials)
		}
		_, err := nodes[0].Login(t.Context(), "ada@example.com", "a wrong guess", client)
		wantCode(t, err, tideline.CodeRateLimited)
	})
}

// TestCurrentPasswordLimited: a check of the current password (PATCH /v1/me) counts
// against the same per-account limit as sign-in, so a stolen access token is no password
// oracle (finding 5 of issue 15: 60 guesses in 0.6 s, unlimited).
func TestCurrentPasswordLimited(t *testing.T) {
	eachEngine(t, func(t *testing.T, engine string) {
		nodes := limitedNodes(t, engine, auth.Limits{LoginFailures: auth.Rate{Burst: 3, Per: 15 * time.Minute}})
		res, err := nodes[0].Login(t.Context(), "ada@example.com", goodPassword, client)
		if err != nil {
			t.Fatal(err)
		}
		p, err := nodes[0].Authenticate(t.Context(), res.Tokens.AccessToken)
		if err != nil {
			t.Fatal(err)
		}
		stolen := "the attacker's passphrase"
		change := func(svc *auth.Service, current string) error {
			_, err := svc.UpdateMe(context.Background(), p, auth.MeUpdate{Password: &stolen, CurrentPassword: current}, client)
			return err
		}
		checked, answers := concurrentAttempts(t, nodes, 8, func(svc *auth.Service) error { return change(svc, "a wrong guess") })
		if checked != 3 {
			t.Fatalf("%d guesses of the current password were checked, want the limit, 3", checked)
		}
		wantCounts(t, answers, map[tideline.Code]int{tideline.CodeInvalidCredentials: 3, tideline.CodeRateLimited: 5})
		// Spent for this account everywhere: the right password, by PATCH or by sign-in.
		wantCode(t, change(nodes[len(nodes)-1], goodPassword), tideline.CodeRateLimited)
		_, err = nodes[0].Login(t.Context(), "ada@example.com", goodPassword, client)
		wantCode(t, err, tideline.CodeRateLimited)
	})
}
