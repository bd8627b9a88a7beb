package tideline

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// who marks each request with the client (the process) that sent it.
type who struct {
	name string
	base http.RoundTripper
}

func (w who) RoundTrip(r *http.Request) (*http.Response, error) {
	r = r.Clone(r.Context())
	r.Header.Set("X-Test-Client", w.name)
	return w.base.RoundTrip(r)
}

// answerPlan is how the test server answers one client's next download: the first bytes
// of the body, then (when hold is set) a wait, then the rest, or a cut connection.
type answerPlan struct {
	first int
	hold  chan struct{}
	cut   bool
}

// TestTwoProcessesResumeOneDownload: two clients on one cache (two processes) download the
// same file at once. The one that finds the kept bytes takes them (resumes with Range); the
// other, finding none, downloads the whole file into a file of its own: neither writes the
// other's bytes, and both end with the right file. When both are cut, the longer partial
// is kept, whichever comes back first, and the next open resumes from it.
func TestTwoProcessesResumeOneDownload(t *testing.T) {
	t.Parallel()
	content := make([]byte, 64<<10)
	rand.Read(content)
	h := sha256.Sum256(content)
	sum := hex.EncodeToString(h[:])
	etag := `"` + sum + `"`

	var mu sync.Mutex
	plans := map[string]answerPlan{}
	ranges := map[string][]string{}
	arrived := make(chan string, 8)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		name := r.Header.Get("X-Test-Client")
		mu.Lock()
		p := plans[name]
		delete(plans, name)
		ranges[name] = append(ranges[name], r.Header.Get("Range"))
		mu.Unlock()
		body, status := content, http.StatusOK
		if rg, ok := strings.CutPrefix(r.Header.Get("Range"), "bytes="); ok && r.Header.Get("If-Range") == etag {
			n, err := strconv.Atoi(strings.TrimSuffix(rg, "-"))
			if err != nil || n >= len(content) {
				http.Error(w, "range", http.StatusRequestedRangeNotSatisfiable)
				return
			}
			body, status = content[n:], http.StatusPartialContent
			w.Header().Set("Content-Range", "bytes "+strconv.Itoa(n)+"-"+strconv.Itoa(len(content)-1)+"/"+strconv.Itoa(len(content)))
		}
		w.Header().Set("ETag", etag)
		w.Header().Set("Content-Length", strconv.Itoa(len(body)))
		w.WriteHeader(status)
		first := len(body)
		if p.first > 0 {
			first = min(p.first, len(body))
		}
		w.Write(body[:first])
		w.(http.Flusher).Flush()
		arrived <- name
		if p.hold != nil {
			<-p.hold
		}
		if p.cut {
			panic(http.ErrAbortHandler)
		}
		w.Write(body[first:])
	}))
	t.Cleanup(srv.Close)

	dir := t.TempDir()
	path := filepath.Join(dir, "shared.db")
	frozen := func() time.Time { return time.UnixMilli(1793523600000) }
	open := func(name string) *Client {
		c, err := Open(t.Context(), path, srv.URL, Token("t"), Options{Now: frozen, ClientID: "app",
			HTTPClient: &http.Client{Transport: who{name, http.DefaultTransport}}})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { c.Close() })
		return c
	}
	a, b := open("a"), open("b")
	refs := map[string]FileRef{}
	for _, id := range []string{"f1", "f2", "f3"} {
		refs[id] = FileRef{ID: id, Name: id + ".bin", Size: int64(len(content)), ContentType: "application/octet-stream", SHA256: sum}
		if err := a.Collection("docs").Put(t.Context(), "d-"+id, map[string]any{"scan": refs[id].Value()}); err != nil {
			t.Fatal(err)
		}
	}
	plan := func(name string, p answerPlan) {
		mu.Lock()
		plans[name] = p
		mu.Unlock()
	}
	takeRanges := func() map[string][]string {
		mu.Lock()
		defer mu.Unlock()
		out := ranges
		ranges = map[string][]string{}
		return out
	}
	partial := func(id string) int64 {
		t.Helper()
		var rel string
		if err := a.db.QueryRowContext(t.Context(), `SELECT path FROM tl_downloads WHERE file_id = ?`, id).Scan(&rel); err != nil {
			t.Fatalf("the partial of %s: %v", id, err)
		}
		info, err := os.Stat(a.abs(rel))
		if err != nil {
			t.Fatalf("the partial of %s: %v", id, err)
		}
		return info.Size()
	}
	type result struct {
		path string
		err  error
	}
	openAsync := func(c *Client, id string) chan result {
		done := make(chan result, 1)
		go func() {
			p, err := c.OpenFile(t.Context(), "docs", "d-"+id, refs[id])
			done <- result{p, err}
		}()
		return done
	}
	wantFile := func(p string) {
		t.Helper()
		got, err := os.ReadFile(p)
		if err != nil || !slices.Equal(got, content) {
			t.Fatalf("%s: %d bytes, %v; want the file", p, len(got), err)
		}
	}

	// a is cut after 20,000 bytes: kept.
	plan("a", answerPlan{first: 20_000, cut: true})
	if _, err := a.OpenFile(t.Context(), "docs", "d-f1", refs["f1"]); err == nil {
		t.Fatal("a cut download succeeded")
	}
	<-arrived
	if n := partial("f1"); n != 20_000 {
		t.Fatalf("the partial holds %d bytes, want 20,000", n)
	}

	// a resumes and stops midway; meanwhile b opens the same file: the kept bytes are a's,
	// so b downloads it whole into its own file. Both end with the right file.
	release := make(chan struct{})
	plan("a", answerPlan{first: 10_000, hold: release})
	doneA := openAsync(a, "f1")
	if got := <-arrived; got != "a" {
		t.Fatalf("%s answered first", got)
	}
	pb, err := b.OpenFile(t.Context(), "docs", "d-f1", refs["f1"])
	<-arrived
	if err != nil {
		t.Fatal(err)
	}
	wantFile(pb)
	close(release)
	ra := <-doneA
	if ra.err != nil {
		t.Fatal(ra.err)
	}
	wantFile(ra.path)
	if got := takeRanges(); !slices.Equal(got["a"], []string{"", "bytes=20000-"}) || !slices.Equal(got["b"], []string{""}) {
		t.Fatalf("Range headers %v: a resumes from its 20,000 bytes, b asks for the whole file", got)
	}

	// Both cut at once, 10,000 and 30,000 bytes in: the longer partial is kept, whichever
	// comes back first.
	for _, order := range [][]string{{"b", "a"}, {"a", "b"}} {
		id := map[string]string{"b": "f2", "a": "f3"}[order[0]]
		holds := map[string]chan struct{}{"a": make(chan struct{}), "b": make(chan struct{})}
		plan("a", answerPlan{first: 10_000, hold: holds["a"], cut: true})
		plan("b", answerPlan{first: 30_000, hold: holds["b"], cut: true})
		done := map[string]chan result{"a": openAsync(a, id), "b": openAsync(b, id)}
		<-arrived
		<-arrived
		for _, name := range order {
			close(holds[name])
			if r := <-done[name]; r.err == nil {
				t.Fatalf("%s: a cut download succeeded", name)
			}
		}
		if n := partial(id); n != 30_000 {
			t.Fatalf("%s back first: the partial holds %d bytes, want the longer, 30,000", order[0], n)
		}
		takeRanges()
		p, err := a.OpenFile(t.Context(), "docs", "d-"+id, refs[id])
		<-arrived
		if err != nil {
			t.Fatal(err)
		}
		wantFile(p)
		if got := takeRanges(); !slices.Equal(got["a"], []string{"bytes=30000-"}) {
			t.Fatalf("the resume asked %v, want bytes=30000-", got["a"])
		}
	}

	// Nothing left behind: the three files, no partial, no temporary file.
	var left []string
	filepath.WalkDir(a.filesDir(), func(p string, d os.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			rel, _ := filepath.Rel(a.filesDir(), p)
			left = append(left, filepath.ToSlash(rel))
		}
		return nil
	})
	slices.Sort(left)
	if !slices.Equal(left, []string{"cache/f1", "cache/f2", "cache/f3"}) {
		t.Fatalf("the files directory holds %v", left)
	}
}

