package httpapi_test

import (
	"context"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/tideline-dev/tideline"
	"github.com/tideline-dev/tideline/auth"
)

// TestRequireScope: the strict layer's guard refuses to run a handler whose context lacks
// the request id, or, on a secured operation, the caller; with both, the handler runs with
// that context.
func TestRequireScope(t *testing.T) {
	t.Parallel()
	a := newAPI(t, nil)
	var ran context.Context
	handler := func(ctx context.Context, _ any) (any, error) { ran = ctx; return "ok", nil }
	scoped := tideline.WithRequestID(t.Context(), "req-1")
	caller := auth.WithPrincipal(scoped, auth.Principal{UserID: "u1"})
	for _, tt := range []struct {
		name, op string
		ctx      context.Context
		runs     bool
	}{
		{"Bare", "GetHealthz", t.Context(), false},
		{"UnknownOperation", "NoSuchOperation", caller, false},
		{"RequestIDOnPublicRoute", "GetHealthz", scoped, true},
		{"NoCallerOnSecuredRoute", "SyncPush", scoped, false},
		{"CallerOnSecuredRoute", "SyncPush", caller, true},
	} {
		t.Run(tt.name, func(t *testing.T) {
			ran = nil
			_, err := a.srv.RequireScope(handler, tt.op)(tt.ctx, nil)
			if tt.runs != (err == nil) || tt.runs != (ran == tt.ctx) {
				t.Fatalf("err %v, handler ran with %v; want it to run: %v", err, ran, tt.runs)
			}
			if !tt.runs && !strings.Contains(err.Error(), tt.op) {
				t.Fatalf("the error %q does not name the operation", err)
			}
		})
	}
}

// TestRequestIDInFeatureLogs: what a feature logs while serving a request carries the
// request's id, though the feature never sees HTTP: the id travels in the context and the
// app's log handler stamps it.
func TestRequestIDInFeatureLogs(t *testing.T) {
	t.Parallel()
	a := newAPI(t, nil)
	ada := a.signUp("ada@example.com")
	a.register(ada.AccessToken, map[string]any{"deviceId": "d1", "platform": "ios", "pushToken": "tok-a"})
	req := httptest.NewRequest("POST", "/v1/admin/push/campaigns", strings.NewReader(`{"target":{"all":true},"notification":{"title":"hi"}}`))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Bearer "+a.admin())
	req.Header.Set("X-Request-Id", "campaign-req-7")
	if rec := a.do(req); rec.Code != 202 {
		t.Fatalf("create a campaign: %d %s", rec.Code, rec.Body)
	}
	queued := a.logLines("push campaign queued")
	if len(queued) != 1 || queued[0]["request_id"] != "campaign-req-7" {
		t.Fatalf("push's log of the campaign: %v; want request_id campaign-req-7", queued)
	}
	// Work outside a request (the push worker sending it) has no request id.
	a.app.Drain()
	for _, rec := range a.logLines("push campaign started") {
		if _, has := rec["request_id"]; has {
			t.Fatalf("a worker's log has a request id: %v", rec)
		}
	}
}
