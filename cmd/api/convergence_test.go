package main

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"io/fs"
	"math/rand/v2"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	tideline "github.com/tideline-dev/tideline/sdk/go"
)

// faultProxy is a TCP proxy between the clients and the server that, while on, refuses
// some connections, delays some and cuts some in the middle of the server's answer.
type faultProxy struct {
	ln     net.Listener
	target string
	on     atomic.Bool
	mu     sync.Mutex
	rnd    *rand.Rand
	cuts   atomic.Int64
	drops  atomic.Int64
	upcuts atomic.Int64
}

func newFaultProxy(t *testing.T, target string, seed uint64) *faultProxy {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &faultProxy{ln: ln, target: target, rnd: rand.New(rand.NewPCG(seed, 7))}
	t.Cleanup(func() { ln.Close() })
	go p.serve()
	return p
}

func (p *faultProxy) roll() float64 {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.rnd.Float64()
}

func (p *faultProxy) serve() {
	for {
		c, err := p.ln.Accept()
		if err != nil {
			return
		}
		go p.handle(c)
	}
}

func (p *faultProxy) handle(c net.Conn) {
	defer c.Close()
	faulty := p.on.Load()
	if faulty && p.roll() < 0.08 {
		p.drops.Add(1)
		return // refused
	}
	s, err := net.Dial("tcp", p.target)
	if err != nil {
		return // the server is down
	}
	defer s.Close()
	go func() {
		if faulty && p.roll() < 0.05 { // cut the request after a few bytes (an upload's PATCH midway)
			p.upcuts.Add(1)
			io.CopyN(s, c, int64(1+p.roll()*20000))
			s.Close()
			c.Close()
			return
		}
		io.Copy(s, c)
		s.(*net.TCPConn).CloseWrite()
	}()
	if faulty {
		if r := p.roll(); r < 0.15 {
			// A slow network: the delay is the fault injected, not a wait for anything,
			// and no check depends on its length.
			time.Sleep(time.Duration(5+p.roll()*80) * time.Millisecond)
		}
		if p.roll() < 0.12 { // cut the answer after a few bytes
			p.cuts.Add(1)
			io.CopyN(c, s, int64(1+p.roll()*300))
			return
		}
	}
	io.Copy(c, s)
}

// TestConvergenceUnderFaults runs 21 Go SDK clients of 3 users (7 devices each) against the
// server through the fault proxy, doing random puts, patches, increments, set adds and
// removes and deletes on their own and on shared documents, going offline and online at
// random, while the server is killed (SIGKILL) and restarted twice. Four devices of each
// user also run the background syncer, whose realtime stream goes through the proxy too:
// three speak sync protocol 2 (the changes arrive on the stream, and their cursor with
// them), one protocol 1, as do the first device's own syncs. Then faults stop, the
// syncers stop, and every client syncs to quiescence. Every client's view must equal a
// fresh client's of the same user, no write may be lost, every counter must be the sum of
// its increments, and nothing may be rejected. Devices also attach small files (photos)
// to their own and to shared documents, offline or not; their uploads go through the
// proxy, which also cuts requests midway (a PATCH cut resumes from the server's offset),
// and across the kills. At quiescence no reference is left pending, and every device
// opens every file its documents refer to, with the hash of the bytes attached.
// TIDELINE_CONVERGENCE_SEED replays a run.
func TestConvergenceUnderFaults(t *testing.T) {
	t.Run("sqlite", func(t *testing.T) { convergence(t, nil) })
	t.Run("mongodb", func(t *testing.T) {
		uri := os.Getenv("TIDELINE_TEST_MONGODB_URI")
		if uri == "" {
			t.Skip("the MongoDB variant needs a real MongoDB (TIDELINE_TEST_MONGODB_URI): the in-process FerretDB is too slow for 21 clients in CI")
		}
		convergence(t, []string{testMasterKeyEnv, "TIDELINE_MONGODB_URI=" + uri, "TIDELINE_MONGODB_DATABASE=convergence_" + strconv.FormatInt(time.Now().UnixNano(), 36)})
	})
}