// TestPartialDownloadLeftovers: what a crash (or a hand) leaves of partial downloads is
// harmless. A row whose file is gone (a crash between taking the file and the commit) is
// no partial: the open downloads the whole file. A row kept for another hash than the
// reference's is dropped, and the file downloaded whole. A file of part/ that no row names
// (a crash between a row's deletion and its file's removal) is removed at the next open.
// The server here never honors a Range: any request that has one fails the test.
func TestPartialDownloadLeftovers(t *testing.T) {
	t.Parallel()
	content := []byte("the whole file, twenty-nine b")
	h := sha256.Sum256(content)
	sum := hex.EncodeToString(h[:])
	var mu sync.Mutex
	var ranged []string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if rg := r.Header.Get("Range"); rg != "" {
			mu.Lock()
			ranged = append(ranged, r.URL.Path+" "+rg)
			mu.Unlock()
		}
		w.Header().Set("ETag", `"`+sum+`"`)
		w.Write(content)
	}))
	t.Cleanup(srv.Close)
	path := filepath.Join(t.TempDir(), "cache.db")
	open := func() *Client {
		c, err := Open(t.Context(), path, srv.URL, Token("t"), Options{Now: func() time.Time { return time.UnixMilli(1793523600000) }})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { c.Close() })
		return c
	}
	c := open()
	ref := func(id string) FileRef {
		return FileRef{ID: id, Name: id, Size: int64(len(content)), ContentType: "text/plain", SHA256: sum}
	}
	for _, id := range []string{"gone", "other", "orphan"} {
		if err := c.Collection("docs").Put(t.Context(), id, map[string]any{"f": ref(id).Value()}); err != nil {
			t.Fatal(err)
		}
	}
	put := func(id, hash string) {
		t.Helper()
		if _, err := c.db.ExecContext(t.Context(), `INSERT INTO tl_downloads (file_id, path, sha256, collection, doc_id, updated_at)
			VALUES (?, ?, ?, 'docs', ?, 1793523600000)`, id, "part/"+id, hash, id); err != nil {
			t.Fatal(err)
		}
	}
	part := func(id string) string { return filepath.Join(c.filesDir(), "part", id) }
	if err := os.MkdirAll(filepath.Join(c.filesDir(), "part"), 0o700); err != nil {
		t.Fatal(err)
	}
	put("gone", sum) // its file is missing
	put("other", strings.Repeat("0", 64))
	if err := os.WriteFile(part("other"), content[:10], 0o600); err != nil {
		t.Fatal(err)
	}
	for _, id := range []string{"gone", "other"} {
		p, err := c.OpenFile(t.Context(), "docs", id, ref(id))
		if err != nil {
			t.Fatal(err)
		}
		if b, _ := os.ReadFile(p); string(b) != string(content) {
			t.Fatalf("%s: %q", id, b)
		}
	}
	mu.Lock()
	if len(ranged) > 0 {
		t.Errorf("Range requests without a usable partial: %v", ranged)
	}
	mu.Unlock()
	if _, err := os.Stat(part("other")); !os.IsNotExist(err) {
		t.Fatalf("a partial kept for another hash survived: %v", err)
	}
	var rows int
	if err := c.db.QueryRowContext(t.Context(), `SELECT count(*) FROM tl_downloads`).Scan(&rows); err != nil || rows != 0 {
		t.Fatalf("%d partial downloads left, %v", rows, err)
	}

	// A file of part/ that no row names goes at the next open.
	if err := os.WriteFile(part("orphan"), content[:5], 0o600); err != nil {
		t.Fatal(err)
	}
	c.Close()
	c = open()
	if _, err := os.Stat(part("orphan")); !os.IsNotExist(err) {
		t.Fatalf("an orphan partial survived the open: %v", err)
	}
}

