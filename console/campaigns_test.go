package console_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/tideline-dev/tideline/push"
)

// campaignID is the id in a redirect to a campaign's page.
func campaignID(t *testing.T, p page) string {
	t.Helper()
	id, ok := strings.CutPrefix(p.loc, "/console/campaigns/")
	if p.status != http.StatusSeeOther || !ok {
		t.Fatalf("want a redirect to a campaign: %d %q\n%s", p.status, p.loc, p.body)
	}
	id, _, _ = strings.Cut(id, "?")
	return id
}

func TestCampaignPages(t *testing.T) {
	t.Parallel()
	e := newEnv(t, nil)
	ada := e.user("ada@example.com")
	e.device(ada, "phone", "android", "tok-a")
	e.device(ada, "tablet", "ios", "tok-b")
	b := e.adminBrowser()
	id := campaignID(t, b.send(url.Values{"title": {"Hello"}, "target": {"all"}}))

	// Queued: the page polls (or, without a script, reloads) and offers to cancel.
	p := b.get("/console/campaigns/" + id)
	for _, want := range []string{`data-progress="/console/campaigns/` + id + `/progress"`, `<meta http-equiv="refresh" content="5">`,
		"Cancel the campaign", `<span class="status status-queued" id="status">queued</span>`} {
		if !p.has(want) {
			t.Errorf("queued campaign page lacks %q", want)
		}
	}
	var prog map[string]any
	j := b.get("/console/campaigns/" + id + "/progress")
	if err := json.Unmarshal([]byte(j.body), &prog); err != nil || prog["status"] != "queued" || prog["live"] != true {
		t.Fatalf("progress: %s", j.body)
	}

	e.drain() // the log provider sends both
	j = b.get("/console/campaigns/" + id + "/progress")
	if err := json.Unmarshal([]byte(j.body), &prog); err != nil {
		t.Fatal(err)
	}
	if prog["status"] != "completed" || prog["live"] != false || prog["targeted"] != 2.0 || prog["sent"] != 2.0 || prog["done"] != 2.0 || prog["percent"] != 100.0 {
		t.Fatalf("progress when done: %v", prog)
	}
	p = b.get("/console/campaigns/" + id)
	if p.has("data-progress") || p.has("Cancel the campaign") || p.has("http-equiv") ||
		!p.has(`<progress id="progress-bar" max="2" value="2">100%</progress>`) || !p.has(`<td data-count="sent">2</td>`) {
		t.Fatalf("completed campaign page:\n%s", p.body)
	}

	list := b.get("/console/campaigns")
	if list.status != http.StatusOK || !list.has(`<a href="/console/campaigns/`+id+`">Hello</a>`) || !list.has("All devices") {
		t.Fatalf("campaigns list:\n%s", list.body)
	}
	if p := b.get("/console/campaigns/not-a-campaign"); p.status != http.StatusNotFound || !p.has("There is no campaign with this id.") {
		t.Fatalf("unknown campaign: %d", p.status)
	}
	if p := b.get("/console/campaigns/nope/progress"); p.status != http.StatusNotFound || !p.has(`"error"`) {
		t.Fatalf("progress of an unknown campaign: %d %s", p.status, p.body)
	}
	// Cancelling a completed campaign says why it cannot.
	csrf := b.csrf("/console/campaigns/" + id)
	if p := b.post("/console/campaigns/"+id+"/cancel", url.Values{"csrf": {csrf}}); p.status != http.StatusConflict || !p.has("only a queued or sending campaign can be cancelled") {
		t.Fatalf("cancel a completed campaign: %d\n%s", p.status, p.body)
	}
}

