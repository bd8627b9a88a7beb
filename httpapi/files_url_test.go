package httpapi_test

import (
	"bytes"
	"fmt"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/tideline-dev/tideline"
	"github.com/tideline-dev/tideline/app"
)

type fileURL struct {
	URL       string    `json:"url"`
	ExpiresAt time.Time `json:"expiresAt"`
}

// anonymous sends a request with no credentials.
func (a *apiTest) anonymous(method, path string, headers ...string) *httptest.ResponseRecorder {
	a.t.Helper()
	r := httptest.NewRequest(method, path, nil)
	for i := 0; i < len(headers); i += 2 {
		r.Header.Set(headers[i], headers[i+1])
	}
	return a.do(r)
}

// TestSignedDownloadURL: a signed URL, granted on the terms of a download, downloads the
// file with no credentials (Range, ETag) until it expires; forged, tampered and expired
// URLs are refused (403, saying which), malformed ones are 400, and one for a file
// deleted since is 404.
func TestSignedDownloadURL(t *testing.T) {
	t.Parallel()
	a := newAPI(t, func(c *app.Config) {
		c.Sync.Collections = append(c.Sync.Collections, sharedDocs)
		c.Files.URLTTL = 10 * time.Minute
	})
	ada, bob, carol := a.signUp("ada@example.com").AccessToken, a.signUp("bob@example.com").AccessToken, a.signUp("carol@example.com").AccessToken
	data := content(200_000, 7)
	up := a.startUpload(ada, data, "")
	if rec := a.patchUpload(ada, up, 0, data); rec.Code != 204 {
		t.Fatalf("upload: %d %s", rec.Code, rec.Body)
	}
	id := fileID(up)
	other := a.startUpload(ada, content(10, 8), "")
	if rec := a.patchUpload(ada, other, 0, content(10, 8)); rec.Code != 204 {
		t.Fatalf("upload: %d %s", rec.Code, rec.Body)
	}
	ref := fmt.Sprintf(`{"_file":%q}`, id)
	a.pushOK(ada, `{"id":1,"collection":"albums","docId":"a1","op":"put","fields":{"photo":`+ref+`,"_acl":{"read":["user:`+a.userID(bob)+`"]}}}`)

	sign := func(token, query string) fileURL {
		t.Helper()
		return decode[fileURL](t, a.raw("POST", "/v1/files/"+id+"/url"+query, token, ""), 200)
	}
	mine := sign(ada, "")
	if want := a.app.Clock.Now().Add(10 * time.Minute).Truncate(time.Second); !mine.ExpiresAt.Equal(want) {
		t.Fatalf("expiresAt %v, want %v", mine.ExpiresAt, want)
	}
	if !strings.HasPrefix(mine.URL, "/v1/files/"+id+"/content?") {
		t.Fatalf("url %q", mine.URL)
	}
	rec := a.anonymous("GET", mine.URL)
	if rec.Code != 200 || !bytes.Equal(rec.Body.Bytes(), data) || rec.Header().Get("ETag") != `"`+hexSHA(data)+`"` ||
		!strings.Contains(rec.Header().Get("Content-Security-Policy"), "sandbox") {
		t.Fatalf("download by the signed URL: %d %v", rec.Code, rec.Header())
	}
	if rec := a.anonymous("GET", mine.URL, "Range", "bytes=100-199"); rec.Code != 206 || !bytes.Equal(rec.Body.Bytes(), data[100:200]) {
		t.Fatalf("Range: %d", rec.Code)
	}
	if rec := a.anonymous("GET", mine.URL, "If-None-Match", `"`+hexSHA(data)+`"`); rec.Code != 304 {
		t.Fatalf("If-None-Match: %d", rec.Code)
	}

	// Bob gets one through the shared document; Carol, and Bob without the document, do not.
	bobs := sign(bob, "?collection=albums&doc=a1")
	if rec := a.anonymous("GET", bobs.URL); rec.Code != 200 || !bytes.Equal(rec.Body.Bytes(), data) {
		t.Fatalf("bob's signed URL: %d", rec.Code)
	}
	checkProblem(t, a.raw("POST", "/v1/files/"+id+"/url?collection=albums&doc=a1", carol, ""), 404, tideline.CodeNotFound)
	checkProblem(t, a.raw("POST", "/v1/files/"+id+"/url", bob, ""), 404, tideline.CodeNotFound)
	checkProblem(t, a.raw("POST", "/v1/files/"+id+"/url?collection=albums", bob, ""), 400, tideline.CodeInvalid)
	checkProblem(t, a.raw("POST", "/v1/files/not-an-id/url", ada, ""), 404, tideline.CodeNotFound)
	checkProblem(t, a.anonymous("POST", "/v1/files/"+id+"/url"), 401, tideline.CodeUnauthenticated)

	// Hostile URLs.
	u, err := url.Parse(mine.URL)
	if err != nil {
		t.Fatal(err)
	}
	q := u.Query()
	sig, expires := q.Get("sig"), q.Get("expires")
	exp, _ := strconv.ParseInt(expires, 10, 64)
	flip := []byte(sig)
	flip[3] ^= 1
	withQuery := func(fid, e, s string) string {
		return "/v1/files/" + fid + "/content?" + url.Values{"expires": {e}, "sig": {s}}.Encode()
	}
	for name, path := range map[string]string{
		"TamperedSignature": withQuery(id, expires, string(flip)),
		"LaterExpiry":       withQuery(id, strconv.FormatInt(exp+3600, 10), sig),
		"AnotherFile":       withQuery(fileID(other), expires, sig),
		"Forged":            withQuery(id, expires, "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"),
		"EmptySignature":    withQuery(id, expires, ""),
		"NotAnID":           withQuery("not-a-file-id", expires, sig),
		"NegativeExpiry":    withQuery(id, "-1", sig),
	} {
		t.Run(name, func(t *testing.T) {
			p := checkProblem(t, a.anonymous("GET", path), 403, tideline.CodeForbidden)
			if !strings.Contains(p.Detail, "not valid") {
				t.Fatalf("detail %q, want it to say the link is not valid", p.Detail)
			}
		})
	}
	for name, path := range map[string]string{
		"NoSignature":      "/v1/files/" + id + "/content?expires=" + expires,
		"NoExpiry":         "/v1/files/" + id + "/content?sig=" + sig,
		"ExpiryNotANumber": withQuery(id, "soon", sig),
		"SignatureTooLong": withQuery(id, expires, strings.Repeat("A", 200)),
	} {
		t.Run(name, func(t *testing.T) {
			checkProblem(t, a.anonymous("GET", path), 400, tideline.CodeInvalid)
		})
	}
	// A bearer token adds nothing to a bad link.
	checkProblem(t, a.download(ada, withQuery(id, expires, string(flip))), 403, tideline.CodeForbidden)

	// Expiry: valid up to the second before, refused from then on, saying so.
	a.app.Clock.Set(mine.ExpiresAt.Add(-time.Second))
	if rec := a.anonymous("GET", mine.URL); rec.Code != 200 {
		t.Fatalf("a second before expiry: %d", rec.Code)
	}
	a.app.Clock.Set(mine.ExpiresAt)
	p := checkProblem(t, a.anonymous("GET", mine.URL), 403, tideline.CodeForbidden)
	if !strings.Contains(p.Detail, "expired") {
		t.Fatalf("detail %q, want it to say the link expired", p.Detail)
	}
}

// TestSignedURLOfDeletedFile: a valid URL for a file deleted since is 404.
func TestSignedURLOfDeletedFile(t *testing.T) {
	t.Parallel()
	a := newAPI(t, nil)
	ada := a.signUp("ada@example.com").AccessToken
	data := content(1000, 3)
	up := a.startUpload(ada, data, "")
	if rec := a.patchUpload(ada, up, 0, data); rec.Code != 204 {
		t.Fatalf("upload: %d %s", rec.Code, rec.Body)
	}
	u := decode[fileURL](t, a.raw("POST", "/v1/files/"+fileID(up)+"/url", ada, ""), 200)
	if rec := a.call("DELETE", "/v1/me", ada, nil); rec.Code != 204 {
		t.Fatalf("delete the account: %d %s", rec.Code, rec.Body)
	}
	checkProblem(t, a.anonymous("GET", u.URL), 404, tideline.CodeNotFound)
}
