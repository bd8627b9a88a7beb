package main

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	tideline "github.com/tideline-dev/tideline/sdk/go"
)

// cutTransport fails the body of the next tus PATCH after cutAfter bytes (as a phone
// that loses the network mid-upload), once, and counts the bytes every PATCH sent; and
// likewise cuts the answer of the next download after cutDownload bytes, recording each
// download's Range header, status and the bytes the SDK read.
type cutTransport struct {
	base        http.RoundTripper
	cutAfter    atomic.Int64 // 0: no cut pending
	cutDownload atomic.Int64 // 0: no cut pending
	mu          sync.Mutex
	sent        []int64 // bytes read from each PATCH body
	gets        []download
}

// download is one GET /v1/files/{id}?collection=..&doc=.. as the server answered it.
type download struct {
	rangeHeader string
	status      int
	read        int64
}

func (c *cutTransport) downloads() []download {
	c.mu.Lock()
	defer c.mu.Unlock()
	out := c.gets
	c.gets = nil
	return out
}

func (c *cutTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	if r.Method == http.MethodGet && strings.HasPrefix(r.URL.Path, "/v1/files/") && r.URL.Query().Has("collection") {
		res, err := c.base.RoundTrip(r)
		if err != nil {
			return nil, err
		}
		c.mu.Lock()
		c.gets = append(c.gets, download{rangeHeader: r.Header.Get("Range"), status: res.StatusCode})
		i := len(c.gets) - 1
		c.mu.Unlock()
		res.Body = &countingBody{ReadCloser: res.Body, n: func(k int) {
			c.mu.Lock()
			c.gets[i].read += int64(k)
			c.mu.Unlock()
		}, cut: c.cutDownload.Swap(0)}
		return res, nil
	}
	if r.Method != http.MethodPatch || r.Body == nil {
		return c.base.RoundTrip(r)
	}
	c.mu.Lock()
	c.sent = append(c.sent, 0)
	i := len(c.sent) - 1
	c.mu.Unlock()
	r.Body = &countingBody{ReadCloser: r.Body, n: func(k int) {
		c.mu.Lock()
		c.sent[i] += int64(k)
		c.mu.Unlock()
	}, cut: c.cutAfter.Swap(0)}
	return c.base.RoundTrip(r)
}

func (c *cutTransport) patches() []int64 {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]int64(nil), c.sent...)
}

type countingBody struct {
	io.ReadCloser
	n    func(int)
	cut  int64
	read int64
}

var errCut = errors.New("the network dropped (test)")

func (b *countingBody) Read(p []byte) (int, error) {
	if b.cut > 0 {
		if b.read >= b.cut {
			return 0, errCut
		}
		p = p[:min(int64(len(p)), b.cut-b.read)]
	}
	n, err := b.ReadCloser.Read(p)
	b.read += int64(n)
	b.n(n)
	return n, err
}

func randomFile(t *testing.T, dir, name string, size int) (path, sum string) {
	t.Helper()
	b := make([]byte, size)
	rand.Read(b)
	path = filepath.Join(dir, name)
	if err := os.WriteFile(path, b, 0o600); err != nil {
		t.Fatal(err)
	}
	h := sha256.Sum256(b)
	return path, hex.EncodeToString(h[:])
}

func fileSum(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	h := sha256.Sum256(b)
	return hex.EncodeToString(h[:])
}

