package console_test

import (
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/tideline-dev/tideline/app"
	"github.com/tideline-dev/tideline/auth"
	"github.com/tideline-dev/tideline/push"
	datasync "github.com/tideline-dev/tideline/sync"
)

func TestUsersSearch(t *testing.T) {
	t.Parallel()
	e := newEnv(t, nil)
	ada := e.user("ada@example.com")
	e.user("bob@example.com")
	b := e.adminBrowser()
	all := b.get("/console/users")
	if all.status != http.StatusOK || !all.has("ada@example.com") || !all.has("bob@example.com") || !all.has(adminEmail) {
		t.Fatalf("users:\n%s", all.body)
	}
	found := b.get("/console/users?email=ADA")
	if !found.has(`<a href="/console/users/`+ada.User.ID+`">ada@example.com</a>`) || found.has("bob@example.com") || !found.has(`value="ADA"`) {
		t.Fatalf("search:\n%s", found.body)
	}
	if none := b.get("/console/users?email=zed"); !none.has("No user has an email containing “zed”.") {
		t.Fatalf("no match:\n%s", none.body)
	}
	for i := range 50 {
		e.user(fmt.Sprintf("u%02d@example.com", i))
	}
	first := b.get("/console/users")
	next := strings.Split(strings.Split(first.body, `;after=`)[1], `"`)[0]
	if second := b.get("/console/users?after=" + next); !second.has("u49@example.com") || second.has(">ada@example.com<") {
		t.Fatalf("second page:\n%s", second.body)
	}
}

func TestUserPage(t *testing.T) {
	t.Parallel()
	e := newEnv(t, nil)
	ada := e.user("ada@example.com")
	phone := e.device(ada, "phone", "android", "tok-a")
	e.device(ada, "old-tablet", "ios", "")
	if err := e.push.SetTopic(t.Context(), ada.User.ID, "phone", "news", true); err != nil {
		t.Fatal(err)
	}
	b := e.adminBrowser()
	p := b.get("/console/users/" + ada.User.ID)
	for _, want := range []string{
		"<h1>ada@example.com</h1>", "Pixel", "192.0.2.1", // the session
		"<code>phone</code>", "topics: news", "2.1.0", "en-GB", "status-completed\">bound", // the devices
		"<code>old-tablet</code>", "status-cancelled\">none",
		`action="/console/users/` + ada.User.ID + `/sessions/` + ada.Tokens.SessionID + `/revoke"`,
		`action="/console/users/` + ada.User.ID + `/devices/` + phone.ID + `/test"`,
		"Disable the user",
	} {
		if !p.has(want) {
			t.Errorf("user page lacks %q", want)
		}
	}
	if strings.Count(p.body, `/test"`) != 1 {
		t.Error("a device without a token is offered a test push")
	}
	if p := b.get("/console/users/" + e.admin.ID); p.has("Disable the user") || !p.has("this console") {
		t.Errorf("the admin's own page offers to disable itself, or does not mark the console's session")
	}
	if p := b.get("/console/users/nobody"); p.status != http.StatusNotFound {
		t.Errorf("unknown user: %d", p.status)
	}
}

