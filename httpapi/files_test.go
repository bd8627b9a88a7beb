package httpapi_test

import (
	"bufio"
	"bytes"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/tideline-dev/tideline"
	"github.com/tideline-dev/tideline/app"
	"github.com/tideline-dev/tideline/app/apptest"
	"github.com/tideline-dev/tideline/store/enginetest"
	datasync "github.com/tideline-dev/tideline/sync"
)

// content is n bytes of a pattern that depends on seed.
func content(n int, seed byte) []byte {
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(i*31) ^ seed
	}
	return b
}

func hexSHA(b []byte) string {
	s := sha256.Sum256(b)
	return hex.EncodeToString(s[:])
}

// tusMeta is an Upload-Metadata header: key base64(value) pairs.
func tusMeta(kv ...string) string {
	var parts []string
	for i := 0; i < len(kv); i += 2 {
		parts = append(parts, kv[i]+" "+base64.StdEncoding.EncodeToString([]byte(kv[i+1])))
	}
	return strings.Join(parts, ",")
}

func (a *apiTest) tus(method, path, token string, body []byte, headers ...string) *httptest.ResponseRecorder {
	a.t.Helper()
	r := httptest.NewRequest(method, path, bytes.NewReader(body))
	if token != "" {
		r.Header.Set("Authorization", "Bearer "+token)
	}
	r.Header.Set("Tus-Resumable", "1.0.0")
	if body != nil {
		r.Header.Set("Content-Type", "application/offset+octet-stream")
	}
	for i := 0; i < len(headers); i += 2 {
		r.Header.Set(headers[i], headers[i+1])
	}
	return a.do(r)
}

// startUpload creates an upload of data declared with its hash (or sum, when given) and
// returns its path.
func (a *apiTest) startUpload(token string, data []byte, sum string) string {
	a.t.Helper()
	if sum == "" {
		sum = hexSHA(data)
	}
	rec := a.tus("POST", "/v1/files/uploads", token, nil, "Upload-Length", strconv.Itoa(len(data)),
		"Upload-Metadata", tusMeta("sha256", sum, "filename", "cat.jpg", "filetype", "image/jpeg"))
	if rec.Code != http.StatusCreated {
		a.t.Fatalf("create upload: %d %s", rec.Code, rec.Body)
	}
	loc := rec.Header().Get("Location")
	i := strings.Index(loc, "/v1/files/uploads/")
	if i < 0 || !tideline.ValidID(loc[i+len("/v1/files/uploads/"):]) {
		a.t.Fatalf("Location %q", loc)
	}
	return loc[i:]
}

func (a *apiTest) patchUpload(token, path string, offset int, body []byte) *httptest.ResponseRecorder {
	a.t.Helper()
	return a.tus("PATCH", path, token, body, "Upload-Offset", strconv.Itoa(offset))
}

func fileID(path string) string { return path[strings.LastIndex(path, "/")+1:] }

func (a *apiTest) download(token, path string, headers ...string) *httptest.ResponseRecorder {
	a.t.Helper()
	r := httptest.NewRequest("GET", path, nil)
	r.Header.Set("Authorization", "Bearer "+token)
	for i := 0; i < len(headers); i += 2 {
		r.Header.Set(headers[i], headers[i+1])
	}
	return a.do(r)
}