// TestSDKAttachments runs the Go SDK's attachments against the real server on both
// engines: a photo attached offline shows at once from the device; its upload is cut
// mid-PATCH, the app restarts, and the upload resumes from the server's offset (only the
// rest is sent); the reference is completed by a patch; another user the document is
// shared with downloads it with the right hash; a file over files.maxFileBytes ends with
// a receipt and a failed reference; a document deleted mid-upload cancels the upload; and
// when the owner unshares the document, the reader's cached copy (pinned) is dropped.
func TestSDKAttachments(t *testing.T) {
	onEngines(t, "e2e_sdk_files", []string{"TIDELINE_FILES_MAX_FILE_BYTES=1MiB",
		`TIDELINE_SYNC_COLLECTIONS=[{"name":"tasks","read":"owner-shared"}]`}, func(t *testing.T, p *proc, base string) {
		ctx := t.Context()
		ada, bob := signUp(t, base, "ada@example.com"), signUp(t, base, "bob@example.com")
		dir, src := t.TempDir(), t.TempDir()
		cut := &cutTransport{base: http.DefaultTransport}
		open := sdkOpener(t, dir, base, cut)
		phone := open("phone", ada.token)
		tasks := phone.Collection("tasks")
		if err := tasks.Put(ctx, "t1", map[string]any{"title": "Broken valve", "_acl": map[string]any{"read": []string{bob.bucket}}}); err != nil {
			t.Fatal(err)
		}
		photo, sum := randomFile(t, src, "valve.jpg", 300_000)
		ref, err := phone.Attach(ctx, "tasks", "t1", "photo", photo, "")
		if err != nil {
			t.Fatal(err)
		}
		if ref.Pending == "" || ref.SHA256 != sum || ref.Size != 300_000 || ref.ContentType != "image/jpeg" {
			t.Fatalf("the pending reference: %+v", ref)
		}
		if err := os.Remove(photo); err != nil { // the app's own copy may go: the SDK has one
			t.Fatal(err)
		}
		if p, err := phone.OpenFile(ctx, "tasks", "t1", ref); err != nil || fileSum(t, p) != sum {
			t.Fatalf("opening the pending photo: %v", err)
		}
		if err := phone.Sync(ctx); err != nil { // the document goes out with its pending reference
			t.Fatal(err)
		}

		// The upload is cut after 100,000 bytes; the app restarts and resumes it.
		cut.cutAfter.Store(100_000)
		if err := phone.Upload(ctx); err == nil {
			t.Fatal("an upload cut midway succeeded")
		}
		if q, err := phone.Attachments(ctx); err != nil || len(q) != 1 || q[0].State != "uploading" || q[0].Attempts != 1 {
			t.Fatalf("the queue after the cut: %+v, %v", q, err)
		}
		phone.Close()
		phone = open("phone", ada.token)
		if err := phone.Upload(ctx); err != nil {
			t.Fatal(err)
		}
		sent := cut.patches()
		if len(sent) != 2 || sent[0] != 100_000 || sent[1] >= 300_000 || sent[0]+sent[1] != 300_000 {
			t.Fatalf("PATCH bodies %v: want 100,000 bytes, then only the rest", sent)
		}
		doc, _, err := phone.Collection("tasks").Get(ctx, "t1")
		if err != nil {
			t.Fatal(err)
		}
		done, ok := tideline.AsFileRef(doc.Fields["photo"])
		if !ok || done.ID == "" || done.Pending != "" || done.SHA256 != sum {
			t.Fatalf("the completed reference: %v", doc.Fields["photo"])
		}
		if err := phone.Sync(ctx); err != nil || phone.Status().Pending != 0 || phone.Status().Uploads != 0 {
			t.Fatalf("sync after the upload: %v, %+v", err, phone.Status())
		}
		if p, err := phone.OpenFile(ctx, "tasks", "t1", done); err != nil || fileSum(t, p) != sum {
			t.Fatalf("the uploader opens the file from its cache: %v", err)
		}

		// Bob reads the shared task and downloads the photo through it; pinned.
		laptop := open("laptop", bob.token)
		if err := laptop.Sync(ctx); err != nil {
			t.Fatal(err)
		}
		got, _, err := laptop.Collection("tasks").Get(ctx, "t1")
		if err != nil {
			t.Fatal(err)
		}
		bref, _ := tideline.AsFileRef(got.Fields["photo"])
		bp, err := laptop.Pin(ctx, "tasks", "t1", bref)
		if err != nil || fileSum(t, bp) != sum {
			t.Fatalf("Bob's download: %v", err)
		}
		// Through a document that does not refer to it, or that he cannot read: 404.
		var se *tideline.ServerError
		if _, err := laptop.OpenFile(ctx, "tasks", "nope", tideline.FileRef{ID: bref.ID + "x"}); !errors.As(err, &se) || se.Status != 404 {
			t.Fatalf("a file id Bob has no document for: %v, want 404", err)
		}

		// Too large: refused for good, a receipt and a failed reference.
		var receipts []tideline.Receipt
		var rmu sync.Mutex
		phone.Subscribe(func(e tideline.Event) {
			if e.Receipt != nil && e.Receipt.Attachment != "" {
				rmu.Lock()
				receipts = append(receipts, *e.Receipt)
				rmu.Unlock()
			}
		})
		big, _ := randomFile(t, src, "big.pdf", 1<<20+1)
		if _, err := phone.Attach(ctx, "tasks", "t2", "scan", big, ""); err != nil {
			t.Fatal(err)
		}
		if err := phone.Upload(ctx); err != nil {
			t.Fatal(err)
		}
		rmu.Lock()
		if len(receipts) != 1 || receipts[0].Code != "too_large" || receipts[0].Status != "rejected" || receipts[0].Field != "scan" {
			t.Fatalf("receipts of a too-large upload: %+v", receipts)
		}
		rmu.Unlock()
		t2, _, _ := phone.Collection("tasks").Get(ctx, "t2")
		if f, ok := tideline.AsFileRef(t2.Fields["scan"]); !ok || f.Failed != "too_large" {
			t.Fatalf("the too-large file's field: %v", t2.Fields["scan"])
		}
		if _, err := phone.OpenFile(ctx, "tasks", "t2", tideline.FileRef{Failed: "too_large"}); !errors.Is(err, tideline.ErrNoFile) {
			t.Fatalf("opening a failed reference: %v, want ErrNoFile", err)
		}

		// A document deleted while its upload was cut: the next run cancels it.
		doomed, _ := randomFile(t, src, "doomed.bin", 50_000)
		if _, err := phone.Attach(ctx, "tasks", "t3", "file", doomed, ""); err != nil {
			t.Fatal(err)
		}
		cut.cutAfter.Store(10_000)
		if err := phone.Upload(ctx); err == nil {
			t.Fatal("an upload cut midway succeeded")
		}
		if err := phone.Collection("tasks").Delete(ctx, "t3"); err != nil {
			t.Fatal(err)
		}
		n := len(cut.patches())
		if err := phone.Upload(ctx); err != nil {
			t.Fatal(err)
		}
		if q, _ := phone.Attachments(ctx); len(q) != 0 || len(cut.patches()) != n {
			t.Fatalf("a deleted document's upload: queue %+v, %d more PATCHes", q, len(cut.patches())-n)
		}

		// Ada unshares t1: Bob's next sync drops his pinned copy.
		unshare(t, phone, laptop, "tasks", "t1")
		if files, err := laptop.CachedFiles(ctx); err != nil || len(files) != 0 {
			t.Fatalf("Bob's cache after losing the document: %+v, %v", files, err)
		}
		if _, err := os.Stat(bp); !os.IsNotExist(err) {
			t.Fatalf("Bob's copy is still on disk: %v", err)
		}
		if _, err := laptop.OpenFile(ctx, "tasks", "t1", bref); !errors.As(err, &se) || se.Status != 404 {
			t.Fatalf("Bob opening the unshared photo: %v, want 404", err)
		}
	})
}

