package httpapi_test

import (
	"net/http"
	"strconv"
	"testing"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/tideline-dev/tideline"
	"github.com/tideline-dev/tideline/app"
	"github.com/tideline-dev/tideline/auth"
)

// TestRateLimitedEndpointsSayWhenToRetry: every endpoint with a rate limit answers 429
// with Retry-After in whole seconds once the limit is spent.
func TestRateLimitedEndpointsSayWhenToRetry(t *testing.T) {
	t.Parallel()
	one := auth.Rate{Burst: 1, Per: time.Hour}
	login := map[string]string{"email": "ada@example.com", "password": "not the password"}
	tests := []struct {
		name   string
		limits auth.Limits
		method string
		path   string
		body   any
		auth   bool // the request carries the user's access token
		// setting is what the problem names as the limit's setting
		setting string
	}{
		{"SignUp", auth.Limits{Signup: one}, "POST", "/v1/auth/signup", map[string]string{"email": "bob@example.com", "password": password}, false, "auth.limits.signup"},
		{"Anonymous", auth.Limits{Signup: one}, "POST", "/v1/auth/anonymous", nil, false, "auth.limits.signup"},
		{"LoginPerIP", auth.Limits{Login: one}, "POST", "/v1/auth/login", login, false, "auth.limits.login"},
		{"LoginFailures", auth.Limits{LoginFailures: one}, "POST", "/v1/auth/login", login, false, "auth.limits.loginFailures"},
		{"Refresh", auth.Limits{Refresh: one}, "POST", "/v1/auth/refresh", map[string]string{"refreshToken": "tlrt_unknown"}, false, "auth.limits.refresh"},
		{"ExchangeToken", auth.Limits{Refresh: one}, "POST", "/v1/auth/token", map[string]string{"provider": "oidc:none", "token": "x"}, false, "auth.limits.refresh"},
		{"ForgotPassword", auth.Limits{Email: one}, "POST", "/v1/auth/password/forgot", map[string]string{"email": "ada@example.com"}, false, "auth.limits.email"},
		{"ResendVerification", auth.Limits{Email: one}, "POST", "/v1/auth/email/resend", nil, true, "auth.limits.email"},
		{"CurrentPassword", auth.Limits{LoginFailures: one}, "PATCH", "/v1/me", map[string]string{"password": "a brand new passphrase", "currentPassword": "not the password"}, true, "auth.limits.loginFailures"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a := newAPI(t, func(c *app.Config) { c.Auth.Limits = &tt.limits })
			var token string
			if tt.limits.Signup == (auth.Rate{}) {
				token = a.signUp("ada@example.com").AccessToken
			}
			if !tt.auth {
				token = ""
			}
			first := a.call(tt.method, tt.path, token, tt.body)
			if first.Code == http.StatusTooManyRequests {
				t.Fatalf("the first request was refused: %s", first.Body)
			}
			rec := a.call(tt.method, tt.path, token, tt.body)
			if p := checkProblem(t, rec, http.StatusTooManyRequests, tideline.CodeRateLimited); p.Setting != tt.setting {
				t.Fatalf("the problem names the setting %q, want %q", p.Setting, tt.setting)
			}
			if got := rec.Header().Get("Retry-After"); got != "3600" {
				t.Fatalf("Retry-After %q, want 3600 (the hour until the spent request's token is back)", got)
			}
		})
	}
}

// TestRetryAfterOnEvery429: a rate_limited error that does not say when to retry still
// answers with a Retry-After, of 1 s.
func TestRetryAfterOnEvery429(t *testing.T) {
	t.Parallel()
	a := newAPI(t, nil)
	a.srv.Handle(http.MethodGet, "/test/limited", func(c *gin.Context) {
		a.srv.WriteProblem(c, tideline.Errorf(tideline.CodeRateLimited, "Slow down."))
	})
	rec := a.get("/test/limited")
	checkProblem(t, rec, http.StatusTooManyRequests, tideline.CodeRateLimited)
	if s, err := strconv.Atoi(rec.Header().Get("Retry-After")); err != nil || s != 1 {
		t.Fatalf("Retry-After %q, want 1", rec.Header().Get("Retry-After"))
	}
}
