package storetest

import (
	"fmt"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	"github.com/tideline-dev/tideline"
	"github.com/tideline-dev/tideline/auth"
)

// runAuth checks the engine's auth.Store against the contract documented on the interface.
func runAuth(t *testing.T, h Harness) {
	t.Run("Users", func(t *testing.T) { runAuthUsers(t, h) })
	t.Run("Identities", func(t *testing.T) { runAuthIdentities(t, h) })
	t.Run("ActionTokens", func(t *testing.T) { runAuthActionTokens(t, h) })
	t.Run("Sessions", func(t *testing.T) { runAuthSessions(t, h) })
	t.Run("RefreshTokens", func(t *testing.T) { runAuthRefreshTokens(t, h) })
	t.Run("Keys", func(t *testing.T) { runAuthKeys(t, h) })
	t.Run("Audit", func(t *testing.T) { runAuthAudit(t, h) })
}

// authStore opens a fresh engine and returns its auth store.
func authStore(t *testing.T, h Harness) auth.Store {
	t.Helper()
	return open(t, h, h.NewLocation(t), tideline.NewManualClock(Epoch)).Auth()
}

// at returns Epoch plus n seconds: a time every engine stores exactly.
func at(n int) time.Time { return Epoch.Add(time.Duration(n) * time.Second) }

var equate = []cmp.Option{cmpopts.EquateEmpty()}

func wantCode(t *testing.T, err error, code tideline.Code, what string) {
	t.Helper()
	if got := tideline.ErrorCode(err); got != code {
		t.Fatalf("%s: code %q, want %q (err: %v)", what, got, code, err)
	}
}

func must(t *testing.T, err error, what string) {
	t.Helper()
	if err != nil {
		t.Fatalf("%s: %v", what, err)
	}
}

func newUser(email string) auth.User {
	return auth.User{
		ID: tideline.NewID(), Email: email, PasswordHash: "$argon2id$v=19$m=64,t=1,p=1$c2FsdA$aGFzaA",
		Roles: []string{"editor"}, DisplayName: "Ada", CreatedAt: at(0), UpdatedAt: at(0), Version: 1,
	}
}

