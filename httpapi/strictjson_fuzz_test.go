package httpapi

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"testing"

	"github.com/tideline-dev/tideline"
)

// FuzzStrictJSON feeds the request body checks (checkJSONText, then checkJSONStrict with
// the push request's schema). Nothing may panic, every refusal is invalid, and what they
// accept is one valid JSON value and nothing after it.
func FuzzStrictJSON(f *testing.F) {
	doc, err := loadSpec(context.Background(), tideline.OpenAPI)
	if err != nil {
		f.Fatal(err)
	}
	schema := doc.Paths.Find("/v1/sync/push").Post.RequestBody.Value.Content.Get("application/json").Schema.Value
	for _, seed := range []string{
		`{"clientId":"c","mutations":[{"id":1,"collection":"todos","docId":"a","op":"put","fields":{"t":"\ud83d\ude00","T":1}}]}`,
		`{"clientId":"c","CLIENTID":1}`, `{"a":1,"a":2}`, `{} x`, `"\ud800"`, `[1e400]`, `{"s":"\\\"\u0041"}`, ``, `{`,
	} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		err := checkJSONText(body)
		if err == nil {
			err = checkJSONStrict(body, schema)
		}
		if err != nil {
			if tideline.ErrorCode(err) != tideline.CodeInvalid {
				t.Fatalf("refused %q with %v, want invalid", body, err)
			}
			return
		}
		if !json.Valid(body) {
			t.Fatalf("accepted %q, which is not valid JSON", body)
		}
		dec := json.NewDecoder(bytes.NewReader(body))
		var v any
		if err := dec.Decode(&v); err != nil {
			t.Fatalf("accepted %q, which does not decode: %v", body, err)
		}
		if _, err := dec.Token(); err != io.EOF {
			t.Fatalf("accepted %q, which has more after its value", body)
		}
	})
}