func TestUserActions(t *testing.T) {
	t.Parallel()
	e := newEnv(t, nil)
	ada := e.user("ada@example.com")
	phone := e.device(ada, "phone", "android", "tok-a")
	bob := e.user("bob@example.com")
	bobPhone := e.device(bob, "phone", "ios", "tok-b")
	b := e.adminBrowser()
	userPage := "/console/users/" + ada.User.ID
	csrf := b.csrf(userPage)

	t.Run("TestPush", func(t *testing.T) {
		p := b.post(userPage+"/devices/"+phone.ID+"/test", url.Values{"csrf": {csrf}, "title": {"Ping"}})
		id := campaignID(t, p)
		v, err := e.push.GetCampaign(t.Context(), id)
		if err != nil || len(v.Spec.Target.DeviceIDs) != 1 || v.Spec.Target.DeviceIDs[0] != phone.ID || v.Spec.Notification.Title != "Ping" || v.CreatedBy != e.admin.ID {
			t.Fatalf("test push %+v %v", v.Spec, err)
		}
		if page := b.get(p.loc); !page.has("The test notification is queued.") {
			t.Fatal("no notice")
		}
		// Another user's device, through this user's page, is not found.
		if p := b.post(userPage+"/devices/"+bobPhone.ID+"/test", url.Values{"csrf": {csrf}}); p.status != http.StatusNotFound {
			t.Fatalf("another user's device: %d", p.status)
		}
	})
	t.Run("RevokeSession", func(t *testing.T) {
		if p := b.post(userPage+"/sessions/"+bob.Tokens.SessionID+"/revoke", url.Values{"csrf": {csrf}}); p.status != http.StatusNotFound {
			t.Fatalf("another user's session: %d", p.status)
		}
		p := b.post(userPage+"/sessions/"+ada.Tokens.SessionID+"/revoke", url.Values{"csrf": {csrf}})
		if p.status != http.StatusSeeOther || p.loc != userPage+"?done=revoked" {
			t.Fatalf("revoke: %d %q", p.status, p.loc)
		}
		if _, err := e.auth.Authenticate(t.Context(), ada.Tokens.AccessToken); err == nil {
			t.Fatal("the session still works")
		}
		devices, _ := e.push.ListDevices(t.Context(), ada.User.ID)
		if devices[0].PushToken != "" {
			t.Fatal("the session's push token is still bound")
		}
		if page := b.get(p.loc); !page.has("The session is revoked") || !page.has("No active session.") {
			t.Fatalf("page after revoke:\n%s", page.body)
		}
	})
	t.Run("DisableAndEnable", func(t *testing.T) {
		p := b.post("/console/users/"+bob.User.ID+"/disable", url.Values{"csrf": {csrf}, "disabled": {"true"}})
		if p.status != http.StatusSeeOther {
			t.Fatalf("disable: %d", p.status)
		}
		if u, _ := e.auth.GetUser(t.Context(), bob.User.ID); !u.Disabled {
			t.Fatal("not disabled")
		}
		if page := b.get(p.loc); !page.has("The user is disabled") || !page.has("Enable the user") {
			t.Fatalf("page after disable:\n%s", page.body)
		}
		if p := b.post("/console/users/"+bob.User.ID+"/disable", url.Values{"csrf": {csrf}, "disabled": {"false"}}); p.status != http.StatusSeeOther {
			t.Fatalf("enable: %d", p.status)
		}
		if u, _ := e.auth.GetUser(t.Context(), bob.User.ID); u.Disabled {
			t.Fatal("still disabled")
		}
		// An admin cannot disable themselves.
		if p := b.post("/console/users/"+e.admin.ID+"/disable", url.Values{"csrf": {csrf}, "disabled": {"true"}}); p.status != http.StatusForbidden || !p.has("You cannot disable your own account.") {
			t.Fatalf("self-disable: %d", p.status)
		}
	})
}

func TestTopicsPage(t *testing.T) {
	t.Parallel()
	e := newEnv(t, nil)
	b := e.adminBrowser()
	if p := b.get("/console/topics"); !p.has("No device is subscribed to a topic yet.") {
		t.Fatalf("no topics:\n%s", p.body)
	}
	ada := e.user("ada@example.com")
	for _, id := range []string{"phone", "tablet"} {
		e.device(ada, id, "android", "tok-"+id)
		if err := e.push.SetTopic(t.Context(), ada.User.ID, id, "news", true); err != nil {
			t.Fatal(err)
		}
	}
	if err := e.push.SetTopic(t.Context(), ada.User.ID, "phone", "sport~eu", true); err != nil {
		t.Fatal(err)
	}
	p := b.get("/console/topics")
	if !p.has(`<td><code>news</code></td><td class="num">2</td>`) || !p.has(`<td><code>sport~eu</code></td><td class="num">1</td>`) ||
		!p.has(`href="/console/compose?target=topic&amp;topic=news"`) {
		t.Fatalf("topics:\n%s", p.body)
	}
}