func runAuthUsers(t *testing.T, h Harness) {
	t.Run("CreateFind", func(t *testing.T) {
		s := authStore(t, h)
		u := newUser("ada@example.com")
		u.EmailVerified, u.Disabled, u.Roles = true, true, []string{"admin", "editor"}
		must(t, s.CreateUser(t.Context(), u), "CreateUser")
		got, err := s.FindUserByID(t.Context(), u.ID)
		must(t, err, "FindUserByID")
		if diff := cmp.Diff(u, got, equate...); diff != "" {
			t.Fatalf("FindUserByID (-want +got):\n%s", diff)
		}
		got, err = s.FindUserByEmail(t.Context(), u.Email)
		must(t, err, "FindUserByEmail")
		if diff := cmp.Diff(u, got, equate...); diff != "" {
			t.Fatalf("FindUserByEmail (-want +got):\n%s", diff)
		}
	})

	t.Run("ErrNotFound", func(t *testing.T) {
		s := authStore(t, h)
		_, err := s.FindUserByID(t.Context(), tideline.NewID())
		wantCode(t, err, tideline.CodeNotFound, "FindUserByID")
		_, err = s.FindUserByEmail(t.Context(), "nobody@example.com")
		wantCode(t, err, tideline.CodeNotFound, "FindUserByEmail")
		_, err = s.FindUserByEmail(t.Context(), "")
		wantCode(t, err, tideline.CodeNotFound, "FindUserByEmail empty")
		_, err = s.UpdateUser(t.Context(), newUser("x@example.com"))
		wantCode(t, err, tideline.CodeNotFound, "UpdateUser")
		wantCode(t, s.DeleteUser(t.Context(), tideline.NewID()), tideline.CodeNotFound, "DeleteUser")
	})

	t.Run("ErrDuplicate", func(t *testing.T) {
		s := authStore(t, h)
		u := newUser("ada@example.com")
		must(t, s.CreateUser(t.Context(), u), "CreateUser")
		wantCode(t, s.CreateUser(t.Context(), newUser("ada@example.com")), tideline.CodeConflict, "same email")
		dup := newUser("other@example.com")
		dup.ID = u.ID
		wantCode(t, s.CreateUser(t.Context(), dup), tideline.CodeConflict, "same id")
		if _, err := s.FindUserByEmail(t.Context(), "other@example.com"); tideline.ErrorCode(err) != tideline.CodeNotFound {
			t.Fatalf("a refused user left its email behind: %v", err)
		}
	})

	t.Run("AnonymousUsersHaveNoEmail", func(t *testing.T) {
		s := authStore(t, h)
		for range 3 {
			u := newUser("")
			u.Anonymous, u.PasswordHash = true, ""
			must(t, s.CreateUser(t.Context(), u), "CreateUser anonymous")
		}
	})

	t.Run("CountUsers", func(t *testing.T) {
		s := authStore(t, h)
		c, err := s.CountUsers(t.Context())
		must(t, err, "CountUsers empty")
		if c != (auth.UserCounts{}) {
			t.Fatalf("CountUsers of no users = %+v", c)
		}
		for i, kind := range []string{"plain", "plain", "anonymous", "disabled", "anonymous+disabled"} {
			u := newUser(fmt.Sprintf("u%d@example.com", i))
			if strings.Contains(kind, "anonymous") {
				u.Email, u.Anonymous, u.PasswordHash = "", true, ""
			}
			u.Disabled = strings.Contains(kind, "disabled")
			must(t, s.CreateUser(t.Context(), u), "CreateUser "+kind)
		}
		gone := newUser("gone@example.com")
		must(t, s.CreateUser(t.Context(), gone), "CreateUser gone")
		must(t, s.DeleteUser(t.Context(), gone.ID), "DeleteUser")
		c, err = s.CountUsers(t.Context())
		must(t, err, "CountUsers")
		if want := (auth.UserCounts{Total: 5, Anonymous: 2, Disabled: 2}); c != want {
			t.Fatalf("CountUsers = %+v, want %+v", c, want)
		}
	})

	t.Run("Update", func(t *testing.T) {
		s := authStore(t, h)
		u := newUser("ada@example.com")
		must(t, s.CreateUser(t.Context(), u), "CreateUser")
		change := u
		change.Email, change.EmailVerified, change.Roles, change.UpdatedAt = "ada@new.example.com", true, []string{"admin"}, at(10)
		change.CreatedAt = at(99) // ignored: CreatedAt is kept
		got, err := s.UpdateUser(t.Context(), change)
		must(t, err, "UpdateUser")
		want := change
		want.Version, want.CreatedAt = 2, u.CreatedAt
		if diff := cmp.Diff(want, got, equate...); diff != "" {
			t.Fatalf("UpdateUser returned (-want +got):\n%s", diff)
		}
		stored, err := s.FindUserByID(t.Context(), u.ID)
		must(t, err, "FindUserByID")
		if diff := cmp.Diff(want, stored, equate...); diff != "" {
			t.Fatalf("stored (-want +got):\n%s", diff)
		}
		// The old email is free again, the new one taken.
		must(t, s.CreateUser(t.Context(), newUser("ada@example.com")), "CreateUser with the released email")
		wantCode(t, s.CreateUser(t.Context(), newUser("ada@new.example.com")), tideline.CodeConflict, "CreateUser with the taken email")
		if byEmail, err := s.FindUserByEmail(t.Context(), "ada@new.example.com"); err != nil || byEmail.ID != u.ID {
			t.Fatalf("FindUserByEmail after the change: %v %v", byEmail.ID, err)
		}
	})

	t.Run("ErrUpdateStaleVersion", func(t *testing.T) {
		s := authStore(t, h)
		u := newUser("ada@example.com")
		must(t, s.CreateUser(t.Context(), u), "CreateUser")
		first := u
		first.DisplayName = "first"
		_, err := s.UpdateUser(t.Context(), first)
		must(t, err, "first UpdateUser")
		stale := u
		stale.DisplayName, stale.Email = "stale", "stale@example.com"
		_, err = s.UpdateUser(t.Context(), stale)
		wantCode(t, err, tideline.CodeConflict, "UpdateUser with a stale version")
		got, _ := s.FindUserByID(t.Context(), u.ID)
		if got.DisplayName != "first" || got.Version != 2 || got.Email != "ada@example.com" {
			t.Fatalf("a stale update changed the user: %+v", got)
		}
		must(t, s.CreateUser(t.Context(), newUser("stale@example.com")), "the stale update's email must not be taken")
	})

	t.Run("ErrUpdateEmailTaken", func(t *testing.T) {
		s := authStore(t, h)
		a, b := newUser("a@example.com"), newUser("b@example.com")
		must(t, s.CreateUser(t.Context(), a), "CreateUser a")
		must(t, s.CreateUser(t.Context(), b), "CreateUser b")
		b.Email = "a@example.com"
		_, err := s.UpdateUser(t.Context(), b)
		wantCode(t, err, tideline.CodeConflict, "UpdateUser to a taken email")
		got, _ := s.FindUserByID(t.Context(), b.ID)
		if got.Email != "b@example.com" || got.Version != 1 {
			t.Fatalf("the refused update changed the user: %+v", got)
		}
		if byEmail, _ := s.FindUserByEmail(t.Context(), "b@example.com"); byEmail.ID != b.ID {
			t.Fatal("the refused update released b's email")
		}
	})

	t.Run("ConcurrentUpdatesOneWins", func(t *testing.T) {
		s := authStore(t, h)
		u := newUser("ada@example.com")
		must(t, s.CreateUser(t.Context(), u), "CreateUser")
		var wins atomic.Int32
		var wg sync.WaitGroup
		for i := range 8 {
			wg.Go(func() {
				c := u
				c.DisplayName = fmt.Sprint("writer ", i)
				_, err := s.UpdateUser(t.Context(), c)
				switch tideline.ErrorCode(err) {
				case "":
					wins.Add(1)
				case tideline.CodeConflict:
				default:
					t.Errorf("writer %d: %v", i, err)
				}
			})
		}
		wg.Wait()
		got, _ := s.FindUserByID(t.Context(), u.ID)
		if wins.Load() != 1 || got.Version != 2 {
			t.Fatalf("%d concurrent updates of one version won; stored version %d", wins.Load(), got.Version)
		}
	})

	t.Run("DeleteRemovesEverything", func(t *testing.T) {
		s := authStore(t, h)
		u, other := newUser("ada@example.com"), newUser("bob@example.com")
		must(t, s.CreateUser(t.Context(), u), "CreateUser")
		must(t, s.CreateUser(t.Context(), other), "CreateUser other")
		must(t, s.CreateIdentity(t.Context(), auth.Identity{Provider: "oidc:acme", Subject: "s1", UserID: u.ID, CreatedAt: at(1)}), "CreateIdentity")
		sess, tok := newSession(u.ID, 1)
		must(t, s.CreateSession(t.Context(), sess, tok), "CreateSession")
		otherSess, otherTok := newSession(other.ID, 1)
		must(t, s.CreateSession(t.Context(), otherSess, otherTok), "CreateSession other")
		must(t, s.CreateActionToken(t.Context(), auth.ActionToken{Hash: "h1", Kind: auth.ActionVerifyEmail, UserID: u.ID, CreatedAt: at(1), ExpiresAt: at(100)}), "CreateActionToken")

		must(t, s.DeleteUser(t.Context(), u.ID), "DeleteUser")
		_, err := s.FindUserByID(t.Context(), u.ID)
		wantCode(t, err, tideline.CodeNotFound, "FindUserByID after delete")
		_, err = s.FindIdentity(t.Context(), "oidc:acme", "s1")
		wantCode(t, err, tideline.CodeNotFound, "FindIdentity after delete")
		_, err = s.FindSession(t.Context(), sess.ID)
		wantCode(t, err, tideline.CodeNotFound, "FindSession after delete")
		_, _, err = s.SpendRefreshToken(t.Context(), tok.Hash, at(2))
		wantCode(t, err, tideline.CodeNotFound, "SpendRefreshToken after delete")
		_, err = s.UseActionToken(t.Context(), "h1", auth.ActionVerifyEmail, at(2))
		wantCode(t, err, tideline.CodeNotFound, "UseActionToken after delete")
		wantCode(t, s.DeleteUser(t.Context(), u.ID), tideline.CodeNotFound, "DeleteUser twice")
		must(t, s.CreateUser(t.Context(), newUser("ada@example.com")), "the deleted user's email is free")
		if _, err := s.FindSession(t.Context(), otherSess.ID); err != nil {
			t.Fatalf("another user's session went too: %v", err)
		}
	})

	t.Run("List", func(t *testing.T) {
		s := authStore(t, h)
		var ids []string
		for i, email := range []string{"Alice@Example.com", "bob@example.com", "carol@other.org", "dave%@example.com", ""} {
			u := newUser(email)
			u.ID = fmt.Sprintf("0190a5b2-0000-7000-8000-00000000000%d", i)
			must(t, s.CreateUser(t.Context(), u), "CreateUser")
			ids = append(ids, u.ID)
		}
		list := func(q auth.UserQuery) []string {
			t.Helper()
			users, err := s.ListUsers(t.Context(), q)
			must(t, err, "ListUsers")
			var out []string
			for _, u := range users {
				out = append(out, u.ID)
			}
			return out
		}
		for _, tt := range []struct {
			name string
			q    auth.UserQuery
			want []string
		}{
			{"All", auth.UserQuery{Limit: 10}, ids},
			{"Page1", auth.UserQuery{Limit: 2}, ids[:2]},
			{"Page2", auth.UserQuery{Limit: 2, After: ids[1]}, ids[2:4]},
			{"Last", auth.UserQuery{Limit: 2, After: ids[4]}, nil},
			{"EmailCaseInsensitive", auth.UserQuery{EmailContains: "EXAMPLE.COM", Limit: 10}, []string{ids[0], ids[1], ids[3]}},
			{"EmailLiteralPercent", auth.UserQuery{EmailContains: "%", Limit: 10}, []string{ids[3]}},
			{"EmailLiteralDot", auth.UserQuery{EmailContains: ".*", Limit: 10}, nil},
			{"EmailWithPaging", auth.UserQuery{EmailContains: "example", After: ids[0], Limit: 1}, []string{ids[1]}},
		} {
			if got := list(tt.q); !slices.Equal(got, tt.want) {
				t.Errorf("%s: got %v, want %v", tt.name, got, tt.want)
			}
		}
	})
}

