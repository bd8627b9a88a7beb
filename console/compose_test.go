package console_test

import (
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/tideline-dev/tideline/app"
	"github.com/tideline-dev/tideline/push"
)

func TestComposePage(t *testing.T) {
	t.Parallel()
	e := newEnv(t, nil)
	ada := e.user("ada@example.com")
	d := e.device(ada, "phone", "android", "tok-1")
	if err := e.push.SetTopic(t.Context(), ada.User.ID, d.DeviceID, "news", true); err != nil {
		t.Fatal(err)
	}
	b := e.adminBrowser()
	p := b.get("/console/compose?target=topic&topic=news")
	for _, want := range []string{
		`<input type="radio" name="target" value="topic" checked>`,
		`<option value="news" selected>news (1 devices)</option>`,
		`<label for="title">Title</label>`, `name="nonce" value="`, `data-preview="title"`,
		"Sending to more than 10000 devices asks for confirmation first.",
	} {
		if !p.has(want) {
			t.Errorf("compose page lacks %q", want)
		}
	}
}

func TestComposeSend(t *testing.T) {
	t.Parallel()
	e := newEnv(t, nil)
	ada, bob := e.user("ada@example.com"), e.user("bob@example.com")
	e.device(ada, "phone", "android", "tok-a")
	e.device(bob, "tablet", "ios", "tok-b")
	b := e.adminBrowser()

	p := b.send(url.Values{
		"title": {"Ciao"}, "body": {"New this week"}, "imageUrl": {"https://cdn.example.com/w.png"},
		"dataKey": {"screen", "", "id"}, "dataValue": {"news", "", "42"},
		"target": {"users"}, "users": {"ada@example.com, " + bob.User.ID},
		"priority": {"normal"}, "ttlHours": {"24"}, "collapseKey": {"weekly"}, "badge": {"3"}, "sound": {"default"},
		"when": {"later"}, "sendAt": {"2026-06-01T09:30"}, "zone": {"Europe/Rome"}, "nonce": {"abc"},
	})
	if p.status != http.StatusSeeOther || !strings.HasPrefix(p.loc, "/console/campaigns/") || !strings.HasSuffix(p.loc, "?done=queued") {
		t.Fatalf("send: %d %q\n%s", p.status, p.loc, p.body)
	}
	list := e.campaigns()
	if len(list) != 1 {
		t.Fatalf("%d campaigns", len(list))
	}
	c := list[0]
	badge := 3
	want := push.Spec{
		Target:       push.Target{UserIDs: sorted(ada.User.ID, bob.User.ID)},
		Notification: push.Notification{Title: "Ciao", Body: "New this week", ImageURL: "https://cdn.example.com/w.png"},
		Data:         map[string]string{"screen": "news", "id": "42"},
		Options:      push.Options{Priority: "normal", TTL: 24 * time.Hour, CollapseKey: "weekly", Badge: &badge, Sound: "default"},
		SendAt:       time.Date(2026, 6, 1, 7, 30, 0, 0, time.UTC),
	}
	if diff := cmp.Diff(want, c.Spec, cmp.Comparer(func(a, b time.Time) bool { return a.Equal(b) })); diff != "" {
		t.Fatalf("campaign (-want +got):\n%s", diff)
	}
	if c.CreatedBy != e.admin.ID || c.DryRun || !strings.HasPrefix(c.IdempotencyKey, "console:") {
		t.Fatalf("campaign %+v", c.Campaign)
	}
	page := b.get(p.loc)
	if page.status != http.StatusOK || !page.has("The campaign was queued.") || !page.has("Ciao") || !page.has("2026-06-01 07:30 UTC") {
		t.Fatalf("campaign page %d\n%s", page.status, page.body)
	}
}

func sorted(ids ...string) []string {
	if ids[0] > ids[1] {
		ids[0], ids[1] = ids[1], ids[0]
	}
	return ids
}

func TestComposeTargets(t *testing.T) {
	t.Parallel()
	e := newEnv(t, nil)
	ada := e.user("ada@example.com")
	d := e.device(ada, "phone", "android", "tok-a")
	if err := e.push.SetTopic(t.Context(), ada.User.ID, d.DeviceID, "news", true); err != nil {
		t.Fatal(err)
	}
	b := e.adminBrowser()
	for name, tt := range map[string]struct {
		form url.Values
		want push.Target
	}{
		"All":   {url.Values{"target": {"all"}}, push.Target{All: true}},
		"Topic": {url.Values{"target": {"topic"}, "topic": {"news"}}, push.Target{Topic: "news"}},
		"Segment": {url.Values{"target": {"segment"}, "platform": {"android", "ios"}, "minVersion": {"2.0"}, "maxVersion": {"2.9"},
			"locales": {"en, it-IT"}, "seenDays": {"30"}},
			push.Target{Segment: &push.Segment{Platforms: []string{"android", "ios"}, MinAppVersion: "2.0", MaxAppVersion: "2.9",
				Locales: []string{"en", "it-IT"}, SeenWithin: 30 * 24 * time.Hour}}},
	} {
		t.Run(name, func(t *testing.T) {
			tt.form.Set("title", name)
			tt.form.Set("dryRun", "1")
			if p := b.send(tt.form); p.status != http.StatusSeeOther {
				t.Fatalf("%d\n%s", p.status, p.body)
			}
			c := e.campaigns()[0]
			if diff := cmp.Diff(tt.want, c.Spec.Target); diff != "" || !c.DryRun || c.Spec.Notification.Title != name {
				t.Fatalf("dry run %v, target (-want +got):\n%s", c.DryRun, diff)
			}
		})
	}
}

