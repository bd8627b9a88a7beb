package httpapi_test

import (
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/tideline-dev/tideline"
)

type campaignBody struct {
	ID     string `json:"id"`
	Status string `json:"status"`
	DryRun bool   `json:"dryRun"`
	Counts struct {
		Targeted, Pending, Sent, Failed, Pruned, Cancelled int
	} `json:"counts"`
	Target         map[string]any `json:"target"`
	IdempotencyKey string         `json:"idempotencyKey"`
	CreatedBy      string         `json:"createdBy"`
	FinishedAt     string         `json:"finishedAt"`
}

func TestCampaignsOverHTTP(t *testing.T) {
	t.Parallel()
	a := newAPI(t, nil)
	ada, bob := a.signUp("ada@example.com"), a.signUp("bob@example.com")
	key := a.admin()
	a.register(ada.AccessToken, map[string]any{"deviceId": "d1", "platform": "ios", "pushToken": "tok-a"})
	a.register(bob.AccessToken, map[string]any{"deviceId": "d1", "platform": "android", "pushToken": "tok-b"})
	if code := a.call("PUT", "/v1/devices/d1/topics/news", bob.AccessToken, nil).Code; code != 204 {
		t.Fatalf("subscribe: %d", code)
	}
	const path = "/v1/admin/push/campaigns"
	big := strings.Repeat("x", 4000)
	for name, c := range map[string]struct {
		body   string
		status int
		code   tideline.Code
	}{
		"NoTarget":        {`{"target":{},"notification":{"title":"t"}}`, 400, tideline.CodeInvalid},
		"TwoTargets":      {`{"target":{"all":true,"topic":"news"},"notification":{"title":"t"}}`, 400, tideline.CodeInvalid},
		"UnknownTopic":    {`{"target":{"topic":"nwes"},"notification":{"title":"t"}}`, 400, tideline.CodeInvalid},
		"BadTopic":        {`{"target":{"topic":"a b"},"notification":{"title":"t"}}`, 400, tideline.CodeInvalid},
		"OperatorKey":     {`{"target":{"$where":"1"},"notification":{"title":"t"}}`, 400, tideline.CodeInvalid},
		"OperatorValue":   {`{"target":{"userIds":{"$ne":null}},"notification":{"title":"t"}}`, 400, tideline.CodeInvalid},
		"HostileUserID":   {`{"target":{"userIds":["$where"]},"notification":{"title":"t"}}`, 400, tideline.CodeInvalid},
		"NothingToShow":   {`{"target":{"all":true}}`, 400, tideline.CodeInvalid},
		"SilentWithTitle": {`{"target":{"all":true},"notification":{"title":"t"},"options":{"silent":true}}`, 400, tideline.CodeInvalid},
		"HTTPImage":       {`{"target":{"all":true},"notification":{"title":"t","imageUrl":"http://x.example/a.png"}}`, 400, tideline.CodeInvalid},
		"ReservedKey":     {`{"target":{"all":true},"notification":{"title":"t"},"data":{"google.x":"1"}}`, 400, tideline.CodeInvalid},
		"OversizedData":   {`{"target":{"all":true},"notification":{"title":"t"},"data":{"a":"` + big + `","b":"` + big[:200] + `"}}`, 413, tideline.CodeTooLarge},
		"Priority":        {`{"target":{"all":true},"notification":{"title":"t"},"options":{"priority":"urgent"}}`, 400, tideline.CodeInvalid},
		"LocalNoTime":     {`{"target":{"all":true},"notification":{"title":"t"},"localTime":true}`, 400, tideline.CodeInvalid},
		"FarFuture":       {`{"target":{"all":true},"notification":{"title":"t"},"sendAt":"2099-01-01T00:00:00Z"}`, 400, tideline.CodeInvalid},
		"VersionRange":    {`{"target":{"segment":{"minAppVersion":"3.0","maxAppVersion":"2.9"}},"notification":{"title":"t"}}`, 400, tideline.CodeInvalid},
		"Malformed":       {`{"target":`, 400, tideline.CodeInvalid},
	} {
		t.Run(name, func(t *testing.T) { checkProblem(t, a.raw("POST", path, key, c.body), c.status, c.code) })
	}
	send := `{"target":{"topic":"news"},"notification":{"title":"<script>alert(1)</script>","body":"hi"},"data":{"$where":"1"},"idempotencyKey":"k-1"}`
	checkProblem(t, a.raw("POST", path, ada.AccessToken, send), 403, tideline.CodeForbidden)
	checkProblem(t, a.raw("POST", path, "", send), 401, tideline.CodeUnauthenticated)
	if n := len(decode[struct{ Campaigns []campaignBody }](t, a.call("GET", path, key, nil), 200).Campaigns); n != 0 {
		t.Fatalf("refused requests stored %d campaigns", n)
	}

	c := decode[campaignBody](t, a.raw("POST", path, key, send), 202)
	if c.Status != "queued" || c.IdempotencyKey != "k-1" || c.Target["topic"] != "news" || c.CreatedBy != "" {
		t.Fatalf("created %+v", c)
	}
	// A retry with the same key is the same campaign; nothing new is queued.
	if again := decode[campaignBody](t, a.raw("POST", path, key, send), 202); again.ID != c.ID {
		t.Fatalf("retried with the key: %s, first %s", again.ID, c.ID)
	}
	svc := a.app.Push
	for {
		did, err := svc.Step(t.Context())
		if err != nil {
			t.Fatal(err)
		}
		if !did {
			break
		}
	}
	got := decode[campaignBody](t, a.call("GET", path+"/"+c.ID, key, nil), 200)
	if got.Status != "completed" || got.Counts.Targeted != 1 || got.Counts.Sent != 1 || got.FinishedAt == "" {
		t.Fatalf("after sending: %+v", got)
	}
	checkProblem(t, a.call("POST", path+"/"+c.ID+"/cancel", key, nil), 409, tideline.CodeConflict)
	checkProblem(t, a.call("GET", path+"/nope", key, nil), 404, tideline.CodeNotFound)
	checkProblem(t, a.call("GET", path+"/"+url.PathEscape("$where"), key, nil), 404, tideline.CodeNotFound)
	checkProblem(t, a.call("POST", path+"/nope/cancel", key, nil), 404, tideline.CodeNotFound)
	checkProblem(t, a.call("GET", path+"/"+c.ID, bob.AccessToken, nil), 403, tideline.CodeForbidden)

	// A dry run counts the audience and sends nothing; a scheduled campaign can be cancelled.
	dry := decode[campaignBody](t, a.raw("POST", path, key, `{"target":{"all":true},"notification":{"title":"t"},"dryRun":true}`), 202)
	later := decode[campaignBody](t, a.raw("POST", path, key, `{"target":{"all":true},"notification":{"title":"t"},"sendAt":"`+a.app.Clock.Now().Add(time.Hour).Format(time.RFC3339)+`"}`), 202)
	if did, err := svc.Step(t.Context()); !did || err != nil {
		t.Fatalf("dry run step: %v %v", did, err)
	}
	if did, err := svc.Step(t.Context()); did || err != nil {
		t.Fatalf("a campaign due in an hour was worked on: %v %v", did, err)
	}
	if d := decode[campaignBody](t, a.call("GET", path+"/"+dry.ID, key, nil), 200); d.Status != "completed" || !d.DryRun || d.Counts.Targeted != 2 || d.Counts.Sent != 0 {
		t.Fatalf("dry run: %+v", d)
	}
	if cl := decode[campaignBody](t, a.call("POST", path+"/"+later.ID+"/cancel", key, nil), 200); cl.Status != "cancelled" || cl.FinishedAt == "" {
		t.Fatalf("cancelled: %+v", cl)
	}
	a.app.Clock.Advance(2 * time.Hour)
	if did, err := svc.Step(t.Context()); did || err != nil {
		t.Fatalf("a cancelled campaign was worked on: %v %v", did, err)
	}
	page := decode[struct {
		Campaigns []campaignBody
		Next      string
	}](t, a.call("GET", path+"?limit=2", key, nil), 200)
	if len(page.Campaigns) != 2 || page.Campaigns[0].ID != later.ID || page.Campaigns[1].ID != dry.ID || page.Next != dry.ID {
		t.Fatalf("page 1: %+v", page)
	}
	rest := decode[struct{ Campaigns []campaignBody }](t, a.call("GET", path+"?limit=2&before="+page.Next, key, nil), 200).Campaigns
	if len(rest) != 1 || rest[0].ID != c.ID {
		t.Fatalf("page 2: %+v", rest)
	}
}
