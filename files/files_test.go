package files_test

import (
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/tideline-dev/tideline/files"
)

func TestRefers(t *testing.T) {
	t.Parallel()
	id := "01a2518c-9e3e-7426-a4c4-2232337abacb"
	for name, c := range map[string]struct {
		fields map[string]any
		want   bool
	}{
		"TopLevel":   {map[string]any{"photo": map[string]any{"_file": id}}, true},
		"InAList":    {map[string]any{"photos": []any{"x", map[string]any{"_file": "other"}, map[string]any{"_file": id}}}, true},
		"Deep":       {map[string]any{"a": map[string]any{"b": []any{[]any{map[string]any{"c": map[string]any{"_file": id}}}}}}, true},
		"OtherFile":  {map[string]any{"photo": map[string]any{"_file": "other"}}, false},
		"IDAsValue":  {map[string]any{"note": id, "photo": map[string]any{"file": id}}, false},
		"NotAString": {map[string]any{"photo": map[string]any{"_file": []any{id}}}, false},
		"Empty":      {nil, false},
	} {
		t.Run(name, func(t *testing.T) {
			if got := files.Refers(c.fields, id); got != c.want {
				t.Fatalf("Refers = %v, want %v", got, c.want)
			}
		})
	}
}

// TestServeDisposition: what a browser could run (HTML, SVG) is an attachment; images are
// inline; every file is sandboxed.
func TestServeDisposition(t *testing.T) {
	t.Parallel()
	for contentType, want := range map[string]string{
		"image/jpeg":               "inline",
		"application/pdf":          "inline",
		"video/mp4":                "inline",
		"text/html; charset=utf-8": "attachment",
		"image/svg+xml":            "attachment",
		"application/javascript":   "attachment",
		"application/octet-stream": "attachment",
	} {
		rec := httptest.NewRecorder()
		f := files.File{Name: "x \"y\".bin", ContentType: contentType, SHA256: strings.Repeat("ab", 32), Size: 5, CreatedAt: time.Unix(0, 0)}
		files.Serve(rec, httptest.NewRequest("GET", "/", nil), f, strings.NewReader("hello"))
		h := rec.Header()
		if !strings.HasPrefix(h.Get("Content-Disposition"), want+";") || !strings.Contains(h.Get("Content-Security-Policy"), "sandbox") ||
			h.Get("X-Content-Type-Options") != "nosniff" || rec.Body.String() != "hello" {
			t.Errorf("%s: %d %v", contentType, rec.Code, h)
		}
	}
}
