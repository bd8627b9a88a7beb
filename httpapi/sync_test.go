package httpapi_test

import (
	"bytes"
	"encoding/json"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/tideline-dev/tideline"
)

type receipt struct {
	ID        int64          `json:"id"`
	Status    string         `json:"status"`
	Seq       int64          `json:"seq"`
	Version   int64          `json:"version"`
	Code      string         `json:"code"`
	Field     string         `json:"field"`
	Doc       map[string]any `json:"doc"`
	Duplicate bool           `json:"duplicate"`
}

type pushResult struct {
	Protocol int       `json:"protocol"`
	Receipts []receipt `json:"receipts"`
}

type pullResult struct {
	Protocol int `json:"protocol"`
	Changes  []struct {
		Collection string          `json:"collection"`
		DocID      string          `json:"docId"`
		Op         string          `json:"op"`
		Doc        json.RawMessage `json:"doc"`
		Version    int64           `json:"version"`
		Seq        int64           `json:"seq"`
		Buckets    []string        `json:"buckets"`
	} `json:"changes"`
	Cursor  string `json:"cursor"`
	HasMore bool   `json:"hasMore"`
}

// raw sends body as it is, as JSON, with token.
func (a *apiTest) raw(method, path, token, body string) *httptest.ResponseRecorder {
	a.t.Helper()
	r := httptest.NewRequest(method, path, strings.NewReader(body))
	r.Header.Set("Content-Type", "application/json")
	r.Header.Set("Authorization", "Bearer "+token)
	return a.do(r)
}

func TestSyncOverHTTP(t *testing.T) {
	t.Parallel()
	a := newAPI(t, nil)
	ada := a.signUp("ada@example.com").AccessToken
	bob := a.signUp("bob@example.com").AccessToken

	// Integers beyond 2^53 and operands keep their exact value.
	push := decode[pushResult](t, a.raw("POST", "/v1/sync/push", ada, `{"clientId":"ada-phone","mutations":[
		{"id":1,"collection":"todos","docId":"t1","op":"put","fields":{"title":"Buy milk","big":9007199254740993,"ratio":0.25}},
		{"id":2,"collection":"todos","docId":"t1","op":"patch","ops":{"count":{"inc":9007199254740993}}},
		{"id":3,"collection":"todos","docId":"t2","op":"put","fields":{"$where":"sleep(1000)"}}]}`), 200)
	if push.Protocol != 1 || len(push.Receipts) != 3 || push.Receipts[0].Status != "applied" || push.Receipts[1].Version != 1 {
		t.Fatalf("push %+v", push)
	}
	if r := push.Receipts[2]; r.Status != "rejected" || r.Code != "invalid" || r.Field != "fields" {
		t.Fatalf("operator field %+v", r)
	}
	pull := decode[pullResult](t, a.raw("POST", "/v1/sync/pull", ada, `{}`), 200)
	if len(pull.Changes) != 1 || pull.HasMore || pull.Cursor == "" || pull.Changes[0].Op != "upsert" {
		t.Fatalf("pull %+v", pull)
	}
	if doc := string(pull.Changes[0].Doc); !strings.Contains(doc, `"big":9007199254740993`) || !strings.Contains(doc, `"count":9007199254740993`) {
		t.Fatalf("exact integers lost: %s", doc)
	}
	again := decode[pullResult](t, a.raw("POST", "/v1/sync/pull", ada, `{"cursor":"`+pull.Cursor+`"}`), 200)
	if len(again.Changes) != 0 {
		t.Fatalf("again %+v", again)
	}
	// Bob sees nothing of Ada's, cannot use her cursor, and cannot push as her client.
	if b := decode[pullResult](t, a.raw("POST", "/v1/sync/pull", bob, ``), 200); len(b.Changes) != 0 {
		t.Fatalf("bob sees %+v", b.Changes)
	}
	checkProblem(t, a.raw("POST", "/v1/sync/pull", bob, `{"cursor":"`+pull.Cursor+`"}`), 400, "invalid_cursor")
	checkProblem(t, a.raw("POST", "/v1/sync/push", bob, `{"clientId":"ada-phone","mutations":[{"id":9,"collection":"todos","docId":"t1","op":"delete"}]}`), 403, tideline.CodeForbidden)

	// Resending the batch applies nothing twice.
	dup := decode[pushResult](t, a.raw("POST", "/v1/sync/push", ada, `{"clientId":"ada-phone","mutations":[{"id":2,"collection":"todos","docId":"t1","op":"patch","ops":{"count":{"inc":9007199254740993}}}]}`), 200)
	if d := dup.Receipts[0]; !d.Duplicate || d.Doc["title"] != "Buy milk" || d.Seq == 0 || d.Version != 1 {
		t.Fatalf("resend %+v, want a duplicate with the document as it is", dup)
	}
	// The same id with other content is a client bug: rejected, not a silent duplicate.
	reused := decode[pushResult](t, a.raw("POST", "/v1/sync/push", ada, `{"clientId":"ada-phone","mutations":[{"id":2,"collection":"todos","docId":"t1","op":"patch","ops":{"count":{"inc":1}}}]}`), 200)
	if r := reused.Receipts[0]; r.Status != "rejected" || r.Code != "id_reused" || r.Duplicate {
		t.Fatalf("reused id %+v", reused)
	}
	// Resent with a new write of the same document: the duplicate carries the document
	// after the whole batch, at the new write's seq (a client's copy must not stay older
	// than its own write: docs/sync-protocol.md, receipts).
	mixed := decode[pushResult](t, a.raw("POST", "/v1/sync/push", ada, `{"clientId":"ada-phone","mutations":[
		{"id":2,"collection":"todos","docId":"t1","op":"patch","ops":{"count":{"inc":9007199254740993}}},
		{"id":4,"collection":"todos","docId":"t1","op":"patch","fields":{"done":true}}]}`), 200)
	if d, n := mixed.Receipts[0], mixed.Receipts[1]; !d.Duplicate || d.Doc["done"] != true || d.Doc["title"] != "Buy milk" ||
		n.Status != "applied" || n.Duplicate || n.Doc != nil || d.Seq != n.Seq || d.Version != 2 {
		t.Fatalf("resend with a new write %+v", mixed)
	}
}