func TestCampaignCancel(t *testing.T) {
	t.Parallel()
	e := newEnv(t, nil)
	e.device(e.user("ada@example.com"), "phone", "android", "tok-a")
	b := e.adminBrowser()
	id := campaignID(t, b.send(url.Values{"title": {"Later"}, "target": {"all"}, "when": {"later"}, "sendAt": {"2026-06-01T09:00"}}))
	p := b.post("/console/campaigns/"+id+"/cancel", url.Values{"csrf": {b.csrf("/console/campaigns/" + id)}})
	if p.status != http.StatusSeeOther || p.loc != "/console/campaigns/"+id+"?done=cancelled" {
		t.Fatalf("cancel: %d %q", p.status, p.loc)
	}
	if v, _ := e.push.GetCampaign(t.Context(), id); v.Status != push.CampaignCancelled {
		t.Fatalf("status %s", v.Status)
	}
	if p := b.get(p.loc); !p.has("The campaign is cancelled") || !p.has("status-cancelled") {
		t.Fatalf("page after cancel:\n%s", p.body)
	}
}

func TestCampaignListPages(t *testing.T) {
	t.Parallel()
	e := newEnv(t, nil)
	e.device(e.user("ada@example.com"), "phone", "android", "tok-a")
	for i := range 30 {
		n := push.NewCampaign{Spec: push.Spec{Target: push.Target{All: true}, Notification: push.Notification{Title: fmt.Sprintf("c%02d", i)}}, DryRun: true}
		if _, _, err := e.push.CreateCampaign(t.Context(), n); err != nil {
			t.Fatal(err)
		}
	}
	b := e.adminBrowser()
	titles := regexp.MustCompile(`>(c\d\d)</a>`)
	first := b.get("/console/campaigns")
	if n := len(titles.FindAllString(first.body, -1)); n != 25 || !first.has("Older campaigns") {
		t.Fatalf("first page: %d campaigns\n%s", n, first.body)
	}
	older := strings.Split(strings.Split(first.body, `href="/console/campaigns?before=`)[1], `"`)[0]
	second := b.get("/console/campaigns?before=" + older)
	if n := len(titles.FindAllString(second.body, -1)); n != 5 || second.has("Older campaigns") {
		t.Fatalf("second page: %d campaigns\n%s", n, second.body)
	}
	seen := map[string]bool{}
	for _, m := range titles.FindAllStringSubmatch(first.body+second.body, -1) {
		seen[m[1]] = true
	}
	if len(seen) != 30 {
		t.Fatalf("the two pages show %d different campaigns, want all 30", len(seen))
	}
	if p := b.get("/console/campaigns?before=$where"); p.status != http.StatusBadRequest {
		t.Fatalf("bad before: %d", p.status)
	}
}

// TestCampaignPagesAfterSweep: once the sweep has deleted a campaign's deliveries (past
// push.deliveryRetention), its page, its progress and the list show the counts they
// showed before.
func TestCampaignPagesAfterSweep(t *testing.T) {
	t.Parallel()
	e := newEnv(t, nil)
	ada := e.user("ada@example.com")
	e.device(ada, "phone", "android", "tok-a")
	e.device(ada, "tablet", "ios", "tok-b")
	id := campaignID(t, e.adminBrowser().send(url.Values{"title": {"Hello"}, "target": {"all"}}))
	e.drain()
	e.clock.Advance(31 * 24 * time.Hour)
	if n, err := e.push.SweepDeliveries(t.Context()); err != nil || n != 2+1 {
		t.Fatalf("sweep: %d records, %v; want the 2 deliveries and the campaign's mark", n, err)
	}
	b := e.adminBrowser() // signed in again: a month went by
	var prog map[string]any
	j := b.get("/console/campaigns/" + id + "/progress")
	if err := json.Unmarshal([]byte(j.body), &prog); err != nil {
		t.Fatal(err)
	}
	if prog["status"] != "completed" || prog["targeted"] != 2.0 || prog["sent"] != 2.0 || prog["done"] != 2.0 || prog["percent"] != 100.0 {
		t.Fatalf("progress after the sweep: %v", prog)
	}
	p := b.get("/console/campaigns/" + id)
	if !p.has(`<progress id="progress-bar" max="2" value="2">100%</progress>`) || !p.has(`<td data-count="sent">2</td>`) {
		t.Fatalf("campaign page after the sweep:\n%s", p.body)
	}
	if vs := e.campaigns(); len(vs) != 1 || vs[0].Counts != (push.Counts{Sent: 2}) || vs[0].Targeted != 2 {
		t.Fatalf("listed after the sweep: %+v", vs)
	}
}
