package console_test

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"image"
	"image/color"
	"image/png"
	"net/http"
	"strings"
	"testing"

	"github.com/tideline-dev/tideline"
	"github.com/tideline-dev/tideline/app"
	"github.com/tideline-dev/tideline/auth"
	"github.com/tideline-dev/tideline/files"
)

// pngOf is a small PNG image.
func pngOf(t *testing.T) []byte {
	t.Helper()
	img := image.NewRGBA(image.Rect(0, 0, 8, 6))
	for i := range img.Pix {
		img.Pix[i] = byte(i * 13)
	}
	img.Set(0, 0, color.RGBA{255, 0, 0, 255})
	var b bytes.Buffer
	if err := png.Encode(&b, img); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// upload stores data as the user's file, through the files service.
func (e *env) upload(u auth.Result, name, contentType string, data []byte) files.File {
	e.t.Helper()
	sum := sha256.Sum256(data)
	c := files.Caller{UserID: u.User.ID}
	up, err := e.app.Files.StartUpload(e.t.Context(), c, files.UploadRequest{Size: int64(len(data)), Name: name, ContentType: contentType, SHA256: hex.EncodeToString(sum[:])})
	if err != nil {
		e.t.Fatal(err)
	}
	if _, err := e.app.Files.Write(e.t.Context(), up, 0, bytes.NewReader(data)); err != nil {
		e.t.Fatal(err)
	}
	f, err := e.app.Files.Finish(e.t.Context(), up)
	if err != nil {
		e.t.Fatal(err)
	}
	return f
}

// TestDataDocumentAttachments: a document's page lists the files its fields refer to
// (name, type, size, a link), with a preview of images but not of SVG, and says which are
// gone; the link serves the file to the admin alone; a user's page shows their storage
// against the quota.
func TestDataDocumentAttachments(t *testing.T) {
	t.Parallel()
	e := newEnv(t, func(c *app.Config) { withCollections(c); c.Files.QuotaBytes = 1 << 20 })
	b := e.adminBrowser()
	ada := e.user("ada@example.com")
	pic := pngOf(t)
	photo := e.upload(ada, "valve <1>.png", "image/png", pic)
	svg := e.upload(ada, "logo.svg", "image/svg+xml", []byte(`<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>`))
	gone := tideline.NewID()
	e.write(ada, "phone", 1, "lists", map[string]map[string]any{"trip": {
		"photos": []any{map[string]any{"_file": photo.ID, "name": "valve.png"}},
		"logo":   map[string]any{"_file": svg.ID}, "old": map[string]any{"_file": gone}}})
	p := b.get(docPath("lists", "", "trip"))
	for _, want := range []string{
		`<h2 id="files-h">Attachments</h2>`,
		`<img class="preview" src="/console/data/file?id=` + photo.ID + `" alt="valve &lt;1&gt;.png"`,
		`class="file-link">valve &lt;1&gt;.png</a> <small>image/png, `,
		`class="file-link">logo.svg</a> <small>image/svg&#43;xml, `,
		`<code>` + gone + `</code> <small>deleted: the reference downloads nothing</small>`,
	} {
		if !p.has(want) {
			t.Errorf("document page lacks %q", want)
		}
	}
	if strings.Contains(p.body, `src="/console/data/file?id=`+svg.ID) {
		t.Error("an SVG is previewed")
	}
	if t.Failed() {
		t.Log(p.body)
	}
	f := b.get("/console/data/file?id=" + photo.ID)
	if f.status != 200 || f.body != string(pic) || f.header.Get("Content-Type") != "image/png" || f.header.Get("ETag") != `"`+photo.SHA256+`"` {
		t.Fatalf("the file for the admin: %d %v", f.status, f.header)
	}
	if s := b.get("/console/data/file?id=" + svg.ID); s.status != 200 || !strings.Contains(s.header.Get("Content-Security-Policy"), "sandbox") ||
		!strings.HasPrefix(s.header.Get("Content-Disposition"), "attachment") {
		t.Fatalf("an SVG must come as a sandboxed attachment: %d %v", s.status, s.header)
	}
	for _, id := range []string{gone, "nope", "../../tideline.db", ""} {
		if p := b.get("/console/data/file?id=" + id); p.status != http.StatusNotFound {
			t.Errorf("file %q: %d", id, p.status)
		}
	}
	// Not signed in: the sign-in page, not the file.
	if p := e.browser().get("/console/data/file?id=" + photo.ID); p.status == 200 || p.has(string(pic)) {
		t.Fatalf("a stranger got the file: %d", p.status)
	}
	// A user who is not an admin, signed in to the console: refused.
	e.user("bob@example.com")
	bob := e.browser()
	if p := bob.signIn("bob@example.com", password); p.status == http.StatusSeeOther && strings.HasSuffix(p.loc, "/console") {
		t.Fatalf("bob, no admin, signed in to the console")
	}
	if p := bob.get("/console/data/file?id=" + photo.ID); p.status == 200 {
		t.Fatalf("a user who is not an admin got the file: %d", p.status)
	}

	u := b.get("/console/users/" + ada.User.ID)
	used := photo.Size + svg.Size
	if !u.has(`<h2 id="storage-h">Storage</h2>`) || !u.has(`of the quota of 1.0 MiB <progress max="1048576" value="`) ||
		!u.has(fmt.Sprintf("%d bytes of files", used)) || used >= 1024 {
		t.Errorf("the user's storage (%d bytes used):\n%s", used, u.body)
	}
}