func TestSyncHostileBodies(t *testing.T) {
	t.Parallel()
	a := newAPI(t, nil)
	ada := a.signUp("ada@example.com").AccessToken
	deep := strings.Repeat(`{"a":`, 70) + "1" + strings.Repeat("}", 70)
	for name, tt := range map[string]struct {
		body   string
		status int
		code   tideline.Code
	}{
		"InvalidUTF8":       {"{\"clientId\":\"c\",\"mutations\":[{\"id\":1,\"collection\":\"t\",\"docId\":\"d\",\"op\":\"put\",\"fields\":{\"s\":\"\xff\xfe\"}}]}", 400, tideline.CodeInvalid},
		"TooDeep":           {`{"clientId":"c","mutations":[{"id":1,"collection":"t","docId":"d","op":"put","fields":` + deep + `}]}`, 400, tideline.CodeInvalid},
		"FieldsNotAnObject": {`{"clientId":"c","mutations":[{"id":1,"collection":"t","docId":"d","op":"put","fields":[1,2]}]}`, 400, tideline.CodeInvalid},
		"UnknownOp":         {`{"clientId":"c","mutations":[{"id":1,"collection":"t","docId":"d","op":"$set"}]}`, 400, tideline.CodeInvalid},
		"TwoOpsInOne":       {`{"clientId":"c","mutations":[{"id":1,"collection":"t","docId":"d","op":"patch","ops":{"n":{"inc":1,"max":2}}}]}`, 400, tideline.CodeInvalid},
		"NoMutations":       {`{"clientId":"c","mutations":[]}`, 400, tideline.CodeInvalid},
		"IDsNotIncreasing":  {`{"clientId":"c","mutations":[{"id":2,"collection":"t","docId":"d","op":"delete"},{"id":1,"collection":"t","docId":"e","op":"delete"}]}`, 400, tideline.CodeInvalid},
		"BadClientID":       {`{"clientId":"c/../x","mutations":[{"id":1,"collection":"t","docId":"d","op":"delete"}]}`, 400, tideline.CodeInvalid},
		"StringWhereNumber": {`{"clientId":"c","mutations":[{"id":"1","collection":"t","docId":"d","op":"delete"}]}`, 400, tideline.CodeInvalid},
		"OperatorForCursor": {`{"cursor":{"$gt":""}}`, 400, tideline.CodeInvalid},
	} {
		path := "/v1/sync/push"
		if strings.HasPrefix(name, "Operator") {
			path = "/v1/sync/pull"
		}
		t.Run(name, func(t *testing.T) {
			checkProblem(t, a.raw("POST", path, ada, tt.body), tt.status, tt.code)
		})
	}
	// A batch over the limit is 413.
	var b bytes.Buffer
	b.WriteString(`{"clientId":"c","mutations":[`)
	for i := range 501 {
		if i > 0 {
			b.WriteString(",")
		}
		b.WriteString(`{"id":` + itoa(i+1) + `,"collection":"t","docId":"d","op":"delete"}`)
	}
	b.WriteString(`]}`)
	checkProblem(t, a.raw("POST", "/v1/sync/push", ada, b.String()), 413, tideline.CodeTooLarge)
	if p := decode[pullResult](t, a.raw("POST", "/v1/sync/pull", ada, `{}`), 200); len(p.Changes) != 0 {
		t.Fatalf("refused pushes wrote %+v", p.Changes)
	}
}