// TestSDKDownloadResumed runs the Go SDK's resumed downloads against the real server on
// both engines: Bob's download of a shared 300,000-byte file is cut after 100,000 bytes;
// his app restarts, and the next open asks for the rest with Range and If-Range (the
// reference's hash): the server answers 206 with the other 200,000 bytes, and the file
// has the right hash. When Ada unshares the document while Bob holds a partial download,
// his next sync drops it from the device.
func TestSDKDownloadResumed(t *testing.T) {
	onEngines(t, "e2e_sdk_download", []string{`TIDELINE_SYNC_COLLECTIONS=[{"name":"tasks","read":"owner-shared"}]`},
		func(t *testing.T, p *proc, base string) {
			ctx := t.Context()
			ada, bob := signUp(t, base, "ada@example.com"), signUp(t, base, "bob@example.com")
			dir, src := t.TempDir(), t.TempDir()
			cut := &cutTransport{base: http.DefaultTransport}
			open := sdkOpener(t, dir, base, cut)
			phone := open("phone", ada.token)
			shared := map[string]any{"read": []string{bob.bucket}}
			for _, id := range []string{"t1", "t2"} {
				if err := phone.Collection("tasks").Put(ctx, id, map[string]any{"title": id, "_acl": shared}); err != nil {
					t.Fatal(err)
				}
			}
			sums := map[string]string{}
			for _, id := range []string{"t1", "t2"} {
				local, sum := randomFile(t, src, id+".pdf", 300_000)
				sums[id] = sum
				if _, err := phone.Attach(ctx, "tasks", id, "scan", local, ""); err != nil {
					t.Fatal(err)
				}
			}
			if err := phone.Upload(ctx); err != nil {
				t.Fatal(err)
			}
			if err := phone.Sync(ctx); err != nil {
				t.Fatal(err)
			}

			laptop := open("laptop", bob.token)
			if err := laptop.Sync(ctx); err != nil {
				t.Fatal(err)
			}
			ref := func(c *tideline.Client, id string) tideline.FileRef {
				doc, _, err := c.Collection("tasks").Get(ctx, id)
				if err != nil {
					t.Fatal(err)
				}
				r, ok := tideline.AsFileRef(doc.Fields["scan"])
				if !ok || r.ID == "" || r.SHA256 != sums[id] {
					t.Fatalf("%s's reference: %v", id, doc.Fields["scan"])
				}
				return r
			}
			cut.downloads()
			cut.cutDownload.Store(100_000)
			if _, err := laptop.OpenFile(ctx, "tasks", "t1", ref(laptop, "t1")); err == nil {
				t.Fatal("a download cut midway succeeded")
			}
			laptop.Close()
			laptop = open("laptop", bob.token)
			got, err := laptop.OpenFile(ctx, "tasks", "t1", ref(laptop, "t1"))
			if err != nil || fileSum(t, got) != sums["t1"] {
				t.Fatalf("the resumed download: %v", err)
			}
			if d := cut.downloads(); len(d) != 2 || d[0] != (download{"", 200, 100_000}) || d[1] != (download{"bytes=100000-", 206, 200_000}) {
				t.Fatalf("downloads %+v: want 100,000 bytes of a 200, then a 206 of the other 200,000", d)
			}

			// A partial download of t2, then Ada unshares t2: Bob's next sync drops it.
			cut.cutDownload.Store(50_000)
			if _, err := laptop.OpenFile(ctx, "tasks", "t2", ref(laptop, "t2")); err == nil {
				t.Fatal("a download cut midway succeeded")
			}
			part := filepath.Join(dir, "laptop.db.files", "part", ref(laptop, "t2").ID)
			if info, err := os.Stat(part); err != nil || info.Size() != 50_000 {
				t.Fatalf("the partial download: %v, %v", info, err)
			}
			unshare(t, phone, laptop, "tasks", "t2")
			if _, err := os.Stat(part); !os.IsNotExist(err) {
				t.Fatalf("the partial download of a document Bob lost is still on disk: %v", err)
			}
		})
}

// sdkOpener opens Go SDK clients on base, each with a cache of its own (name.db) in dir,
// all through rt; they close when the test ends.
func sdkOpener(t *testing.T, dir, base string, rt http.RoundTripper) func(name, token string) *tideline.Client {
	return func(name, token string) *tideline.Client {
		c, err := tideline.Open(t.Context(), filepath.Join(dir, name+".db"), base, tideline.Token(token),
			tideline.Options{HTTPClient: &http.Client{Transport: rt}})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { c.Close() })
		return c
	}
}

// unshare has owner take every reader off doc's _acl and sync, then reader sync: reader
// no longer may read doc.
func unshare(t *testing.T, owner, reader *tideline.Client, collection, doc string) {
	t.Helper()
	if err := owner.Collection(collection).Patch(t.Context(), doc, tideline.Set("_acl", map[string]any{"read": []string{}})); err != nil {
		t.Fatal(err)
	}
	if err := owner.Sync(t.Context()); err != nil {
		t.Fatal(err)
	}
	if err := reader.Sync(t.Context()); err != nil {
		t.Fatal(err)
	}
}
