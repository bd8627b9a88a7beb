package httpapi_test

import (
	"encoding/json"
	"slices"
	"strings"
	"testing"

	"github.com/tideline-dev/tideline"
)

type groupBody struct {
	ID      string `json:"id"`
	Name    string `json:"name"`
	OwnerID string `json:"ownerId"`
	Role    string `json:"role"`
}

type accessPull struct {
	pullResult
	RemovedBuckets []string `json:"removedBuckets"`
}

func (a *apiTest) pull(token, cursor string) accessPull {
	a.t.Helper()
	body, _ := json.Marshal(map[string]any{"cursor": cursor})
	if cursor == "" {
		body = []byte(`{}`)
	}
	return decode[accessPull](a.t, a.raw("POST", "/v1/sync/pull", token, string(body)), 200)
}

func TestGroupsOverHTTP(t *testing.T) {
	t.Parallel()
	a := newAPI(t, nil)
	ada, bob, cyd := a.signUp("ada@example.com"), a.signUp("bob@example.com"), a.signUp("cyd@example.com")
	key := a.admin()

	for name, body := range map[string]string{
		"Empty":    `{"name":""}`,
		"Operator": `{"name":{"$gt":""}}`,
		"TooLong":  `{"name":"` + strings.Repeat("x", 101) + `"}`,
		"Missing":  `{}`,
		"NotJSON":  `{"name":`,
	} {
		t.Run(name, func(t *testing.T) {
			checkProblem(t, a.raw("POST", "/v1/groups", ada.AccessToken, body), 400, tideline.CodeInvalid)
		})
	}
	checkProblem(t, a.raw("POST", "/v1/groups", key, `{"name":"Keys"}`), 403, tideline.CodeForbidden) // an API key has no account

	g := decode[groupBody](t, a.call("POST", "/v1/groups", ada.AccessToken, map[string]string{"name": "Family"}), 201)
	if g.ID == "" || g.Name != "Family" || g.OwnerID != ada.User.ID || g.Role != "owner" {
		t.Fatalf("created %+v", g)
	}
	members := "/v1/groups/" + g.ID + "/members/"
	add := func(token, user string) int { return a.call("POST", members+user, token, nil).Code }

	if code := add(ada.AccessToken, bob.User.ID); code != 204 {
		t.Fatalf("add bob: %d", code)
	}
	if code := add(ada.AccessToken, bob.User.ID); code != 204 {
		t.Fatalf("add bob again: %d", code)
	}
	checkProblem(t, a.call("POST", members+tideline.NewID(), ada.AccessToken, nil), 404, tideline.CodeNotFound)     // no such user
	checkProblem(t, a.call("POST", members+"$where", ada.AccessToken, nil), 404, tideline.CodeNotFound)             // hostile id
	checkProblem(t, a.call("POST", members+cyd.User.ID, bob.AccessToken, nil), 403, tideline.CodeForbidden)         // a member, not the owner
	checkProblem(t, a.call("POST", members+cyd.User.ID, cyd.AccessToken, nil), 404, tideline.CodeNotFound)          // a stranger: no such group
	checkProblem(t, a.call("GET", "/v1/groups/"+g.ID+"/members", cyd.AccessToken, nil), 404, tideline.CodeNotFound) // nor its members
	checkProblem(t, a.call("POST", "/v1/groups/"+tideline.NewID()+"/members/"+cyd.User.ID, ada.AccessToken, nil), 404, tideline.CodeNotFound)

	list := decode[struct {
		Members []struct{ UserID, Role string } `json:"members"`
	}](t, a.call("GET", "/v1/groups/"+g.ID+"/members", bob.AccessToken, nil), 200)
	if len(list.Members) != 2 || list.Members[0].UserID != ada.User.ID || list.Members[0].Role != "owner" || list.Members[1].UserID != bob.User.ID {
		t.Fatalf("members %+v", list)
	}
	// An admin (a user with the admin role, not an API key) sees and manages any group.
	if _, _, err := a.app.Auth.CreateAdmin(t.Context(), "root@example.com", password, "test", false); err != nil {
		t.Fatal(err)
	}
	root := decode[sessionBody](t, a.call("POST", "/v1/auth/login", "", map[string]string{"email": "root@example.com", "password": password}), 200).AccessToken
	if admin := decode[map[string][]any](t, a.call("GET", "/v1/groups/"+g.ID+"/members", root, nil), 200); len(admin["members"]) != 2 {
		t.Fatalf("an admin's view %v", admin)
	}
	checkProblem(t, a.call("GET", "/v1/groups/"+g.ID+"/members", key, nil), 403, tideline.CodeForbidden)
	mine := decode[struct{ Groups []groupBody }](t, a.call("GET", "/v1/groups", bob.AccessToken, nil), 200)
	if len(mine.Groups) != 1 || mine.Groups[0].ID != g.ID || mine.Groups[0].Role != "member" {
		t.Fatalf("bob's groups %+v", mine)
	}

	// A document shared with the group reaches bob through its bucket; leaving removes it.
	if rec := a.call("PUT", "/v1/admin/collections/lists", key, map[string]any{"read": "owner-shared"}); rec.Code != 200 {
		t.Fatalf("configure lists: %d %s", rec.Code, rec.Body)
	}
	push := decode[pushResult](t, a.raw("POST", "/v1/sync/push", ada.AccessToken, `{"clientId":"ada","mutations":[
		{"id":1,"collection":"lists","docId":"trip","op":"put","fields":{"title":"Rome","_acl":{"read":["group:`+g.ID+`"]}}},
		{"id":2,"collection":"lists","docId":"gift","op":"put","fields":{"title":"Book","_acl":{"read":["user:`+cyd.User.ID+`"]}}}]}`), 200)
	if push.Receipts[0].Status != "applied" || push.Receipts[1].Status != "applied" {
		t.Fatalf("push %+v", push)
	}
	p := a.pull(bob.AccessToken, "")
	if len(p.Changes) != 1 || p.Changes[0].DocID != "trip" || !slices.Equal(p.Changes[0].Buckets, []string{"group:" + g.ID}) {
		t.Fatalf("bob's pull %+v", p)
	}
	cydPull := a.pull(cyd.AccessToken, "")
	if len(cydPull.Changes) != 1 || cydPull.Changes[0].DocID != "gift" {
		t.Fatalf("cyd's pull %+v", cydPull)
	}
	checkProblem(t, a.call("DELETE", members+ada.User.ID, bob.AccessToken, nil), 403, tideline.CodeForbidden) // a member removes nobody else
	checkProblem(t, a.call("DELETE", members+ada.User.ID, ada.AccessToken, nil), 409, tideline.CodeConflict)  // the owner cannot leave
	if rec := a.call("DELETE", members+bob.User.ID, bob.AccessToken, nil); rec.Code != 204 {
		t.Fatalf("leave: %d %s", rec.Code, rec.Body)
	}
	checkProblem(t, a.call("DELETE", members+bob.User.ID, ada.AccessToken, nil), 404, tideline.CodeNotFound)
	if again := a.pull(bob.AccessToken, p.Cursor); !slices.Equal(again.RemovedBuckets, []string{"group:" + g.ID}) {
		t.Fatalf("after leaving %+v", again)
	}

	// Unsharing evicts: cyd's next pull says to drop the document.
	decode[pushResult](t, a.raw("POST", "/v1/sync/push", ada.AccessToken, `{"clientId":"ada","mutations":[
		{"id":3,"collection":"lists","docId":"gift","op":"patch","fields":{"_acl":null}}]}`), 200)
	ev := a.pull(cyd.AccessToken, cydPull.Cursor)
	if len(ev.Changes) != 1 || ev.Changes[0].Op != "evict" || ev.Changes[0].DocID != "gift" || len(ev.Changes[0].Buckets) != 0 || ev.Changes[0].Doc != nil {
		t.Fatalf("cyd after unsharing %+v", ev)
	}
}

func TestPullSubscriptionsOverHTTP(t *testing.T) {
	t.Parallel()
	a := newAPI(t, nil)
	ada := a.signUp("ada@example.com").AccessToken
	a.pushTodo(ada, "p", 1, "t1")
	p := decode[struct {
		pullResult
		Collections []string `json:"collections"`
	}](t, a.raw("POST", "/v1/sync/pull", ada, `{"collections":["todos"]}`), 200)
	if len(p.Changes) != 1 || !slices.Equal(p.Collections, []string{"todos"}) {
		t.Fatalf("%+v", p)
	}
	for _, body := range []string{`{"collections":["Todos"]}`, `{"collections":["$where"]}`, `{"collections":"todos"}`, `{"collections":[{"$gt":""}]}`} {
		checkProblem(t, a.raw("POST", "/v1/sync/pull", ada, body), 400, tideline.CodeInvalid)
	}
}