func convergence(t *testing.T, engineEnv []string) {
	seed := uint64(time.Now().UnixNano())
	if s := os.Getenv("TIDELINE_CONVERGENCE_SEED"); s != "" {
		var err error
		if seed, err = strconv.ParseUint(s, 10, 64); err != nil {
			t.Fatalf("TIDELINE_CONVERGENCE_SEED: %v", err)
		}
	}
	t.Logf("seed %d (replay: TIDELINE_CONVERGENCE_SEED=%d go test ./cmd/api -run ConvergenceUnderFaults)", seed, seed)

	// The server, on a port that survives its restarts.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	dataDir := t.TempDir()
	env := []string{"TIDELINE_AUTH_ARGON2_MEMORY=64KiB", "TIDELINE_DATA_DIR=" + dataDir, "TIDELINE_AUTH_ACCESS_TOKEN_TTL=1h",
		`TIDELINE_SYNC_COLLECTIONS=[{"name":"lists","read":"owner-shared"}]`}
	env = append(env, engineEnv...)
	var server atomic.Pointer[proc]
	start := func() {
		p := startAPI(t, env, "--addr", addr)
		p.waitFor("tideline listening")
		server.Store(p)
	}
	start()
	base := "http://" + addr
	proxy := newFaultProxy(t, addr, seed)
	via := "http://" + proxy.ln.Addr().String()

	const users, devices, steps = 3, 7, 60
	var accounts [users]syncUser
	for u := range users {
		accounts[u] = signUp(t, base, fmt.Sprintf("u%d@example.com", u))
	}
	// User 0 shares three lists with the others, who may write them.
	owner, err := tideline.Open(t.Context(), filepath.Join(t.TempDir(), "owner.db"), base, tideline.Token(accounts[0].token))
	if err != nil {
		t.Fatal(err)
	}
	defer owner.Close()
	acl := map[string]any{"read": []string{accounts[1].bucket, accounts[2].bucket}, "write": []string{accounts[1].bucket, accounts[2].bucket}}
	for i := range 3 {
		if err := owner.Collection("lists").Put(t.Context(), fmt.Sprint("shared", i), map[string]any{"_acl": acl, "title": "shared"}); err != nil {
			t.Fatal(err)
		}
	}
	if err := owner.Sync(t.Context()); err != nil {
		t.Fatal(err)
	}

	type device struct {
		user int
		c    *tideline.Client
		rnd  *rand.Rand
	}
	var (
		all       []*device
		incMu     sync.Mutex
		increment = map[counter]int64{} // the sum of the increments issued
		rejected  atomic.Int64
		dir       = t.TempDir()
		src       = t.TempDir()
		attached  sync.Map // sha256 -> true: the content of every file attached
		attaches  atomic.Int64
	)
	loops, stopLoops := context.WithCancel(t.Context())
	defer stopLoops()
	var looping sync.WaitGroup
	for u := range users {
		for d := range devices {
			protocol := 2
			if d == 0 || d == 6 {
				protocol = 1 // a mix of versions
			}
			c, err := tideline.Open(t.Context(), filepath.Join(dir, fmt.Sprintf("u%d-d%d.db", u, d)), via, tideline.Token(accounts[u].token),
				// No keep-alive: every request is a new connection, so the proxy's faults
				// hit requests, not just the few connections a pool would keep.
				tideline.Options{PushBatch: 7, PullLimit: 9, Protocol: protocol, HTTPClient: &http.Client{Timeout: 10 * time.Second,
					Transport: &http.Transport{DisableKeepAlives: true}}})
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			c.Subscribe(func(e tideline.Event) {
				if e.Receipt != nil && (e.Receipt.Status == "rejected" || e.Receipt.Status == "conflict") {
					t.Errorf("%s/%s rejected: %s %s", e.Receipt.Collection, e.Receipt.DocID, e.Receipt.Code, e.Receipt.Message)
					rejected.Add(1)
				}
			})
			all = append(all, &device{user: u, c: c, rnd: rand.New(rand.NewPCG(seed, uint64(u*100+d)))})
			if d >= 3 {
				looping.Go(func() {
					if err := c.Start(loops, tideline.Backoff{Min: 20 * time.Millisecond, Max: 500 * time.Millisecond}); err != nil {
						t.Errorf("the syncer of u%d-d%d stopped: %v", u, d, err)
					}
				})
			}
		}
	}
	inc := func(key counter, n int64) {
		incMu.Lock()
		increment[key] += n
		incMu.Unlock()
	}

	proxy.on.Store(true)
	// The server is killed when the clients have made a third and two thirds of their
	// steps, whatever the machine's speed.
	var done atomic.Int64
	kills := []chan struct{}{make(chan struct{}), make(chan struct{})}
	stepDone := func() {
		switch n := done.Add(1); n {
		case int64(len(all) * steps / 3):
			close(kills[0])
		case int64(len(all) * steps * 2 / 3):
			close(kills[1])
		}
	}
	var wg sync.WaitGroup
	for _, dv := range all {
		wg.Go(func() {
			ctx := t.Context()
			own := dv.c.Collection("todos")
			shared := dv.c.Collection("lists")
			online := true
			for range steps {
				r := dv.rnd
				doc := fmt.Sprint("t", r.IntN(5))
				sh := fmt.Sprint("shared", r.IntN(3))
				var err error
				switch k := r.IntN(10); k {
				case 0:
					err = own.Put(ctx, doc, map[string]any{"title": fmt.Sprint("v", r.IntN(100)), "by": dv.user})
				case 1:
					err = own.Patch(ctx, doc, tideline.Set("done", r.IntN(2) == 0))
				case 2:
					n := int64(1 + r.IntN(5))
					if err = own.Patch(ctx, "counter", tideline.IncInt("n", n)); err == nil {
						inc(counter{dv.user, "todos/counter", "n"}, n)
					}
				case 3:
					n := int64(1 + r.IntN(5))
					if err = shared.Patch(ctx, sh, tideline.IncInt("count", n)); err == nil {
						inc(counter{-1, "lists/" + sh, "count"}, n)
					}
				case 4:
					err = shared.Patch(ctx, sh, tideline.Add("tags", fmt.Sprint("tag", r.IntN(6))))
				case 5:
					err = shared.Patch(ctx, sh, tideline.Remove("tags", fmt.Sprint("tag", r.IntN(6))))
				case 6:
					err = own.Delete(ctx, doc)
				case 7:
					err = shared.Patch(ctx, sh, tideline.Set(fmt.Sprint("note", dv.user), r.IntN(1000)))
				case 8:
					online = !online // go offline or come back
				case 9: // a photo, on an own or a shared document
					b := make([]byte, 1000+r.IntN(15000))
					for i := range b {
						b[i] = byte(r.Uint32())
					}
					h := sha256.Sum256(b)
					sum := hex.EncodeToString(h[:])
					name := filepath.Join(src, fmt.Sprintf("u%d-%s.jpg", dv.user, sum[:16]))
					if err = os.WriteFile(name, b, 0o600); err != nil {
						break
					}
					attached.Store(sum, true)
					attaches.Add(1)
					if r.IntN(2) == 0 {
						_, err = dv.c.Attach(ctx, "todos", doc, "photo", name, "")
					} else {
						_, err = dv.c.Attach(ctx, "lists", sh, fmt.Sprint("photo", dv.user), name, "")
					}
				}
				if err != nil {
					t.Errorf("local write: %v", err)
					return
				}
				if online && r.IntN(3) == 0 {
					dv.c.Upload(ctx) // errors are expected: faults, a dead server
					dv.c.Sync(ctx)
				}
				stepDone()
			}
		})
	}
	// Kill the server twice during the run.
	clients := make(chan struct{})
	go func() { wg.Wait(); close(clients) }()
	for _, kill := range kills {
		select {
		case <-kill:
		case <-clients: // every client failed early: reported below
		}
		p := server.Load()
		p.cmd.Process.Signal(syscall.SIGKILL)
		<-p.exited
		start()
	}
	<-clients
	if t.Failed() {
		return
	}

	// Quiescence: no faults, no syncers; everyone syncs until nothing is pending, twice over.
	proxy.on.Store(false)
	if metrics, err := httpGet(base + "/metrics"); err == nil {
		for _, line := range strings.Split(metrics, "\n") {
			if strings.HasPrefix(line, "tideline_sync_stream_changes_total ") || strings.HasPrefix(line, "tideline_sync_stream_fallbacks_total") {
				t.Logf("since the last restart: %s", line)
			}
		}
	}
	stopLoops()
	looping.Wait()
	deadline := time.Now().Add(60 * time.Second)
	for round := 0; round < 2; round++ {
		for _, dv := range all {
			for {
				err := dv.c.Upload(t.Context())
				if err == nil {
					err = dv.c.Sync(t.Context())
				}
				if st := dv.c.Status(); err == nil && st.Pending == 0 && st.Uploads == 0 {
					break
				}
				if time.Now().After(deadline) {
					t.Fatalf("a client did not reach quiescence: %v, %d pending", err, dv.c.Status().Pending)
				}
			}
		}
	}
	if err := owner.Sync(t.Context()); err != nil {
		t.Fatal(err)
	}
	t.Logf("faults: %d connections refused, %d answers cut, %d requests cut; 2 server kills; %d files attached",
		proxy.drops.Load(), proxy.cuts.Load(), proxy.upcuts.Load(), attaches.Load())

	// Every device's view equals what a fresh client of its user pulls from the server.
	referenced := map[string]string{} // file id -> sha256: what the users' documents refer to
	views := func(c *tideline.Client) map[string]map[string]any {
		out := map[string]map[string]any{}
		for _, col := range []string{"todos", "lists"} {
			docs, err := c.Collection(col).Find(t.Context(), tideline.Query{})
			if err != nil {
				t.Fatal(err)
			}
			for _, d := range docs {
				out[col+"/"+d.ID] = d.Fields
			}
		}
		return out
	}
	for u := range users {
		fresh, err := tideline.Open(t.Context(), filepath.Join(t.TempDir(), "fresh.db"), base, tideline.Token(accounts[u].token))
		if err != nil {
			t.Fatal(err)
		}
		if err := fresh.Sync(t.Context()); err != nil {
			t.Fatal(err)
		}
		truth := views(fresh)
		for _, fields := range truth {
			for _, v := range fields {
				if ref, ok := tideline.AsFileRef(v); ok && ref.ID != "" {
					referenced[ref.ID] = ref.SHA256
				}
			}
		}
		fresh.Close()
		for _, dv := range all {
			if dv.user != u {
				continue
			}
			if got := views(dv.c); !reflect.DeepEqual(got, truth) {
				for k := range merged(got, truth) {
					if !reflect.DeepEqual(got[k], truth[k]) {
						a, _ := json.Marshal(got[k])
						b, _ := json.Marshal(truth[k])
						t.Errorf("user %d, %s: device %s (client %s), server %s", u, k, a, dv.c.ClientID(), b)
					}
				}
				t.FailNow()
			}
		}
		// Every counter is the sum of its increments: none lost, none applied twice.
		for key, want := range increment {
			if key.user != u && key.user != -1 {
				continue
			}
			got, ok := truth[key.doc][key.field].(json.Number)
			if !ok || got.String() != strconv.FormatInt(want, 10) {
				t.Fatalf("user %d: %s.%s is %v, want %d (the sum of its increments)", u, key.doc, key.field, truth[key.doc][key.field], want)
			}
		}
	}
	if n := rejected.Load(); n > 0 {
		t.Fatalf("%d writes were rejected", n)
	}

	// Every device opens every file its documents refer to (downloaded through the
	// document, or kept from its own upload), with the hash of the bytes attached; no
	// reference is left pending or failed.
	opened := 0
	for _, dv := range all {
		for _, col := range []string{"todos", "lists"} {
			docs, err := dv.c.Collection(col).Find(t.Context(), tideline.Query{})
			if err != nil {
				t.Fatal(err)
			}
			for _, d := range docs {
				for field, v := range d.Fields {
					ref, ok := tideline.AsFileRef(v)
					if !ok {
						continue
					}
					if ref.ID == "" {
						t.Fatalf("user %d: %s/%s.%s is still %s at quiescence", dv.user, col, d.ID, field, js(v))
					}
					if _, ok := attached.Load(ref.SHA256); !ok {
						t.Fatalf("%s/%s.%s refers to content nobody attached: %s", col, d.ID, field, js(v))
					}
					p, err := dv.c.OpenFile(t.Context(), col, d.ID, ref)
					if err != nil {
						t.Fatalf("user %d cannot open %s/%s.%s: %v", dv.user, col, d.ID, field, err)
					}
					b, err := os.ReadFile(p)
					if err != nil {
						t.Fatal(err)
					}
					if h := sha256.Sum256(b); hex.EncodeToString(h[:]) != ref.SHA256 {
						t.Fatalf("user %d: %s/%s.%s opened with another hash", dv.user, col, d.ID, field)
					}
					opened++
				}
			}
		}
	}
	t.Logf("every device opened every attachment it may read: %d opens", opened)

	if engineEnv == nil {
		noOrphanAfterSweeps(t, server.Load(), dataDir, referenced, func(extra ...string) *proc {
			p := startAPI(t, append(append([]string(nil), env...), extra...), "--addr", addr)
			p.waitFor("tideline listening")
			return p
		})
	}
}