// TestFileUploadAndDownload: an upload sent in two parts becomes a file its uploader can
// download whole, by ranges and conditionally; another user downloads it through a shared
// document that refers to it, and not otherwise. On both engines.
func TestFileUploadAndDownload(t *testing.T) {
	t.Parallel()
	for _, engine := range enginetest.Names {
		t.Run(engine, func(t *testing.T) {
			t.Parallel()
			a := newAPIWith(t, apptest.Options{Engine: engine, Config: func(c *app.Config) {
				c.Sync.Collections = append(c.Sync.Collections, sharedDocs)
			}})
			ada, bob, carol := a.signUp("ada@example.com").AccessToken, a.signUp("bob@example.com").AccessToken, a.signUp("carol@example.com").AccessToken
			data := content(700_000, 1) // several parts on MongoDB
			up := a.startUpload(ada, data, "")
			if rec := a.tus("HEAD", up, ada, nil); rec.Code != 200 || rec.Header().Get("Upload-Offset") != "0" || rec.Header().Get("Upload-Length") != "700000" {
				t.Fatalf("HEAD: %d %v", rec.Code, rec.Header())
			}
			if rec := a.patchUpload(ada, up, 0, data[:300_000]); rec.Code != 204 || rec.Header().Get("Upload-Offset") != "300000" {
				t.Fatalf("first PATCH: %d %s", rec.Code, rec.Body)
			}
			checkProblem(t, a.patchUpload(ada, up, 0, data[:10]), 409, tideline.CodeConflict)
			if rec := a.patchUpload(ada, up, 300_000, data[300_000:]); rec.Code != 204 || rec.Header().Get("Upload-Offset") != "700000" {
				t.Fatalf("last PATCH: %d %s", rec.Code, rec.Body)
			}
			id := fileID(up)
			file := "/v1/files/" + id
			rec := a.download(ada, file)
			if rec.Code != 200 || !bytes.Equal(rec.Body.Bytes(), data) {
				t.Fatalf("download: %d, %d bytes", rec.Code, rec.Body.Len())
			}
			etag := `"` + hexSHA(data) + `"`
			h := rec.Header()
			if h.Get("ETag") != etag || h.Get("Content-Type") != "image/jpeg" || h.Get("Content-Disposition") != `inline; filename=cat.jpg` ||
				!strings.Contains(h.Get("Content-Security-Policy"), "sandbox") || h.Get("Accept-Ranges") != "bytes" {
				t.Fatalf("headers %v", h)
			}
			if rec := a.download(ada, file, "If-None-Match", etag); rec.Code != 304 || rec.Body.Len() != 0 {
				t.Fatalf("If-None-Match: %d", rec.Code)
			}
			if rec := a.download(ada, file, "Range", "bytes=500000-500009"); rec.Code != 206 || !bytes.Equal(rec.Body.Bytes(), data[500_000:500_010]) ||
				rec.Header().Get("Content-Range") != "bytes 500000-500009/700000" {
				t.Fatalf("Range: %d %v", rec.Code, rec.Header())
			}
			if rec := a.download(ada, file, "Range", "bytes=699990-", "If-Range", etag); rec.Code != 206 || !bytes.Equal(rec.Body.Bytes(), data[699_990:]) {
				t.Fatalf("If-Range with the ETag: %d", rec.Code)
			}
			if rec := a.download(ada, file, "Range", "bytes=0-9", "If-Range", `"other"`); rec.Code != 200 || rec.Body.Len() != len(data) {
				t.Fatalf("If-Range with another ETag: %d", rec.Code)
			}
			if rec := a.download(ada, file, "Range", "bytes=800000-"); rec.Code != 416 {
				t.Fatalf("a range past the end: %d", rec.Code)
			}
			// The upload is finished: it is no longer an upload.
			if rec := a.tus("HEAD", up, ada, nil); rec.Code != 404 {
				t.Fatalf("HEAD after the end: %d", rec.Code)
			}

			// Bob may not read it, with or without naming a document, until a document he
			// may read refers to it.
			checkProblem(t, a.download(bob, file), 404, tideline.CodeNotFound)
			checkProblem(t, a.download(bob, file+"?collection=albums&doc=a1"), 404, tideline.CodeNotFound)
			ref := fmt.Sprintf(`{"_file":%q,"name":"cat.jpg","size":700000,"contentType":"image/jpeg","sha256":%q}`, id, hexSHA(data))
			a.pushOK(ada, `{"id":1,"collection":"albums","docId":"a1","op":"put","fields":{"title":"cats","photos":[`+ref+`],"_acl":{"read":["user:`+a.userID(bob)+`"]}}}`)
			if rec := a.download(bob, file+"?collection=albums&doc=a1"); rec.Code != 200 || !bytes.Equal(rec.Body.Bytes(), data) {
				t.Fatalf("bob through the shared album: %d", rec.Code)
			}
			checkProblem(t, a.download(carol, file+"?collection=albums&doc=a1"), 404, tideline.CodeNotFound)
			// A document Bob may read that does not refer to the file opens nothing.
			a.pushOK(ada, `{"id":2,"collection":"albums","docId":"a2","op":"put","fields":{"title":"dogs","_acl":{"read":["user:`+a.userID(bob)+`"]}}}`)
			checkProblem(t, a.download(bob, file+"?collection=albums&doc=a2"), 404, tideline.CodeNotFound)
			// Once the reference is gone, so is Bob's access.
			a.pushOK(ada, `{"id":3,"collection":"albums","docId":"a1","op":"patch","fields":{"photos":[]}}`)
			checkProblem(t, a.download(bob, file+"?collection=albums&doc=a1"), 404, tideline.CodeNotFound)

			// The same content uploaded again is a second file sharing the stored bytes.
			again := a.startUpload(bob, data, "")
			if rec := a.patchUpload(bob, again, 0, data); rec.Code != 204 {
				t.Fatalf("second upload: %d %s", rec.Code, rec.Body)
			}
			if rec := a.download(bob, "/v1/files/"+fileID(again)); rec.Code != 200 || !bytes.Equal(rec.Body.Bytes(), data) {
				t.Fatalf("the second file: %d", rec.Code)
			}
		})
	}
}