func runAuthIdentities(t *testing.T, h Harness) {
	s := authStore(t, h)
	u := newUser("ada@example.com")
	must(t, s.CreateUser(t.Context(), u), "CreateUser")
	a := auth.Identity{Provider: "oidc:acme", Subject: "sub-1", UserID: u.ID, Email: "ada@acme.example", CreatedAt: at(1)}
	b := auth.Identity{Provider: "firebase", Subject: "sub-1", UserID: u.ID, CreatedAt: at(2)}
	must(t, s.CreateIdentity(t.Context(), a), "CreateIdentity a")
	must(t, s.CreateIdentity(t.Context(), b), "CreateIdentity b (same subject, other provider)")
	wantCode(t, s.CreateIdentity(t.Context(), auth.Identity{Provider: "oidc:acme", Subject: "sub-1", UserID: tideline.NewID(), CreatedAt: at(3)}), tideline.CodeConflict, "CreateIdentity duplicate")
	got, err := s.FindIdentity(t.Context(), "oidc:acme", "sub-1")
	must(t, err, "FindIdentity")
	if diff := cmp.Diff(a, got, equate...); diff != "" {
		t.Fatalf("FindIdentity (-want +got):\n%s", diff)
	}
	_, err = s.FindIdentity(t.Context(), "oidc:acme", "sub-2")
	wantCode(t, err, tideline.CodeNotFound, "FindIdentity unknown")
	all, err := s.ListIdentities(t.Context(), u.ID)
	must(t, err, "ListIdentities")
	if diff := cmp.Diff([]auth.Identity{a, b}, all, equate...); diff != "" {
		t.Fatalf("ListIdentities (-want +got):\n%s", diff)
	}
}