// noOrphanAfterSweeps restarts the embedded engine's server with a retention and an upload
// expiry of a millisecond and a sweep every 50 ms, and waits for the sweeps (their log
// records) that delete the files no document refers to (those that uploads cut, restarted
// or canceled left, and the references replaced or deleted), the unfinished uploads and
// any content a kill left. Then the files are exactly those the users' documents refer to,
// no upload is left, and the content on disk is exactly theirs.
func noOrphanAfterSweeps(t *testing.T, p *proc, dataDir string, referenced map[string]string, restart func(extra ...string) *proc) {
	t.Helper()
	p.cmd.Process.Signal(syscall.SIGKILL)
	<-p.exited
	dbPath := filepath.Join(dataDir, "tideline.db")
	db, err := sql.Open("sqlite", "file:"+dbPath+"?_pragma=busy_timeout(10000)")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	state := func() (fileIDs []string, uploads int, blobs []string) {
		t.Helper()
		rows, err := db.QueryContext(t.Context(), `SELECT id FROM files ORDER BY id`)
		if err != nil {
			t.Fatal(err)
		}
		defer rows.Close()
		for rows.Next() {
			var id string
			if err := rows.Scan(&id); err != nil {
				t.Fatal(err)
			}
			fileIDs = append(fileIDs, id)
		}
		if err := db.QueryRowContext(t.Context(), `SELECT count(*) FROM file_uploads`).Scan(&uploads); err != nil {
			t.Fatal(err)
		}
		filepath.WalkDir(filepath.Join(dataDir, "files", "blobs"), func(path string, d fs.DirEntry, err error) error {
			if err == nil && !d.IsDir() {
				blobs = append(blobs, d.Name())
			}
			return nil
		})
		return fileIDs, uploads, blobs
	}
	ids, uploads, blobs := state()
	orphans := 0
	for _, id := range ids {
		if _, ok := referenced[id]; !ok {
			orphans++
		}
	}
	wantBlobs := map[string]bool{}
	for _, sum := range referenced {
		wantBlobs[sum] = true
	}
	extraBlobs := func(blobs []string) int {
		n := 0
		for _, b := range blobs {
			if !wantBlobs[b] {
				n++
			}
		}
		return n
	}
	t.Logf("before the sweeps: %d files (%d referenced, %d orphans), %d unfinished uploads, %d blobs (%d unreferenced)",
		len(ids), len(referenced), orphans, uploads, len(blobs), extraBlobs(blobs))

	// The killed process held the files sweeper's lease, for sync.sweepEvery/2 + 1 min (6
	// min here) from its last sweep (files.Service.Sweep; its holder id is per process):
	// release it, as that time passing would, so that the new process may sweep.
	if _, err := db.ExecContext(t.Context(), `DELETE FROM sync_leases WHERE name = 'files-sweep'`); err != nil {
		t.Fatal(err)
	}
	p = restart("TIDELINE_SYNC_RETENTION=1ms", "TIDELINE_SYNC_SWEEP_EVERY=50ms", "TIDELINE_FILES_UPLOAD_EXPIRY=1ms")
	var deleted, expired, content float64
	for n := 1; deleted < float64(orphans) || expired < float64(uploads) || (extraBlobs(blobs) > 0 && content == 0); n++ {
		rec := p.log.WaitForN(t, "files sweep", n, p.exited)[n-1]
		d, _ := rec["deleted"].(float64)
		u, _ := rec["uploads"].(float64)
		c, _ := rec["content"].(float64)
		deleted, expired, content = deleted+d, expired+u, content+c
	}
	ids, uploads, blobs = state()
	for _, id := range ids {
		if _, ok := referenced[id]; !ok {
			t.Errorf("file %s is left after the sweeps, and no document refers to it", id)
		}
	}
	if len(ids) != len(referenced) {
		t.Errorf("after the sweeps: %d files, the documents refer to %d", len(ids), len(referenced))
	}
	if uploads != 0 || extraBlobs(blobs) != 0 || len(blobs) != len(wantBlobs) {
		t.Errorf("after the sweeps: %d unfinished uploads, %d blobs (%d unreferenced), want 0 and %d", uploads, len(blobs), extraBlobs(blobs), len(wantBlobs))
	}
	if entries, _ := os.ReadDir(filepath.Join(dataDir, "files", "uploads")); len(entries) != 0 {
		t.Errorf("after the sweeps: %d upload files left on disk", len(entries))
	}
	t.Logf("the sweeps deleted %v orphan files, %v unfinished uploads, %v leftover contents: no orphan is left", deleted, expired, content)
}

// counter names an incremented field: of a user's own document (user), or of a shared one
// (user -1); doc is "collection/docId".
type counter struct {
	user       int
	doc, field string
}

func merged[V any](a, b map[string]V) map[string]bool {
	out := map[string]bool{}
	for k := range a {
		out[k] = true
	}
	for k := range b {
		out[k] = true
	}
	return out
}
