package main

import (
	"bytes"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"image"
	"image/color"
	"image/png"
	"net/http"
	"strconv"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"
)

// tusUpload uploads data as the user's file through the tus API, in two requests as a
// client does, and returns the file's id.
func tusUpload(t *testing.T, base, token, name, contentType string, data []byte) string {
	t.Helper()
	sum := sha256.Sum256(data)
	meta := "sha256 " + base64.StdEncoding.EncodeToString([]byte(hex.EncodeToString(sum[:]))) +
		",filename " + base64.StdEncoding.EncodeToString([]byte(name)) + ",filetype " + base64.StdEncoding.EncodeToString([]byte(contentType))
	req, _ := http.NewRequestWithContext(t.Context(), "POST", base+"/v1/files/uploads", nil)
	req.Header.Set("Authorization", "Bearer "+token)
	req.Header.Set("Tus-Resumable", "1.0.0")
	req.Header.Set("Upload-Length", strconv.Itoa(len(data)))
	req.Header.Set("Upload-Metadata", meta)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	loc := resp.Header.Get("Location")
	if resp.StatusCode != 201 || loc == "" {
		t.Fatalf("create upload: %d %q", resp.StatusCode, loc)
	}
	if strings.HasPrefix(loc, "/") {
		loc = base + loc
	}
	req, _ = http.NewRequestWithContext(t.Context(), "PATCH", loc, bytes.NewReader(data))
	req.Header.Set("Authorization", "Bearer "+token)
	req.Header.Set("Tus-Resumable", "1.0.0")
	req.Header.Set("Upload-Offset", "0")
	req.Header.Set("Content-Type", "application/offset+octet-stream")
	if resp, err = http.DefaultClient.Do(req); err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 204 {
		t.Fatalf("upload: %d", resp.StatusCode)
	}
	return loc[strings.LastIndex(loc, "/")+1:]
}

// TestConsoleAttachmentsInBrowser: in headless Chromium, a document's page shows the photo
// it refers to (the preview loads: the console's CSP lets it, and the file route serves
// it to the signed-in admin), and the user's page their storage against the quota.
func TestConsoleAttachmentsInBrowser(t *testing.T) {
	chrome := chromium(t)
	admin := "ops@example.com"
	env := syncEnv(t, "sqlite", "", "", "TIDELINE_ADMIN_EMAIL="+admin, "TIDELINE_ADMIN_PASSWORD=another admin passphrase",
		"TIDELINE_FILES_QUOTA_BYTES=1MiB")
	p := startAPI(t, env, "--addr", "127.0.0.1:0")
	base := p.waitFor("tideline listening")["addr"].(string)
	ada := signUp(t, base, "ada@example.com")
	img := image.NewRGBA(image.Rect(0, 0, 40, 30))
	for x := range 40 {
		for y := range 30 {
			img.Set(x, y, color.RGBA{uint8(x * 6), uint8(y * 8), 200, 255})
		}
	}
	var pic bytes.Buffer
	if err := png.Encode(&pic, img); err != nil {
		t.Fatal(err)
	}
	id := tusUpload(t, base, ada.token, "valve.png", "image/png", pic.Bytes())
	status, body := callJSON(t, "POST", base+"/v1/sync/push", ada.token, map[string]any{"clientId": "ada-phone", "mutations": []any{
		map[string]any{"id": 1, "collection": "notes", "docId": "n1", "op": "put", "fields": map[string]any{
			"title": "Broken valve", "photo": map[string]any{"_file": id, "name": "valve.png"}}}}})
	if status != 200 {
		t.Fatalf("push: %d %v", status, body)
	}

	b := newTab(t, chrome)
	b.do(chromedp.Navigate(base + "/console"))
	b.waitFor(`location.pathname === "/console/signin" && document.activeElement.id === "email"`, "the sign-in page")
	b.do(chromedp.KeyEvent(admin), chromedp.KeyEvent(kb.Tab))
	b.waitFor(`document.activeElement.id === "password"`, "Tab to move to the password")
	b.do(chromedp.KeyEvent("another admin passphrase"), chromedp.KeyEvent(kb.Enter))
	b.waitFor(`location.pathname === "/console"`, "the overview after signing in")
	b.do(chromedp.Navigate(base + "/console/data/document?collection=notes&id=n1&scope=" + ada.id))
	b.waitFor(`(() => { const i = document.querySelector("img.preview"); return i && i.complete && i.naturalWidth === 40 && i.naturalHeight === 30 })()`,
		"the photo's preview, loaded")
	if text := evalJS[string](b, `document.querySelector("ul.attachments").textContent`); !strings.Contains(text, "valve.png") || !strings.Contains(text, "image/png") {
		t.Fatalf("the attachment: %q", text)
	}
	b.shot("23-data-attachments", "a document's attachments: the photo's preview, name, type and size")
	b.do(chromedp.Navigate(base + "/console/users/" + ada.id))
	b.waitFor(`document.querySelector("p.storage") && document.querySelector("p.storage").textContent.includes("of the quota of 1.0 MiB")`, "the user's storage")
	b.shot("24-user-storage", "a user's storage against the quota")
	b.checkConsole()
}