func runAuthActionTokens(t *testing.T, h Harness) {
	s := authStore(t, h)
	u := newUser("ada@example.com")
	must(t, s.CreateUser(t.Context(), u), "CreateUser")
	tok := auth.ActionToken{Hash: "reset-1", Kind: auth.ActionResetPassword, UserID: u.ID, Email: u.Email, CreatedAt: at(0), ExpiresAt: at(3600)}
	must(t, s.CreateActionToken(t.Context(), tok), "CreateActionToken")
	wantCode(t, s.CreateActionToken(t.Context(), tok), tideline.CodeConflict, "CreateActionToken duplicate")

	_, err := s.UseActionToken(t.Context(), "reset-1", auth.ActionVerifyEmail, at(1))
	wantCode(t, err, tideline.CodeNotFound, "UseActionToken of another kind")
	got, err := s.UseActionToken(t.Context(), "reset-1", auth.ActionResetPassword, at(1))
	must(t, err, "UseActionToken")
	want := tok
	want.UsedAt = at(1)
	if diff := cmp.Diff(want, got, equate...); diff != "" {
		t.Fatalf("UseActionToken (-want +got):\n%s", diff)
	}
	_, err = s.UseActionToken(t.Context(), "reset-1", auth.ActionResetPassword, at(2))
	wantCode(t, err, tideline.CodeNotFound, "UseActionToken twice")

	expiring := auth.ActionToken{Hash: "verify-1", Kind: auth.ActionVerifyEmail, UserID: u.ID, CreatedAt: at(0), ExpiresAt: at(60)}
	must(t, s.CreateActionToken(t.Context(), expiring), "CreateActionToken")
	_, err = s.UseActionToken(t.Context(), "verify-1", auth.ActionVerifyEmail, at(60))
	wantCode(t, err, tideline.CodeNotFound, "UseActionToken at its expiry")
	_, err = s.UseActionToken(t.Context(), "nope", auth.ActionVerifyEmail, at(1))
	wantCode(t, err, tideline.CodeNotFound, "UseActionToken unknown")

	t.Run("EndActionTokens", func(t *testing.T) {
		bob := newUser("bob@example.com")
		must(t, s.CreateUser(t.Context(), bob), "CreateUser")
		for _, tok := range []auth.ActionToken{
			{Hash: "end-1", Kind: auth.ActionResetPassword, UserID: u.ID, CreatedAt: at(0), ExpiresAt: at(3600)},
			{Hash: "end-2", Kind: auth.ActionResetPassword, UserID: u.ID, CreatedAt: at(1), ExpiresAt: at(3600)},
			{Hash: "end-verify", Kind: auth.ActionVerifyEmail, UserID: u.ID, CreatedAt: at(1), ExpiresAt: at(3600)},
			{Hash: "end-bob", Kind: auth.ActionResetPassword, UserID: bob.ID, CreatedAt: at(1), ExpiresAt: at(3600)},
		} {
			must(t, s.CreateActionToken(t.Context(), tok), "CreateActionToken "+tok.Hash)
		}
		n, err := s.EndActionTokens(t.Context(), u.ID, auth.ActionResetPassword, at(10))
		must(t, err, "EndActionTokens")
		if n != 2 { // reset-1, spent above, is not counted again
			t.Fatalf("EndActionTokens ended %d tokens, want 2", n)
		}
		for _, hash := range []string{"end-1", "end-2"} {
			_, err := s.UseActionToken(t.Context(), hash, auth.ActionResetPassword, at(11))
			wantCode(t, err, tideline.CodeNotFound, "UseActionToken of an ended token "+hash)
		}
		if _, err := s.UseActionToken(t.Context(), "end-verify", auth.ActionVerifyEmail, at(11)); err != nil {
			t.Fatalf("a token of another kind was ended: %v", err)
		}
		if _, err := s.UseActionToken(t.Context(), "end-bob", auth.ActionResetPassword, at(11)); err != nil {
			t.Fatalf("another user's token was ended: %v", err)
		}
		if n, err := s.EndActionTokens(t.Context(), u.ID, auth.ActionResetPassword, at(12)); err != nil || n != 0 {
			t.Fatalf("EndActionTokens again: %d, %v; want 0", n, err)
		}
	})

	t.Run("ConcurrentUseOnce", func(t *testing.T) {
		must(t, s.CreateActionToken(t.Context(), auth.ActionToken{Hash: "race", Kind: auth.ActionVerifyEmail, UserID: u.ID, CreatedAt: at(0), ExpiresAt: at(600)}), "CreateActionToken")
		var wins atomic.Int32
		var wg sync.WaitGroup
		for range 8 {
			wg.Go(func() {
				if _, err := s.UseActionToken(t.Context(), "race", auth.ActionVerifyEmail, at(5)); err == nil {
					wins.Add(1)
				} else if tideline.ErrorCode(err) != tideline.CodeNotFound {
					t.Errorf("UseActionToken: %v", err)
				}
			})
		}
		wg.Wait()
		if wins.Load() != 1 {
			t.Fatalf("%d callers used one token", wins.Load())
		}
	})
}