func TestOverview(t *testing.T) {
	t.Parallel()
	e := newEnv(t, nil)
	b := e.adminBrowser()
	if p := b.get("/console"); p.status != http.StatusOK || !p.has("No device has registered yet.") || !p.has("No campaign yet.") {
		t.Fatalf("empty overview:\n%s", p.body)
	}
	ada := e.user("ada@example.com")
	e.device(ada, "phone", "android", "tok-a")
	e.device(ada, "tablet", "android", "")
	e.device(ada, "ipad", "ios", "tok-c")
	if _, err := e.auth.SignInAnonymously(t.Context(), auth.Client{}); err != nil {
		t.Fatal(err)
	}
	send := func(title string) {
		n := push.NewCampaign{Spec: push.Spec{Target: push.Target{All: true}, Notification: push.Notification{Title: title}}}
		if _, _, err := e.push.CreateCampaign(t.Context(), n); err != nil {
			t.Fatal(err)
		}
		e.drain()
	}
	send("three days ago")
	e.clock.Advance(72 * time.Hour)
	send("today")
	send("today again")
	p := b.get("/console")
	for _, want := range []string{
		`<span class="stat">3</span> users`, "1 anonymous, 0 disabled", `<span class="stat">3</span> devices`, "2 can receive pushes",
		`<span class="stat">3</span> campaigns`,
		`<td>android</td><td class="num">2</td><td class="num">1</td>`, `<td>ios</td><td class="num">1</td><td class="num">1</td>`,
		`<td>2026-05-14</td><td class="num">2</td><td class="num">0</td>`, `<td>2026-05-17</td><td class="num">4</td><td class="num">0</td>`,
		`<title id="chart-title">`, `class="bar-sent"`, ">today again</a>",
	} {
		if !p.has(want) {
			t.Errorf("overview lacks %q", want)
		}
	}
	if t.Failed() {
		t.Log(p.body)
	}
}

// The overview shows sync's status: the collections configured and this node's realtime
// state.
func TestOverviewSync(t *testing.T) {
	t.Parallel()
	e := newEnv(t, func(c *app.Config) {
		c.Sync.Collections = []datasync.Collection{
			{Name: "lists", Policy: datasync.LWW, Read: datasync.OwnerShared, Notify: true, MaxDocBytes: datasync.DefaultMaxDocBytes},
			{Name: "scores", Policy: datasync.Optimistic, Read: datasync.PublicRead, MaxDocBytes: datasync.DefaultMaxDocBytes},
		}
	})
	p := e.adminBrowser().get("/console")
	for _, want := range []string{`id="sync-h"`, `<span class="stat">0</span> realtime streams`,
		`<td>lists</td><td>owner-shared</td><td>lww</td><td>yes</td>`, `<td>scores</td><td>public-read</td><td>optimistic</td><td>no</td>`} {
		if !p.has(want) {
			t.Errorf("overview lacks %q", want)
		}
	}
	if t.Failed() {
		t.Log(p.body)
	}
}

// The overview's counts agree with their nouns: 1 user, 0 devices, 0 realtime streams.
func TestOverviewCountsReadAsEnglish(t *testing.T) {
	t.Parallel()
	p := newEnv(t, nil).adminBrowser().get("/console")
	for _, want := range []string{`<span class="stat">1</span> user</a>`, `<span class="stat">0</span> devices`,
		`<span class="stat">0</span> realtime streams`, `<span class="stat">0</span> pokes`} {
		if !p.has(want) {
			t.Errorf("overview lacks %q", want)
		}
	}
}
