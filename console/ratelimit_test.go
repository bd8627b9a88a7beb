package console_test

import (
	"net/http"
	"net/url"
	"testing"
	"time"

	"github.com/tideline-dev/tideline/app"
	"github.com/tideline-dev/tideline/auth"
)

// TestRateLimitedPagesSayWhenToRetry: every console answer 429 (the sign-in form, a page or
// a script's JSON whose session refresh is rate limited) carries Retry-After in whole
// seconds, as the API's do.
func TestRateLimitedPagesSayWhenToRetry(t *testing.T) {
	t.Parallel()
	wantRetryAfter := func(t *testing.T, p page, want string) {
		t.Helper()
		if p.status != http.StatusTooManyRequests || p.header.Get("Retry-After") != want {
			t.Fatalf("%d, Retry-After %q; want 429 with Retry-After %s\n%s", p.status, p.header.Get("Retry-After"), want, p.body)
		}
	}

	t.Run("SignInPerAccount", func(t *testing.T) {
		e := newEnv(t, func(c *app.Config) {
			c.Auth.Limits = &auth.Limits{LoginFailures: auth.Rate{Burst: 2, Per: time.Hour}}
		})
		b := e.browser()
		for range 2 {
			b.signIn(adminEmail, "wrong")
		}
		wantRetryAfter(t, b.signIn(adminEmail, password), "1800") // one failure refills in half an hour
	})

	t.Run("SignInPerIP", func(t *testing.T) {
		e := newEnv(t, func(c *app.Config) { c.Auth.Limits = &auth.Limits{Login: auth.Rate{Burst: 1, Per: time.Hour}} })
		e.adminBrowser()
		wantRetryAfter(t, e.browser().signIn(adminEmail, password), "3600")
	})

	t.Run("SessionRefresh", func(t *testing.T) {
		e := newEnv(t, func(c *app.Config) { c.Auth.Limits = &auth.Limits{Refresh: auth.Rate{Burst: 1, Per: time.Hour}} })
		b := e.adminBrowser()
		e.clock.Advance(16 * time.Minute) // the access token has expired: the page refreshes it
		if p := b.get("/console"); p.status != http.StatusOK {
			t.Fatalf("first refresh: %d\n%s", p.status, p.body)
		}
		e.clock.Advance(16 * time.Minute) // again, 44 minutes before the limit allows it
		wantRetryAfter(t, b.get("/console"), "2640")
		wantRetryAfter(t, b.get("/console/audience?"+url.Values{"all": {"1"}}.Encode()), "2640")
	})
}