func itoa(i int) string { b, _ := json.Marshal(i); return string(b) }

func TestCollectionsAdmin(t *testing.T) {
	t.Parallel()
	a := newAPI(t, nil)
	key := a.admin()
	ada := a.signUp("ada@example.com").AccessToken
	c := decode[map[string]any](t, a.call("PUT", "/v1/admin/collections/people", key, map[string]any{
		"policy": "optimistic", "read": "authenticated-read", "maxDocBytes": 4096,
		"schema": map[string]any{"type": "object", "required": []string{"name"}},
	}), 200)
	if c["source"] != "api" || c["policy"] != "optimistic" || c["notify"] != true {
		t.Fatalf("%v", c)
	}
	checkProblem(t, a.call("PUT", "/v1/admin/collections/people", key, map[string]any{"policy": "yolo"}), 400, tideline.CodeInvalid)
	checkProblem(t, a.call("PUT", "/v1/admin/collections/people", key, map[string]any{"schema": map[string]any{"type": 12}}), 400, tideline.CodeInvalid)
	checkProblem(t, a.call("PUT", "/v1/admin/collections/Bad-Name", key, map[string]any{}), 400, tideline.CodeInvalid)
	checkProblem(t, a.call("PUT", "/v1/admin/collections/people", ada, map[string]any{}), 403, tideline.CodeForbidden)
	// The schema applies to pushes at once on this node.
	r := decode[pushResult](t, a.raw("POST", "/v1/sync/push", ada, `{"clientId":"p","mutations":[{"id":1,"collection":"people","docId":"x","op":"put","fields":{"age":3}}]}`), 200)
	if r.Receipts[0].Code != "schema_violation" || r.Receipts[0].Field != "fields.name" {
		t.Fatalf("%+v", r.Receipts[0])
	}
	list := decode[map[string][]map[string]any](t, a.call("GET", "/v1/admin/collections", key, nil), 200)
	if len(list["collections"]) != 1 {
		t.Fatalf("%v", list)
	}
	if rec := a.call("DELETE", "/v1/admin/collections/people", key, nil); rec.Code != 204 {
		t.Fatalf("delete %d", rec.Code)
	}
	checkProblem(t, a.call("GET", "/v1/admin/collections/people", key, nil), 404, tideline.CodeNotFound)
	checkProblem(t, a.call("DELETE", "/v1/admin/collections/people", key, nil), 404, tideline.CodeNotFound)
}