func newSession(userID string, n int) (auth.Session, auth.RefreshToken) {
	s := auth.Session{ID: tideline.NewID(), UserID: userID, DeviceName: fmt.Sprint("phone ", n), Platform: "ios", UserAgent: "app/1.0",
		IP: "203.0.113.7", CreatedAt: at(n), LastUsedAt: at(n), ExpiresAt: at(n + 86400)}
	return s, auth.RefreshToken{Hash: fmt.Sprintf("rt-%s", s.ID), SessionID: s.ID, UserID: userID, CreatedAt: at(n), ExpiresAt: at(n + 86400)}
}

func runAuthSessions(t *testing.T, h Harness) {
	s := authStore(t, h)
	u, other := newUser("ada@example.com"), newUser("bob@example.com")
	must(t, s.CreateUser(t.Context(), u), "CreateUser")
	must(t, s.CreateUser(t.Context(), other), "CreateUser")
	s1, t1 := newSession(u.ID, 1)
	s2, t2 := newSession(u.ID, 2)
	s3, t3 := newSession(u.ID, 3)
	o1, ot1 := newSession(other.ID, 4)
	for _, p := range []struct {
		s auth.Session
		t auth.RefreshToken
	}{{s1, t1}, {s2, t2}, {s3, t3}, {o1, ot1}} {
		must(t, s.CreateSession(t.Context(), p.s, p.t), "CreateSession")
	}
	wantCode(t, s.CreateSession(t.Context(), s1, auth.RefreshToken{Hash: "fresh", SessionID: s1.ID, UserID: u.ID, CreatedAt: at(1), ExpiresAt: at(9)}), tideline.CodeConflict, "CreateSession duplicate")

	got, err := s.FindSession(t.Context(), s1.ID)
	must(t, err, "FindSession")
	if diff := cmp.Diff(s1, got, equate...); diff != "" {
		t.Fatalf("FindSession (-want +got):\n%s", diff)
	}
	_, err = s.FindSession(t.Context(), tideline.NewID())
	wantCode(t, err, tideline.CodeNotFound, "FindSession unknown")

	must(t, s.TouchSession(t.Context(), s1.ID, at(50), "198.51.100.2", at(50+86400)), "TouchSession")
	got, _ = s.FindSession(t.Context(), s1.ID)
	if !got.LastUsedAt.Equal(at(50)) || got.IP != "198.51.100.2" || !got.ExpiresAt.Equal(at(50+86400)) || !got.CreatedAt.Equal(s1.CreatedAt) {
		t.Fatalf("TouchSession stored %+v", got)
	}
	wantCode(t, s.TouchSession(t.Context(), tideline.NewID(), at(50), "", at(60)), tideline.CodeNotFound, "TouchSession unknown")

	must(t, s.RevokeSession(t.Context(), s2.ID, at(60)), "RevokeSession")
	must(t, s.RevokeSession(t.Context(), s2.ID, at(70)), "RevokeSession again")
	got, _ = s.FindSession(t.Context(), s2.ID)
	if !got.RevokedAt.Equal(at(60)) {
		t.Fatalf("RevokedAt %v, want the first revocation %v", got.RevokedAt, at(60))
	}
	wantCode(t, s.RevokeSession(t.Context(), tideline.NewID(), at(60)), tideline.CodeNotFound, "RevokeSession unknown")

	ids := func(list []auth.Session) []string {
		var out []string
		for _, x := range list {
			out = append(out, x.ID)
		}
		return out
	}
	list, err := s.ListSessions(t.Context(), u.ID)
	must(t, err, "ListSessions")
	if got, want := ids(list), []string{s3.ID, s1.ID}; !slices.Equal(got, want) {
		t.Fatalf("ListSessions %v, want %v (active, newest first)", got, want)
	}

	n, err := s.RevokeUserSessions(t.Context(), u.ID, s3.ID, at(80))
	must(t, err, "RevokeUserSessions")
	if n != 1 {
		t.Fatalf("RevokeUserSessions revoked %d, want 1 (s1; s2 was revoked, s3 excepted)", n)
	}
	list, _ = s.ListSessions(t.Context(), u.ID)
	if got := ids(list); !slices.Equal(got, []string{s3.ID}) {
		t.Fatalf("after RevokeUserSessions: %v", got)
	}
	n, err = s.RevokeUserSessions(t.Context(), u.ID, "", at(90))
	must(t, err, "RevokeUserSessions all")
	if n != 1 {
		t.Fatalf("revoked %d, want 1", n)
	}
	if list, _ := s.ListSessions(t.Context(), other.ID); len(list) != 1 {
		t.Fatalf("another user's sessions changed: %v", ids(list))
	}
}