// TestDownloadFinishedAfterAccessLost: a download whose document leaves the view while its
// body is on the way (the cache cleared, the document deleted) keeps nothing when it
// finishes: no tl_files row, no file; the open is ErrNoFile. A cleared cache must not gain
// the previous user's file.
func TestDownloadFinishedAfterAccessLost(t *testing.T) {
	t.Parallel()
	content := make([]byte, 32<<10)
	rand.Read(content)
	h := sha256.Sum256(content)
	sum := hex.EncodeToString(h[:])
	arrived, release := make(chan struct{}, 1), make(chan chan struct{}, 1)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("ETag", `"`+sum+`"`)
		w.Header().Set("Content-Length", strconv.Itoa(len(content)))
		w.WriteHeader(http.StatusOK)
		w.Write(content[:1000])
		w.(http.Flusher).Flush()
		arrived <- struct{}{}
		<-<-release
		w.Write(content[1000:])
	}))
	t.Cleanup(srv.Close)
	c, err := Open(t.Context(), filepath.Join(t.TempDir(), "c.db"), srv.URL, Token("t"), Options{ClientID: "app"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	ref := FileRef{ID: "f1", Name: "f1.bin", Size: int64(len(content)), ContentType: "application/octet-stream", SHA256: sum}
	for _, lose := range []struct {
		name string
		do   func() error
	}{
		{"deleted", func() error { return c.Collection("docs").Delete(t.Context(), "d1") }},
		{"cleared", func() error { return c.Clear(t.Context()) }},
	} {
		if err := c.Collection("docs").Put(t.Context(), "d1", map[string]any{"scan": ref.Value()}); err != nil {
			t.Fatal(err)
		}
		gate := make(chan struct{})
		release <- gate
		done := make(chan error, 1)
		go func() {
			_, err := c.OpenFile(t.Context(), "docs", "d1", ref)
			done <- err
		}()
		<-arrived
		if err := lose.do(); err != nil {
			t.Fatal(err)
		}
		close(gate)
		if err := <-done; err != ErrNoFile {
			t.Fatalf("%s: the open finished with %v, want ErrNoFile", lose.name, err)
		}
		var n int
		if err := c.db.QueryRowContext(t.Context(), `SELECT count(*) FROM tl_files`).Scan(&n); err != nil || n != 0 {
			t.Fatalf("%s: %d cached files (%v), want none", lose.name, n, err)
		}
		if left, _ := filepath.Glob(filepath.Join(c.filesDir(), "cache", "*")); len(left) != 0 {
			t.Fatalf("%s: %v left in the cache directory", lose.name, left)
		}
	}
}