func TestComposeLocalTimeAndSilent(t *testing.T) {
	t.Parallel()
	e := newEnv(t, nil)
	e.device(e.user("ada@example.com"), "phone", "ios", "tok-a")
	b := e.adminBrowser()
	p := b.send(url.Values{"target": {"all"}, "silent": {"1"}, "dataKey": {"sync"}, "dataValue": {"1"},
		"when": {"later"}, "sendAt": {"2026-06-01T09:00"}, "zone": {"Asia/Tokyo"}, "localTime": {"1"}})
	if p.status != http.StatusSeeOther {
		t.Fatalf("%d\n%s", p.status, p.body)
	}
	c := e.campaigns()[0]
	if !c.Spec.Options.Silent || !c.Spec.LocalTime || !c.Spec.SendAt.Equal(time.Date(2026, 6, 1, 9, 0, 0, 0, time.UTC)) {
		t.Fatalf("a local-time send keeps the wall time (the zone is ignored): %+v", c.Spec)
	}
}

// A form with a mistake comes back as the admin left it, with the reason, and queues
// nothing.
func TestComposeErrors(t *testing.T) {
	t.Parallel()
	e := newEnv(t, nil)
	e.device(e.user("ada@example.com"), "phone", "android", "tok-a")
	b := e.adminBrowser()
	for name, tt := range map[string]struct {
		form   url.Values
		status int
		msg    string
	}{
		"NoText":       {url.Values{"target": {"all"}}, 400, "needs a title or a body"},
		"UnknownEmail": {url.Values{"title": {"x"}, "target": {"users"}, "users": {"nobody@example.com"}}, 400, "No user has the email nobody@example.com."},
		"NoUsers":      {url.Values{"title": {"x"}, "target": {"users"}}, 400, "Enter the emails or ids of the users."},
		"NoTopic":      {url.Values{"title": {"x"}, "target": {"topic"}}, 400, "Choose a topic."},
		"UnknownTopic": {url.Values{"title": {"x"}, "target": {"topic"}, "topic": {"nwes"}}, 400, "This target reaches no device now"},
		"UnknownTopicLater": {url.Values{"title": {"x"}, "target": {"topic"}, "topic": {"nwes"}, "when": {"later"}, "sendAt": {"2026-06-01T09:00"}},
			400, "names a topic no device is subscribed to"},
		"ReservedKey":   {url.Values{"title": {"x"}, "target": {"all"}, "dataKey": {"gcm.x"}, "dataValue": {"1"}}, 400, "is reserved"},
		"ValueNoKey":    {url.Values{"title": {"x"}, "target": {"all"}, "dataKey": {""}, "dataValue": {"1"}}, 400, "Every data value needs a key."},
		"DuplicateKey":  {url.Values{"title": {"x"}, "target": {"all"}, "dataKey": {"a", "a"}, "dataValue": {"1", "2"}}, 400, "given twice"},
		"TTL":           {url.Values{"title": {"x"}, "target": {"all"}, "ttlHours": {"999"}}, 400, "time to live"},
		"Badge":         {url.Values{"title": {"x"}, "target": {"all"}, "badge": {"many"}}, 400, "The badge must be a whole number."},
		"HTTPImage":     {url.Values{"title": {"x"}, "target": {"all"}, "imageUrl": {"http://x.example/a.png"}}, 400, "must be an https URL"},
		"Zone":          {url.Values{"title": {"x"}, "target": {"all"}, "when": {"later"}, "sendAt": {"2026-06-01T09:00"}, "zone": {"Mars/Olympus"}}, 400, "is not a time zone"},
		"NoDate":        {url.Values{"title": {"x"}, "target": {"all"}, "when": {"later"}}, 400, "Enter the date and time to send at."},
		"Past":          {url.Values{"title": {"x"}, "target": {"all"}, "when": {"later"}, "sendAt": {"2026-05-01T09:00"}}, 400, "has passed"},
		"SeenDays":      {url.Values{"title": {"x"}, "target": {"segment"}, "seenDays": {"-1"}}, 400, "Last seen within"},
		"Platform":      {url.Values{"title": {"x"}, "target": {"segment"}, "platform": {"symbian"}}, 400, "must be ios, android or web"},
		"NobodyReached": {url.Values{"title": {"x"}, "target": {"segment"}, "platform": {"web"}}, 400, "This target reaches no device now"},
		"TooLarge":      {url.Values{"title": {"x"}, "target": {"all"}, "body": {strings.Repeat("x", 5000)}}, 413, "FCM accepts at most 4096"},
		"NoTarget":      {url.Values{"title": {"x"}, "target": {"everyone"}}, 400, "Choose who receives the notification."},
	} {
		t.Run(name, func(t *testing.T) {
			tt.form.Set("body", tt.form.Get("body")+"")
			p := b.send(tt.form)
			if p.status != tt.status || !p.has(`role="alert"`) || !strings.Contains(p.body, tt.msg) {
				t.Fatalf("%d, want %d with %q:\n%s", p.status, tt.status, tt.msg, p.body)
			}
			if v := tt.form.Get("title"); v != "" && !p.has(`name="title" value="`+v+`"`) {
				t.Fatal("the title was not kept")
			}
		})
	}
	if n := len(e.campaigns()); n != 0 {
		t.Fatalf("%d campaigns queued by refused forms", n)
	}
}