func runAuthRefreshTokens(t *testing.T, h Harness) {
	s := authStore(t, h)
	u := newUser("ada@example.com")
	must(t, s.CreateUser(t.Context(), u), "CreateUser")
	sess, first := newSession(u.ID, 1)
	must(t, s.CreateSession(t.Context(), sess, first), "CreateSession")

	got, spent, err := s.SpendRefreshToken(t.Context(), first.Hash, at(10))
	must(t, err, "SpendRefreshToken")
	want := first
	want.UsedAt = at(10)
	if !spent || cmp.Diff(want, got, equate...) != "" {
		t.Fatalf("first spend: spent=%v %s", spent, cmp.Diff(want, got, equate...))
	}
	got, spent, err = s.SpendRefreshToken(t.Context(), first.Hash, at(20))
	must(t, err, "SpendRefreshToken again")
	if spent || !got.UsedAt.Equal(at(10)) {
		t.Fatalf("second spend: spent=%v usedAt=%v, want false and the first use", spent, got.UsedAt)
	}
	_, _, err = s.SpendRefreshToken(t.Context(), "unknown", at(20))
	wantCode(t, err, tideline.CodeNotFound, "SpendRefreshToken unknown")

	next := auth.RefreshToken{Hash: "next", SessionID: sess.ID, UserID: u.ID, CreatedAt: at(10), ExpiresAt: at(999)}
	must(t, s.CreateRefreshToken(t.Context(), next), "CreateRefreshToken")
	wantCode(t, s.CreateRefreshToken(t.Context(), next), tideline.CodeConflict, "CreateRefreshToken duplicate")

	t.Run("ConcurrentSpendOnce", func(t *testing.T) {
		var wins atomic.Int32
		var wg sync.WaitGroup
		for range 8 {
			wg.Go(func() {
				_, spent, err := s.SpendRefreshToken(t.Context(), "next", at(30))
				if err != nil {
					t.Errorf("SpendRefreshToken: %v", err)
				}
				if spent {
					wins.Add(1)
				}
			})
		}
		wg.Wait()
		if wins.Load() != 1 {
			t.Fatalf("%d concurrent callers spent one token", wins.Load())
		}
	})
}

