package main

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"io"
	"net/http"
	"strconv"
	"strings"
	"testing"

	"github.com/tideline-dev/tideline"
	"github.com/tideline-dev/tideline/files"
	"github.com/tideline-dev/tideline/store/mongo"
	"github.com/tideline-dev/tideline/store/sqlite"
	"github.com/tideline-dev/tideline/store/storetest"
)

// TestServeFinishesAnUploadAfterAKill: a server killed (SIGKILL) in the middle of an
// upload, whose store then holds every byte of it (the rest written to the store while
// the server is down, as its last PATCH writes them before the commit it never ran), is
// restarted; the client's HEAD finishes the upload (404), the file answers the
// conditional GET with its hash (304), and its bytes are the upload's. On both engines.
func TestServeFinishesAnUploadAfterAKill(t *testing.T) {
	for _, engine := range []string{"sqlite", "mongodb"} {
		t.Run(engine, func(t *testing.T) {
			uri, db := "", "e2e_finish_"+strings.ReplaceAll(tideline.NewID(), "-", "")[:16]
			if engine == "mongodb" {
				uri = storetest.MongoURI(t)
			}
			env := syncEnv(t, engine, uri, db)
			p := startAPI(t, env, "--addr", "127.0.0.1:0")
			base := p.waitFor("tideline listening")["addr"].(string)
			ada := signUp(t, base, "ada@example.com")

			data := bytes.Repeat([]byte("a photo taken offline. "), 30_000) // 690 KB, three parts on MongoDB
			sum := sha256.Sum256(data)
			hexSum := hex.EncodeToString(sum[:])
			resp := tusRequest(t, "POST", base+"/v1/files/uploads", ada.token, nil,
				"Upload-Length", strconv.Itoa(len(data)), "Upload-Metadata", "sha256 "+base64.StdEncoding.EncodeToString([]byte(hexSum)))
			loc := resp.Header.Get("Location")
			if resp.StatusCode != 201 || loc == "" {
				t.Fatalf("create upload: %d %q", resp.StatusCode, loc)
			}
			path := loc[strings.Index(loc, "/v1/"):]
			id := path[strings.LastIndex(path, "/")+1:]
			if resp := tusRequest(t, "PATCH", base+path, ada.token, data[:400_000], "Upload-Offset", "0",
				"Content-Type", "application/offset+octet-stream"); resp.StatusCode != 204 {
				t.Fatalf("first PATCH: %d", resp.StatusCode)
			}
			if err := p.cmd.Process.Kill(); err != nil {
				t.Fatal(err)
			}
			<-p.exited

			store := openFileStore(t, engine, env, uri, db)
			if n, err := store.Files().WriteUpload(t.Context(), id, 400_000, bytes.NewReader(data[400_000:])); err != nil || n != int64(len(data)-400_000) {
				t.Fatalf("write the rest: %d, %v", n, err)
			}
			if err := store.Close(); err != nil {
				t.Fatal(err)
			}

			p2 := startAPI(t, env, "--addr", "127.0.0.1:0")
			base = p2.waitFor("tideline listening")["addr"].(string)
			if resp := tusRequest(t, "HEAD", base+path, ada.token, nil); resp.StatusCode != 404 {
				t.Fatalf("HEAD after the restart: %d %v; want 404 (finished)", resp.StatusCode, resp.Header)
			}
			get := func(headers ...string) (*http.Response, []byte) {
				req, _ := http.NewRequestWithContext(t.Context(), "GET", base+"/v1/files/"+id, nil)
				req.Header.Set("Authorization", "Bearer "+ada.token)
				for i := 0; i < len(headers); i += 2 {
					req.Header.Set(headers[i], headers[i+1])
				}
				resp, err := http.DefaultClient.Do(req)
				if err != nil {
					t.Fatal(err)
				}
				defer resp.Body.Close()
				b, err := io.ReadAll(resp.Body)
				if err != nil {
					t.Fatal(err)
				}
				return resp, b
			}
			if resp, _ := get("If-None-Match", `"`+hexSum+`"`); resp.StatusCode != 304 {
				t.Fatalf("conditional GET of the file: %d", resp.StatusCode)
			}
			if resp, b := get(); resp.StatusCode != 200 || !bytes.Equal(b, data) {
				t.Fatalf("GET of the file: %d, %d bytes", resp.StatusCode, len(b))
			}
			if resp := tusRequest(t, "HEAD", base+path, ada.token, nil); resp.StatusCode != 404 {
				t.Fatalf("second HEAD: %d", resp.StatusCode)
			}
		})
	}
}

// tusRequest sends a tus request (Tus-Resumable set) with the headers given.
func tusRequest(t *testing.T, method, url, token string, body []byte, headers ...string) *http.Response {
	t.Helper()
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	req, err := http.NewRequestWithContext(t.Context(), method, url, rd)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+token)
	req.Header.Set("Tus-Resumable", "1.0.0")
	for i := 0; i < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return resp
}

// openFileStore opens, while its server is down, the engine the server of env used.
func openFileStore(t *testing.T, engine string, env []string, uri, db string) interface {
	Files() files.Store
	Close() error
} {
	t.Helper()
	if engine == "mongodb" {
		s, err := mongo.Open(context.WithoutCancel(t.Context()), mongo.Options{URI: uri, Database: db})
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	var dir string
	for _, kv := range env {
		if v, ok := strings.CutPrefix(kv, "TIDELINE_DATA_DIR="); ok {
			dir = v
		}
	}
	s, err := sqlite.Open(t.Context(), dir, sqlite.Options{})
	if err != nil {
		t.Fatal(err)
	}
	return s
}