func TestComposeCountsTheAudience(t *testing.T) {
	t.Parallel()
	e := newEnv(t, nil)
	ada := e.user("ada@example.com")
	e.device(ada, "phone", "android", "tok-a")
	e.device(ada, "tablet", "ios", "tok-b")
	e.device(e.user("bob@example.com"), "phone", "ios", "")
	b := e.adminBrowser()
	p := b.send(url.Values{"action": {"count"}, "title": {"Kept"}, "target": {"segment"}, "platform": {"ios"}})
	if p.status != http.StatusOK || !p.has("This target reaches <strong>1</strong> devices now.") || !p.has(`value="Kept"`) {
		t.Fatalf("count: %d\n%s", p.status, p.body)
	}
	if len(e.campaigns()) != 0 {
		t.Fatal("counting queued a campaign")
	}
	for query, want := range map[string]string{
		"target=all":                         `"count":2`,
		"target=segment&platform=android":    `"count":1`,
		"target=users&users=bob@example.com": `"count":0`,
		"target=topic&topic=none":            `"count":0`,
	} {
		j := b.get("/console/audience?" + query)
		if j.status != http.StatusOK || !j.has(want) || !strings.HasPrefix(j.header.Get("Content-Type"), "application/json") {
			t.Errorf("audience %s: %d %s", query, j.status, j.body)
		}
	}
	j := b.get("/console/audience?target=users&users=nobody@example.com")
	var body map[string]any
	if err := json.Unmarshal([]byte(j.body), &body); err != nil || j.status != http.StatusBadRequest || body["error"] != "No user has the email nobody@example.com." {
		t.Errorf("audience of an unknown email: %d %s", j.status, j.body)
	}
}

// Above console.confirmAbove devices, sending asks first; the confirmed size comes back
// with the form. Sending the same form twice queues one campaign.
func TestComposeConfirmsLargeAudiences(t *testing.T) {
	t.Parallel()
	e := newEnv(t, func(c *app.Config) { c.ConsoleConfirmAbove = 2 })
	for i, email := range []string{"a@example.com", "b@example.com", "c@example.com"} {
		e.device(e.user(email), "phone", "android", "tok-"+string(rune('a'+i)))
	}
	b := e.adminBrowser()
	form := url.Values{"title": {"Big news"}, "target": {"all"}, "nonce": {"n1"}}
	p := b.send(form)
	if p.status != http.StatusOK || !p.has("Send to 3 devices?") || !p.has(`name="confirmed" value="3"`) || len(e.campaigns()) != 0 {
		t.Fatalf("first send: %d, want a confirmation\n%s", p.status, p.body)
	}
	stale := url.Values{"title": {"Big news"}, "target": {"all"}, "nonce": {"n1"}, "confirmed": {"2"}}
	if p := b.send(stale); p.status != http.StatusOK || !p.has("Send to 3 devices?") {
		t.Fatalf("a confirmation of another size: %d", p.status)
	}
	ok := url.Values{"title": {"Big news"}, "target": {"all"}, "nonce": {"n1"}, "confirmed": {"3"}}
	first := b.send(ok)
	if first.status != http.StatusSeeOther {
		t.Fatalf("confirmed: %d\n%s", first.status, first.body)
	}
	again := b.send(url.Values{"title": {"Big news"}, "target": {"all"}, "nonce": {"n1"}, "confirmed": {"3"}})
	if again.loc != first.loc || len(e.campaigns()) != 1 {
		t.Fatalf("the same form sent twice: %q then %q, %d campaigns", first.loc, again.loc, len(e.campaigns()))
	}
	changed := b.send(url.Values{"title": {"Bigger news"}, "target": {"all"}, "nonce": {"n1"}, "confirmed": {"3"}})
	if changed.status != http.StatusSeeOther || changed.loc == first.loc || len(e.campaigns()) != 2 {
		t.Fatalf("a changed form: %q, %d campaigns", changed.loc, len(e.campaigns()))
	}
	// Dry runs send nothing, so they ask nothing.
	if p := b.send(url.Values{"title": {"x"}, "target": {"all"}, "dryRun": {"1"}}); p.status != http.StatusSeeOther {
		t.Fatalf("dry run: %d", p.status)
	}
}