func runAuthKeys(t *testing.T, h Harness) {
	t.Run("SigningKeys", func(t *testing.T) {
		s := authStore(t, h)
		k1 := auth.SigningKey{ID: "k1", Algorithm: "EdDSA", PrivateKey: []byte{1, 2, 3}, PublicKey: []byte{4, 5}, CreatedAt: at(1)}
		k2 := auth.SigningKey{ID: "k2", Algorithm: "EdDSA", PrivateKey: []byte{6}, PublicKey: []byte{7}, CreatedAt: at(2)}
		must(t, s.CreateSigningKey(t.Context(), k2), "CreateSigningKey k2")
		must(t, s.CreateSigningKey(t.Context(), k1), "CreateSigningKey k1")
		wantCode(t, s.CreateSigningKey(t.Context(), k1), tideline.CodeConflict, "CreateSigningKey duplicate")
		keys, err := s.ListSigningKeys(t.Context())
		must(t, err, "ListSigningKeys")
		if diff := cmp.Diff([]auth.SigningKey{k1, k2}, keys, equate...); diff != "" {
			t.Fatalf("ListSigningKeys, oldest first (-want +got):\n%s", diff)
		}
		must(t, s.RetireSigningKeys(t.Context(), "k2", at(5)), "RetireSigningKeys")
		must(t, s.RetireSigningKeys(t.Context(), "k2", at(9)), "RetireSigningKeys again")
		keys, _ = s.ListSigningKeys(t.Context())
		if !keys[0].RetiredAt.Equal(at(5)) || !keys[1].RetiredAt.IsZero() {
			t.Fatalf("after retiring all but k2: %v, %v (a retired key keeps its first RetiredAt)", keys[0].RetiredAt, keys[1].RetiredAt)
		}
		must(t, s.DeleteSigningKey(t.Context(), "k1"), "DeleteSigningKey")
		wantCode(t, s.DeleteSigningKey(t.Context(), "k1"), tideline.CodeNotFound, "DeleteSigningKey twice")
		if keys, _ := s.ListSigningKeys(t.Context()); len(keys) != 1 || keys[0].ID != "k2" {
			t.Fatalf("after delete: %v", keys)
		}
	})

	t.Run("ReplaceSigningKey", func(t *testing.T) {
		s := authStore(t, h)
		k := auth.SigningKey{ID: "k1", Algorithm: "EdDSA", PrivateKey: []byte("private-1"), PublicKey: []byte("public-1"), CreatedAt: at(1)}
		must(t, s.CreateSigningKey(t.Context(), k), "CreateSigningKey")
		must(t, s.ReplaceSigningKey(t.Context(), "k1", []byte("private-1"), []byte("private-2")), "ReplaceSigningKey")
		wantCode(t, s.ReplaceSigningKey(t.Context(), "k1", []byte("private-1"), []byte("private-3")), tideline.CodeConflict, "ReplaceSigningKey with a stale old value")
		wantCode(t, s.ReplaceSigningKey(t.Context(), "k9", nil, []byte("x")), tideline.CodeNotFound, "ReplaceSigningKey of an absent key")
		keys, err := s.ListSigningKeys(t.Context())
		must(t, err, "ListSigningKeys")
		if len(keys) != 1 || string(keys[0].PrivateKey) != "private-2" || string(keys[0].PublicKey) != "public-1" {
			t.Fatalf("after ReplaceSigningKey: %+v", keys)
		}
	})

	t.Run("AdminKeys", func(t *testing.T) {
		s := authStore(t, h)
		a := auth.AdminKey{ID: tideline.NewID(), Name: "ci", Hash: "hash-a", Prefix: "tl_admin_ab", CreatedBy: "cli", CreatedAt: at(1)}
		b := auth.AdminKey{ID: tideline.NewID(), Name: "ops", Hash: "hash-b", Prefix: "tl_admin_cd", CreatedAt: at(2)}
		must(t, s.CreateAdminKey(t.Context(), a), "CreateAdminKey a")
		must(t, s.CreateAdminKey(t.Context(), b), "CreateAdminKey b")
		dupHash := b
		dupHash.ID = tideline.NewID()
		wantCode(t, s.CreateAdminKey(t.Context(), dupHash), tideline.CodeConflict, "CreateAdminKey same hash")
		got, err := s.FindAdminKeyByHash(t.Context(), "hash-a")
		must(t, err, "FindAdminKeyByHash")
		if diff := cmp.Diff(a, got, equate...); diff != "" {
			t.Fatalf("FindAdminKeyByHash (-want +got):\n%s", diff)
		}
		_, err = s.FindAdminKeyByHash(t.Context(), "nope")
		wantCode(t, err, tideline.CodeNotFound, "FindAdminKeyByHash unknown")
		must(t, s.TouchAdminKey(t.Context(), a.ID, at(30)), "TouchAdminKey")
		wantCode(t, s.TouchAdminKey(t.Context(), tideline.NewID(), at(30)), tideline.CodeNotFound, "TouchAdminKey unknown")
		list, err := s.ListAdminKeys(t.Context())
		must(t, err, "ListAdminKeys")
		a.LastUsedAt = at(30)
		if diff := cmp.Diff([]auth.AdminKey{a, b}, list, equate...); diff != "" {
			t.Fatalf("ListAdminKeys (-want +got):\n%s", diff)
		}
		must(t, s.DeleteAdminKey(t.Context(), a.ID), "DeleteAdminKey")
		wantCode(t, s.DeleteAdminKey(t.Context(), a.ID), tideline.CodeNotFound, "DeleteAdminKey twice")
		_, err = s.FindAdminKeyByHash(t.Context(), "hash-a")
		wantCode(t, err, tideline.CodeNotFound, "FindAdminKeyByHash after delete")
	})
}

