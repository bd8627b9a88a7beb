package sync

import (
	"bytes"
	"encoding/json"
	"reflect"
	"testing"
	"time"

	"github.com/tideline-dev/tideline"
)

// FuzzDecodeCursor feeds the cursor decoder what a client may send: raw strings, and
// bodies signed with the server's key (as if the key had leaked, or the server had a bug),
// so that the JSON behind the signature is fuzzed too. Whatever it is given, a decoded
// cursor must survive what a pull does with it (subscribe, reconcile, fold, encode) and
// come back as the same cursor; nothing may panic.
func FuzzDecodeCursor(f *testing.F) {
	s := &Service{cursorKey: []byte("fuzz key")}
	valid, _ := s.encodeCursor(cursor{User: "alice", Tracks: []track{{All: true, Positions: map[string]int64{"user:alice": 3, "public": 9}}},
		Resetting: []string{"public"}})
	f.Add(valid, []byte(nil))
	f.Add("", []byte(`{"v":1,"u":"alice","t":[{"n":["a","b"],"p":{"user:alice":1}},{"a":true,"n":["a"],"p":{}}]}`))
	f.Add("x.y", []byte(`{"v":1,"u":"alice","t":null}`))
	f.Add("eyJ2IjoxfQ.", []byte(`{"v":1,"u":"alice","t":[{"p":{"group:g":-5}}],"r":["group:g","group:g"]}`))
	f.Fuzz(func(t *testing.T, raw string, body []byte) {
		if len(body) > 0 {
			raw = s.signCursor0(body)
		}
		c, err := s.decodeCursor(raw, "alice")
		if err != nil {
			if tideline.ErrorCode(err) != CodeInvalidCursor {
				t.Fatalf("decode %q: %v, want invalid_cursor", raw, err)
			}
			return
		}
		if raw != "" && len(raw) > MaxCursorBytes {
			t.Fatalf("accepted a cursor of %d bytes", len(raw))
		}
		for _, want := range []collSet{{all: true}, setOf([]string{"a"}), setOf([]string{"b", "c"})} {
			cur := c.clone()
			cur.subscribe(want)
			reconcileBuckets(&cur, []string{"user:alice", "group:g", "public"}, 2)
			cur.merge()
			enc, err := s.encodeCursor(cur)
			if err != nil {
				if tideline.ErrorCode(err) != tideline.CodeTooLarge {
					t.Fatalf("encode: %v", err)
				}
				continue
			}
			back, err := s.decodeCursor(enc, "alice")
			if err != nil {
				t.Fatalf("the server refused its own cursor %q: %v", enc, err)
			}
			back.Version = cur.Version
			again, _ := s.encodeCursor(back)
			if again != enc {
				t.Fatalf("a cursor does not come back the same:\n%s\n%s", enc, again)
			}
			folded := cur.clone()
			folded.fold()
			if _, err := s.encodeCursor(folded); err != nil && tideline.ErrorCode(err) != tideline.CodeTooLarge {
				t.Fatalf("encode folded: %v", err)
			}
		}
	})
}

// signCursor0 signs body as encodeCursor signs a cursor's JSON.
func (s *Service) signCursor0(body []byte) string {
	var c cursor
	if json.Unmarshal(body, &c) != nil {
		return s.signCursor(cursor{Version: -1}) // a signed cursor of no known version
	}
	return s.signCursor(c)
}

// fuzzMutation is the wire form of a mutation (openapi.yaml's Mutation), decoded as the
// HTTP layer decodes it: numbers stay json.Number.
type fuzzMutation struct {
	ID         int64          `json:"id"`
	Collection string         `json:"collection"`
	DocID      string         `json:"docId"`
	Op         string         `json:"op"`
	Fields     map[string]any `json:"fields"`
	Ops        map[string]struct {
		Inc    *json.Number `json:"inc"`
		Max    *json.Number `json:"max"`
		Min    *json.Number `json:"min"`
		Add    []any        `json:"add"`
		Remove []any        `json:"remove"`
	} `json:"ops"`
	HLC         string `json:"hlc"`
	BaseVersion *int64 `json:"baseVersion"`
}