var sharedDocs = datasync.Collection{Name: "albums", Read: datasync.OwnerShared}

func (a *apiTest) pushOK(token, mutation string) {
	a.t.Helper()
	res := decode[pushResult](a.t, a.raw("POST", "/v1/sync/push", token, `{"clientId":"c-`+token[len(token)-8:]+`","mutations":[`+mutation+`]}`), 200)
	if res.Receipts[0].Status != "applied" {
		a.t.Fatalf("push: %+v", res.Receipts[0])
	}
}

func (a *apiTest) userID(token string) string {
	a.t.Helper()
	p, err := a.app.Auth.Authenticate(a.t.Context(), token)
	if err != nil {
		a.t.Fatal(err)
	}
	return p.UserID
}

// TestUploadRefusals: a wrong hash, a file over the size limit and one over the quota are
// refused with problems that say why (and the setting), leaving no upload, file or usage
// behind; another user's upload is not found; hostile headers are refused.
func TestUploadRefusals(t *testing.T) {
	t.Parallel()
	a := newAPI(t, func(c *app.Config) { c.Files.MaxFileBytes, c.Files.QuotaBytes = 10_000, 12_000 })
	ada, bob := a.signUp("ada@example.com").AccessToken, a.signUp("bob@example.com").AccessToken
	store := a.app.Store.Files()
	uploadsDir := filepath.Join(a.app.Config.DataDir, "files", "uploads")
	noUploadFiles := func() {
		t.Helper()
		entries, _ := os.ReadDir(uploadsDir)
		if len(entries) != 0 {
			t.Fatalf("upload bytes left behind: %v", entries)
		}
	}

	t.Run("WrongHash", func(t *testing.T) {
		data := content(5000, 2)
		up := a.startUpload(ada, data, hexSHA(content(5000, 3)))
		p := checkProblem(t, a.patchUpload(ada, up, 0, data), 400, tideline.CodeInvalid)
		if p.Fields["sha256"] == "" {
			t.Fatalf("problem %+v", p)
		}
		if rec := a.tus("HEAD", up, ada, nil); rec.Code != 404 {
			t.Fatalf("the refused upload is still there: %d", rec.Code)
		}
		checkProblem(t, a.download(ada, "/v1/files/"+fileID(up)), 404, tideline.CodeNotFound)
		noUploadFiles()
	})

	t.Run("TooLarge", func(t *testing.T) {
		rec := a.tus("POST", "/v1/files/uploads", ada, nil, "Upload-Length", "10001", "Upload-Metadata", tusMeta("sha256", hexSHA(nil)))
		if p := checkProblem(t, rec, 413, tideline.CodeTooLarge); p.Setting != "files.maxFileBytes" {
			t.Fatalf("problem %+v", p)
		}
		// A body longer than the declared length is refused too.
		up := a.startUpload(ada, content(100, 4), "")
		checkProblem(t, a.patchUpload(ada, up, 0, content(200, 4)), 413, tideline.CodeTooLarge)
	})

	t.Run("Quota", func(t *testing.T) {
		first, second := content(7000, 5), content(6000, 6)
		up1, up2 := a.startUpload(ada, first, ""), a.startUpload(ada, second, "") // each fits alone
		if rec := a.patchUpload(ada, up1, 0, first); rec.Code != 204 {
			t.Fatalf("first: %d %s", rec.Code, rec.Body)
		}
		p := checkProblem(t, a.patchUpload(ada, up2, 0, second), 413, tideline.CodeTooLarge)
		if p.Setting != "files.quotaBytes" || !strings.Contains(p.Detail, "7000 of 12000") {
			t.Fatalf("problem %+v", p)
		}
		if _, err := store.FindUpload(t.Context(), fileID(up2)); tideline.ErrorCode(err) != tideline.CodeNotFound {
			t.Fatalf("the refused upload: %v", err)
		}
		if used, _ := store.Usage(t.Context(), a.userID(ada)); used != 7000 {
			t.Fatalf("usage %d, want 7000", used)
		}
		// A new upload that cannot fit is refused when it starts.
		rec := a.tus("POST", "/v1/files/uploads", ada, nil, "Upload-Length", "6000", "Upload-Metadata", tusMeta("sha256", hexSHA(second)))
		if p := checkProblem(t, rec, 413, tideline.CodeTooLarge); p.Setting != "files.quotaBytes" {
			t.Fatalf("problem %+v", p)
		}
		// Bob's quota is his own.
		if up := a.startUpload(bob, second, ""); a.patchUpload(bob, up, 0, second).Code != 204 {
			t.Fatal("bob's upload")
		}
		noUploadFiles()
	})

	t.Run("OthersUploads", func(t *testing.T) {
		up := a.startUpload(ada, content(100, 7), "")
		if rec := a.tus("HEAD", up, bob, nil); rec.Code != 404 {
			t.Fatalf("bob's HEAD: %d", rec.Code)
		}
		checkProblem(t, a.patchUpload(bob, up, 0, content(100, 7)), 404, tideline.CodeNotFound)
		checkProblem(t, a.tus("DELETE", up, bob, nil), 404, tideline.CodeNotFound)
		if rec := a.tus("DELETE", up, ada, nil); rec.Code != 204 {
			t.Fatalf("ada cancels: %d %s", rec.Code, rec.Body)
		}
		if rec := a.tus("HEAD", up, ada, nil); rec.Code != 404 {
			t.Fatalf("HEAD after cancel: %d", rec.Code)
		}
	})

	t.Run("Hostile", func(t *testing.T) {
		sum := hexSHA(nil)
		for name, c := range map[string]struct {
			headers []string
			status  int
		}{
			"NoMetadata":      {[]string{"Upload-Length", "10"}, 400},
			"HashNotHex":      {[]string{"Upload-Length", "10", "Upload-Metadata", tusMeta("sha256", strings.Repeat("z", 64))}, 400},
			"MetadataNotB64":  {[]string{"Upload-Length", "10", "Upload-Metadata", "sha256 %%%%"}, 400},
			"NameControl":     {[]string{"Upload-Length", "10", "Upload-Metadata", tusMeta("sha256", sum, "filename", "a\x00b")}, 400},
			"NameTooLong":     {[]string{"Upload-Length", "10", "Upload-Metadata", tusMeta("sha256", sum, "filename", strings.Repeat("n", 256))}, 400},
			"BadType":         {[]string{"Upload-Length", "10", "Upload-Metadata", tusMeta("sha256", sum, "filetype", "not a type")}, 400},
			"NegativeLength":  {[]string{"Upload-Length", "-1", "Upload-Metadata", tusMeta("sha256", sum)}, 400},
			"NoLength":        {[]string{"Upload-Metadata", tusMeta("sha256", sum)}, 400},
			"DeferredLength":  {[]string{"Upload-Defer-Length", "1", "Upload-Metadata", tusMeta("sha256", sum)}, 400},
			"HugeLength":      {[]string{"Upload-Length", "99999999999999999999", "Upload-Metadata", tusMeta("sha256", sum)}, 400},
			"WrongTusVersion": {[]string{"Tus-Resumable", "0.2.2", "Upload-Length", "10", "Upload-Metadata", tusMeta("sha256", sum)}, 412},
		} {
			t.Run(name, func(t *testing.T) {
				checkProblem(t, a.tus("POST", "/v1/files/uploads", ada, nil, c.headers...), c.status, "")
			})
		}
		up := a.startUpload(ada, content(100, 8), "")
		r := httptest.NewRequest("PATCH", up, bytes.NewReader(content(100, 8)))
		r.Header.Set("Authorization", "Bearer "+ada)
		r.Header.Set("Tus-Resumable", "1.0.0")
		r.Header.Set("Upload-Offset", "0")
		r.Header.Set("Content-Type", "application/json")
		checkProblem(t, a.do(r), 400, tideline.CodeInvalid) // tusd's answer to a body that is not application/offset+octet-stream
		checkProblem(t, a.patchUpload(ada, up, -5, content(10, 8)), 400, tideline.CodeInvalid)
		checkProblem(t, a.patchUpload(ada, "/v1/files/uploads/..%2f..%2fetc", 0, content(10, 8)), 404, tideline.CodeNotFound)
		checkProblem(t, a.download(ada, "/v1/files/not-an-id"), 404, tideline.CodeNotFound)
		checkProblem(t, a.download(ada, "/v1/files/"+tideline.NewID()+"?collection=albums"), 400, tideline.CodeInvalid)
		checkProblem(t, a.download(ada, "/v1/files/"+tideline.NewID()+"?collection=Bad%20Name&doc=x"), 404, tideline.CodeNotFound)
	})
}