func runAuthAudit(t *testing.T, h Harness) {
	s := authStore(t, h)
	var events []auth.AuditEvent
	for i, e := range []struct{ typ, user string }{{"signup", "u1"}, {"login", "u1"}, {"login_failed", ""}, {"login", "u2"}, {"logout", "u1"}} {
		ev := auth.AuditEvent{ID: fmt.Sprintf("0190a5b2-0000-7000-8000-00000000000%d", i), At: at(i), Type: e.typ, UserID: e.user,
			SessionID: "s", Actor: "user:" + e.user, IP: "203.0.113.1", Detail: map[string]string{"n": fmt.Sprint(i)}}
		must(t, s.AppendAudit(t.Context(), ev), "AppendAudit")
		events = append(events, ev)
	}
	wantCode(t, s.AppendAudit(t.Context(), events[0]), tideline.CodeConflict, "AppendAudit duplicate")
	list := func(q auth.AuditQuery) []auth.AuditEvent {
		t.Helper()
		got, err := s.ListAudit(t.Context(), q)
		must(t, err, "ListAudit")
		return got
	}
	for _, tt := range []struct {
		name string
		q    auth.AuditQuery
		want []auth.AuditEvent
	}{
		{"NewestFirst", auth.AuditQuery{Limit: 10}, []auth.AuditEvent{events[4], events[3], events[2], events[1], events[0]}},
		{"Limit", auth.AuditQuery{Limit: 2}, []auth.AuditEvent{events[4], events[3]}},
		{"Before", auth.AuditQuery{Limit: 2, Before: events[3].ID}, []auth.AuditEvent{events[2], events[1]}},
		{"ByUser", auth.AuditQuery{UserID: "u1", Limit: 10}, []auth.AuditEvent{events[4], events[1], events[0]}},
		{"ByType", auth.AuditQuery{Type: "login", Limit: 10}, []auth.AuditEvent{events[3], events[1]}},
		{"ByUserAndType", auth.AuditQuery{UserID: "u1", Type: "login", Limit: 10}, []auth.AuditEvent{events[1]}},
	} {
		if diff := cmp.Diff(tt.want, list(tt.q), equate...); diff != "" {
			t.Errorf("%s (-want +got):\n%s", tt.name, diff)
		}
	}
}