func (w fuzzMutation) mutation() Mutation {
	m := Mutation{ID: w.ID, Collection: w.Collection, DocID: w.DocID, Op: w.Op, Fields: w.Fields, HLC: w.HLC, BaseVersion: w.BaseVersion}
	num := func(n *json.Number) any {
		if n == nil {
			return nil
		}
		return *n
	}
	if w.Ops != nil {
		m.Ops = map[string]FieldOp{}
		for name, op := range w.Ops {
			m.Ops[name] = FieldOp{Inc: num(op.Inc), Max: num(op.Max), Min: num(op.Min), Add: op.Add, Remove: op.Remove}
		}
	}
	return m
}

// FuzzMutation feeds the mutation decoder (a pushed mutation's JSON, decoded as the HTTP
// layer does, then checked and normalised by prepare) and applies what it accepts to an
// empty document and to one with every kind of field. Nothing may panic; an accepted
// mutation's result must encode as JSON, and applying it is deterministic.
func FuzzMutation(f *testing.F) {
	clock := tideline.NewManualClock(time.Date(2026, 5, 1, 9, 0, 0, 0, time.UTC))
	s := &Service{cfg: Config{MaxClockSkew: time.Minute}, clock: clock, fixed: map[string]Collection{}}
	s.hlc = &hlcClock{clock: clock, maxSkew: time.Minute}
	all := map[string]Collection{
		"lists": {Name: "lists", Read: OwnerShared, Policy: LWW, MaxDocBytes: DefaultMaxDocBytes},
		"posts": {Name: "posts", Read: PublicRead, Policy: ServerWins, MaxDocBytes: DefaultMaxDocBytes},
	}
	for _, seed := range []string{
		`{"id":1,"collection":"todos","docId":"t1","op":"put","fields":{"title":"Buy milk","done":false,"n":9007199254740993}}`,
		`{"id":2,"collection":"todos","docId":"t1","op":"patch","fields":{"done":true,"gone":null},"ops":{"count":{"inc":1},"tags":{"add":["home",1,true]}},"hlc":"1777626000000-00000-ios-5f3a9c","baseVersion":3}`,
		`{"id":3,"collection":"todos","docId":"t2","op":"delete"}`,
		`{"id":4,"collection":"lists","docId":"trip","op":"patch","fields":{"_acl":{"read":["user:bob","group:g1"],"write":["role:editor"]}}}`,
		`{"id":5,"collection":"posts","docId":"p","op":"patch","ops":{"score":{"max":1.5e300},"low":{"min":-1},"set":{"remove":["a"]}},"baseVersion":0}`,
		`{"id":6,"collection":"todos","docId":"x","op":"put","fields":{"$where":1,"a.b":2,"_id":3,"nested":{"deep":[1,[2,{"x":null}]]}}}`,
		`{"id":7,"collection":"todos","docId":"x","op":"patch","ops":{"c":{"inc":1,"max":2}},"hlc":"9999999999999-99999-z"}`,
	} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		dec := json.NewDecoder(bytes.NewReader(body))
		dec.UseNumber()
		var w fuzzMutation
		if dec.Decode(&w) != nil {
			return
		}
		m := w.mutation()
		p, rej := s.prepare(0, m, "alice", "phone", all)
		if rej != nil {
			if rej.code == "" || rej.msg == "" {
				t.Fatalf("a rejection without code or message: %+v", rej)
			}
			return
		}
		existing := map[string]any{"title": "x", "count": int64(2), "tags": []any{"a", int64(1)}, "score": 1.5, "_acl": map[string]any{"read": []any{"user:bob"}}}
		for _, fields := range []map[string]any{{}, existing} {
			results := make([]map[string]any, 2)
			for i := range results {
				st := newState(cloneFields(fields), Meta{})
				applyMutation(st, p, false)
				next, deleted := st.visible()
				if !deleted {
					if _, err := json.Marshal(next); err != nil {
						t.Fatalf("the document after %s does not encode: %v", body, err)
					}
				}
				_ = checkDocument(next, deleted, p.col, nil)
				results[i] = next
			}
			if !reflect.DeepEqual(results[0], results[1]) {
				t.Fatalf("applying %s twice to the same state gave %v and %v", body, results[0], results[1])
			}
		}
	})
}

func cloneFields(m map[string]any) map[string]any {
	out := make(map[string]any, len(m))
	for k, v := range m {
		out[k] = v
	}
	return out
}
