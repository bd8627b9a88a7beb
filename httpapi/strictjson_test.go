package httpapi_test

import (
	"fmt"
	"maps"
	"slices"
	"strings"
	"testing"

	"github.com/tideline-dev/tideline"
)

// TestStrictJSON: request bodies are read one way only (finding 13 of issue 15): data after
// the value, a member twice, a member spelling a declared one in other case, a lone
// surrogate escape and an out-of-range number are refused with a 400 that says what is
// wrong in the API's words, never Go's; what the strict rules leave alone still works.
func TestStrictJSON(t *testing.T) {
	a := newAPI(t, nil)
	ada := a.signUp("ada@example.com").AccessToken
	const put = `{"id":1,"collection":"todos","docId":"a","op":"put","fields":{"title":"x"}}`
	for _, tt := range []struct {
		name, method, path, body string
		field                    string // the member the problem names
	}{
		{"TrailingGarbage", "POST", "/v1/sync/push", `{"clientId":"c","mutations":[` + put + `]} xyz`, "body"},
		{"TwoValues", "POST", "/v1/sync/pull", `{"limit":10}{}`, "body"},
		{"TrailingComma", "POST", "/v1/sync/pull", `{"limit":10},`, "body"},
		{"DuplicateMember", "POST", "/v1/sync/pull", `{"limit":10,"limit":20}`, "limit"},
		{"DuplicateFieldInDocument", "POST", "/v1/sync/push", `{"clientId":"c","mutations":[{"id":1,"collection":"todos","docId":"a","op":"put","fields":{"t":1,"t":2}}]}`, "mutations.0.fields.t"},
		{"CaseVariantOfDeclared", "POST", "/v1/sync/push", `{"clientId":"c","CLIENTID":5,"mutations":[` + put + `]}`, "CLIENTID"},
		{"CaseVariantAlone", "PATCH", "/v1/me", `{"DisplayName":"Mallory"}`, "DisplayName"},
		{"CaseVariantNested", "POST", "/v1/sync/push", `{"clientId":"c","mutations":[{"id":1,"collection":"todos","docId":"a","OP":"delete","op":"put","fields":{}}]}`, "mutations.0.OP"},
		{"LoneHighSurrogate", "POST", "/v1/groups", `{"name":"\ud800"}`, "body"},
		{"LoneLowSurrogate", "POST", "/v1/groups", `{"name":"a\udc00b"}`, "body"},
		{"HighThenText", "POST", "/v1/groups", `{"name":"\ud83dx"}`, "body"},
		{"ReversedPair", "POST", "/v1/groups", `{"name":"\ude00\ud83d"}`, "body"},
		{"SurrogateInDocument", "POST", "/v1/sync/push", `{"clientId":"c","mutations":[{"id":1,"collection":"todos","docId":"a","op":"put","fields":{"t":"\udfff"}}]}`, "body"},
		{"NumberOutOfRange", "POST", "/v1/sync/pull", `{"limit":1e400}`, "limit"},
		{"NULInGroupName", "POST", "/v1/groups", `{"name":"a\u0000b"}`, "name"},
		{"ControlInGroupName", "POST", "/v1/groups", `{"name":"a\u001bb"}`, "name"},
		{"Truncated", "POST", "/v1/sync/pull", `{"limit":`, "body"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			p := checkProblem(t, a.raw(tt.method, tt.path, ada, tt.body), 400, tideline.CodeInvalid)
			if _, ok := p.Fields[tt.field]; !ok {
				t.Fatalf("fields %v, want one about %s (detail %q)", p.Fields, tt.field, p.Detail)
			}
			for _, goWords := range []string{"Go ", "json:", "json.", "struct", "unmarshal"} {
				if strings.Contains(p.Detail, goWords) || strings.Contains(strings.Join(slices.Collect(maps.Values(p.Fields)), " "), goWords) {
					t.Fatalf("the problem speaks Go (%q): %+v", goWords, p)
				}
			}
		})
	}
	// Left alone: names that differ in case inside a document (two fields), a surrogate
	// pair, escaped quotes and backslashes, white space after the value.
	rec := a.raw("POST", "/v1/sync/push", ada, `{"clientId":"c","mutations":[{"id":1,"collection":"todos","docId":"a","op":"put",
		"fields":{"Title":"a","title":"b","emoji":"\ud83d\ude00","q":"say \"\\u0041\" \\"}}]}`+" \n\t")
	if rec.Code != 200 || !strings.Contains(rec.Body.String(), `"applied"`) {
		t.Fatalf("a strict-clean body: %d %s", rec.Code, rec.Body)
	}
	if rec := a.raw("POST", "/v1/groups", ada, `{"name":"Caf\u00e9 \ud83d\ude00"}`); rec.Code != 201 || !strings.Contains(rec.Body.String(), "Café 😀") {
		t.Fatalf("a group name with escapes: %d %s", rec.Code, rec.Body)
	}
	// Unauthenticated hostile bodies are refused as unauthenticated, before any parsing.
	checkProblem(t, a.raw("POST", "/v1/sync/pull", "", `{"limit":10}{}`), 401, tideline.CodeUnauthenticated)
}

// TestPullSubscriptionCapOverHTTP: a pull naming more than 100 collections is a 400 that
// names the field, however many it names (40,000 once got a 500).
func TestPullSubscriptionCapOverHTTP(t *testing.T) {
	a := newAPI(t, nil)
	ada := a.signUp("ada@example.com").AccessToken
	for _, n := range []int{101, 40_000} {
		names := make([]string, n)
		for i := range names {
			names[i] = fmt.Sprintf("c%d", i)
		}
		p := checkProblem(t, a.call("POST", "/v1/sync/pull", ada, map[string]any{"collections": names}), 400, tideline.CodeInvalid)
		if _, ok := p.Fields["collections"]; !ok {
			t.Fatalf("%d collections: %+v", n, p)
		}
	}
	checkProblem(t, a.call("POST", "/v1/sync/pull", "", map[string]any{"collections": []string{"a"}}), 401, tideline.CodeUnauthenticated)
}