// TestUploadResumesAfterACut: a PATCH whose connection is cut midway keeps what arrived;
// HEAD says where, and the rest sent from there gives the file with the right hash.
func TestUploadResumesAfterACut(t *testing.T) {
	t.Parallel()
	a := newAPI(t, nil)
	srv := httptest.NewServer(a.srv)
	t.Cleanup(srv.Close)
	ada := a.signUp("ada@example.com").AccessToken
	data := content(400_000, 9)
	up := a.startUpload(ada, data, "")

	// Send the headers of the whole body, then 150,000 bytes, then close our side.
	conn, err := net.Dial("tcp", srv.Listener.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	fmt.Fprintf(conn, "PATCH %s HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer %s\r\nTus-Resumable: 1.0.0\r\nContent-Type: application/offset+octet-stream\r\nUpload-Offset: 0\r\nContent-Length: %d\r\n\r\n", up, ada, len(data))
	if _, err := conn.Write(data[:150_000]); err != nil {
		t.Fatal(err)
	}
	if err := conn.(*net.TCPConn).CloseWrite(); err != nil {
		t.Fatal(err)
	}
	// The server answers once it has read all there was (whatever it says of the cut).
	if resp, err := http.ReadResponse(bufio.NewReader(conn), nil); err != nil && err != io.EOF {
		t.Logf("the cut request's response: %v", err)
	} else if resp != nil {
		b, _ := io.ReadAll(resp.Body)
		t.Logf("the cut request's response: %d %s", resp.StatusCode, b)
	}

	head := a.tus("HEAD", up, ada, nil)
	if head.Code != 200 || head.Header().Get("Upload-Offset") != "150000" {
		t.Fatalf("HEAD after the cut: %d, offset %q", head.Code, head.Header().Get("Upload-Offset"))
	}
	if rec := a.patchUpload(ada, up, 150_000, data[150_000:]); rec.Code != 204 {
		t.Fatalf("resume: %d %s", rec.Code, rec.Body)
	}
	rec := a.download(ada, "/v1/files/"+fileID(up))
	if rec.Code != 200 || hexSHA(rec.Body.Bytes()) != hexSHA(data) {
		t.Fatalf("download after the resume: %d, hash %s", rec.Code, hexSHA(rec.Body.Bytes()))
	}
}

// TestAccountDeletionDeletesFiles: deleting an account deletes the files it uploaded and
// their content on disk, except content another user's file shares.
func TestAccountDeletionDeletesFiles(t *testing.T) {
	t.Parallel()
	a := newAPI(t, nil)
	ada, bob := a.signUp("ada@example.com").AccessToken, a.signUp("bob@example.com").AccessToken
	own, shared := content(3000, 10), content(3000, 11)
	var ids []string
	for _, c := range []struct {
		token string
		data  []byte
	}{{ada, own}, {ada, shared}, {bob, shared}} {
		up := a.startUpload(c.token, c.data, "")
		if rec := a.patchUpload(c.token, up, 0, c.data); rec.Code != 204 {
			t.Fatalf("upload: %d %s", rec.Code, rec.Body)
		}
		ids = append(ids, fileID(up))
	}
	pending := a.startUpload(ada, own, "")
	a.patchUpload(ada, pending, 0, own[:1000])
	blob := func(data []byte) string {
		sum := hexSHA(data)
		return filepath.Join(a.app.Config.DataDir, "files", "blobs", sum[:2], sum)
	}
	if rec := a.call("DELETE", "/v1/me", ada, nil); rec.Code != 204 {
		t.Fatalf("delete the account: %d %s", rec.Code, rec.Body)
	}
	for _, id := range ids[:2] {
		if _, err := a.app.Store.Files().FindFile(t.Context(), id); tideline.ErrorCode(err) != tideline.CodeNotFound {
			t.Fatalf("ada's file %s: %v", id, err)
		}
	}
	if _, err := a.app.Store.Files().FindUpload(t.Context(), fileID(pending)); tideline.ErrorCode(err) != tideline.CodeNotFound {
		t.Fatalf("ada's upload: %v", err)
	}
	if _, err := os.Stat(blob(own)); !os.IsNotExist(err) {
		t.Fatalf("ada's own content is still on disk: %v", err)
	}
	if rec := a.download(bob, "/v1/files/"+ids[2]); rec.Code != 200 || !bytes.Equal(rec.Body.Bytes(), shared) {
		t.Fatalf("bob's file with the same content as one of ada's: %d", rec.Code)
	}
	if entries, _ := os.ReadDir(filepath.Join(a.app.Config.DataDir, "files", "uploads")); len(entries) != 0 {
		t.Fatalf("upload bytes left behind: %v", entries)
	}
}
