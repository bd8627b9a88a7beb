package main

import (
	"bytes"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// TestServeBackupRestore writes through the API while `api backup` runs beside the
// server, restores the backup into a new data directory, and serves it: every write
// acknowledged before the backup began is there, and the restored server takes writes.
func TestServeBackupRestore(t *testing.T) {
	dataDir := filepath.Join(t.TempDir(), "data")
	env := []string{"TIDELINE_AUTH_ARGON2_MEMORY=64KiB", "TIDELINE_DATA_DIR=" + dataDir}
	p := startAPI(t, env, "--addr", "127.0.0.1:0")
	up := p.waitFor("tideline listening")
	base := up["addr"].(string)
	ada := signUp(t, base, "ada@example.com")
	// A file: the backup holds its content, and the restored server serves it.
	fileData := bytes.Repeat([]byte("a photo, say. "), 150_000) // 2.1 MB
	fileID := tusUpload(t, base, ada.token, "photo.jpg", "image/jpeg", fileData)

	// One writer pushes a document per request; acked lists the acknowledged ones in order.
	var mu sync.Mutex
	var acked []string
	stop, stopped, twenty := make(chan struct{}), make(chan struct{}), make(chan struct{})
	go func() {
		defer close(stopped)
		for i := 1; ; i++ {
			select {
			case <-stop:
				return
			default:
			}
			id := fmt.Sprintf("d%04d", i)
			if err := pushOne(base, ada.token, i, id); err != nil {
				t.Errorf("push %s: %v", id, err)
				if i <= 20 {
					close(twenty)
				}
				return
			}
			mu.Lock()
			acked = append(acked, id)
			mu.Unlock()
			if i == 20 {
				close(twenty)
			}
		}
	}()
	acknowledged := func() []string {
		mu.Lock()
		defer mu.Unlock()
		return slices.Clone(acked)
	}
	<-twenty
	before := acknowledged()
	out := filepath.Join(t.TempDir(), "tideline-backup.db")
	start := time.Now()
	code, msg := runBinary(t, env, "backup", "--out", out)
	took := time.Since(start)
	during := len(acknowledged()) - len(before)
	close(stop)
	<-stopped
	if code != 0 || !strings.Contains(msg, "backed up") {
		t.Fatalf("backup: %d %s", code, msg)
	}
	t.Logf("backup in %v while %d writes were acknowledged: %s", took.Round(time.Millisecond), during, strings.TrimSpace(msg))

	restored := filepath.Join(t.TempDir(), "restored")
	code, msg = runBinary(t, nil, "restore", "--from", out, "--data-dir", restored)
	if code != 0 || !strings.Contains(msg, "restored") {
		t.Fatalf("restore: %d %s", code, msg)
	}
	// The master key is not in backups: it goes back into the data directory by hand.
	copyTestFile(t, filepath.Join(dataDir, "master.key"), filepath.Join(restored, "master.key"))
	p2 := startAPI(t, []string{"TIDELINE_AUTH_ARGON2_MEMORY=64KiB", "TIDELINE_DATA_DIR=" + restored}, "--addr", "127.0.0.1:0")
	up2 := p2.waitFor("tideline listening")
	if up2["instance"] != up["instance"] {
		t.Fatalf("restored instance %v, want %v", up2["instance"], up["instance"])
	}
	base2 := up2["addr"].(string)
	// The access token was signed by a key in the backup, and the session is in it too.
	got := map[string]bool{}
	for _, pg := range pullAll(t, base2, ada, "", 1000) {
		for _, c := range pg.Changes {
			got[c.DocID] = true
		}
	}
	for _, id := range before {
		if !got[id] {
			t.Errorf("%s was acknowledged before the backup began and is not in the restored data", id)
		}
	}
	t.Logf("%d acknowledged before the backup, %d documents restored", len(before), len(got))
	req, _ := http.NewRequestWithContext(t.Context(), "GET", base2+"/v1/files/"+fileID, nil)
	req.Header.Set("Authorization", "Bearer "+ada.token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	body, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	sum := sha256.Sum256(fileData)
	if got := sha256.Sum256(body); err != nil || resp.StatusCode != 200 || got != sum || resp.Header.Get("ETag") != `"`+hex.EncodeToString(sum[:])+`"` {
		t.Fatalf("the file on the restored server: %d, %d bytes, %v, ETag %s", resp.StatusCode, len(body), err, resp.Header.Get("ETag"))
	}
	pushApplied(t, base2, ada, "laptop", map[string]any{"id": 100000, "collection": "notes", "docId": "after", "op": "put", "fields": map[string]any{"n": 0}})
	status, login := callJSON(t, "POST", base2+"/v1/auth/login", "", map[string]string{"email": "ada@example.com", "password": "correct horse battery staple"})
	if status != 200 {
		t.Fatalf("login on the restored server: %d %v", status, login)
	}

	t.Run("BadInput", func(t *testing.T) {
		other := filepath.Join(t.TempDir(), "notes.txt")
		os.WriteFile(other, []byte("not a database\n"), 0o600)
		newer := filepath.Join(t.TempDir(), "newer.db")
		copyTestFile(t, out, newer)
		raw, err := sql.Open("sqlite", "file:"+newer)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := raw.Exec(`INSERT INTO schema_migrations (version, name, applied_at) VALUES (9999, 'from the future', 0)`); err != nil {
			t.Fatal(err)
		}
		raw.Close()
		full := t.TempDir()
		os.WriteFile(filepath.Join(full, "tideline.db"), []byte("old"), 0o600)

		for _, tt := range []struct {
			name string
			args []string
			code int
			want string
		}{
			{"BackupWithoutOut", []string{"backup", "--data-dir", dataDir}, exitUsage, "backup needs --out"},
			{"BackupOutExists", []string{"backup", "--data-dir", dataDir, "--out", out}, exitFailed, "exists already"},
			{"BackupNoData", []string{"backup", "--data-dir", t.TempDir(), "--out", filepath.Join(t.TempDir(), "b.db")}, exitFailed, "There is no Tideline database"},
			{"BackupMongoDB", []string{"backup", "--mongodb-uri", "mongodb://127.0.0.1:1/app", "--out", "b.db"}, exitUsage, "mongodump"},
			{"RestoreWithoutFrom", []string{"restore", "--data-dir", t.TempDir()}, exitUsage, "restore needs --from"},
			{"RestoreNotTideline", []string{"restore", "--from", other, "--data-dir", t.TempDir()}, exitFailed, "not a SQLite database"},
			{"RestoreNewerSchema", []string{"restore", "--from", newer, "--data-dir", t.TempDir()}, exitFailed, "written by a newer Tideline (schema version 9999"},
			{"RestoreNotEmpty", []string{"restore", "--from", out, "--data-dir", full}, exitFailed, "is not empty"},
			{"RestoreWhileServing", []string{"restore", "--from", out, "--data-dir", restored, "--force"}, exitFailed, "in use by another Tideline process"},
			{"RestoreForce", []string{"restore", "--from", out, "--data-dir", full, "--force"}, exitOK, "restored"},
		} {
			t.Run(tt.name, func(t *testing.T) {
				code, msg := runBinary(t, nil, tt.args...)
				if code != tt.code || !strings.Contains(msg, tt.want) {
					t.Fatalf("exit %d (want %d), output lacks %q:\n%s", code, tt.code, tt.want, msg)
				}
			})
		}
	})

	if err := p2.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	if code := p2.wait(); code != 0 {
		t.Fatalf("restored server exit %d", code)
	}
}

// pushOne puts document id with mutation id i, and fails unless it was applied. Unlike
// pushMutations it does not stop the test, so a writer goroutine can call it.
func pushOne(base, token string, i int, id string) error {
	body, _ := json.Marshal(map[string]any{"clientId": "laptop", "mutations": []map[string]any{
		{"id": i, "collection": "notes", "docId": id, "op": "put", "fields": map[string]any{"n": i}}}})
	req, err := http.NewRequest("POST", base+"/v1/sync/push", bytes.NewReader(body))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	var out struct {
		Receipts []receipt `json:"receipts"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&out); err != nil || resp.StatusCode != 200 || len(out.Receipts) != 1 || out.Receipts[0].Status != "applied" {
		return fmt.Errorf("status %d, receipts %+v, %v", resp.StatusCode, out.Receipts, err)
	}
	return nil
}

// httpGet returns the body of a GET.
func httpGet(url string) (string, error) {
	resp, err := http.Get(url)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return string(b), err
}

func copyTestFile(t *testing.T, from, to string) {
	t.Helper()
	b, err := os.ReadFile(from)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(to, b, 0o600); err != nil {
		t.Fatal(err)
	}
}

// TestServeScheduledBackups starts a server whose backup.dir holds old backups: the first
// backup is due at once, and only the newest backup.keep are kept.
func TestServeScheduledBackups(t *testing.T) {
	dir := t.TempDir()
	for _, name := range []string{"tideline-20200101T000000Z.db", "tideline-20200102T000000Z.db", "tideline-20200103T000000Z.db", "notes.txt"} {
		os.WriteFile(filepath.Join(dir, name), []byte("x"), 0o600)
	}
	p := startAPI(t, []string{"TIDELINE_DATA_DIR=" + t.TempDir(), "TIDELINE_BACKUP_EVERY=1h", "TIDELINE_BACKUP_DIR=" + dir, "TIDELINE_BACKUP_KEEP=2"}, "--addr", "127.0.0.1:0")
	base := p.waitFor("tideline listening")["addr"].(string)
	if sched := p.waitFor("scheduled backups"); sched["every"] != "1h0m0s" || sched["keep"] != float64(2) {
		t.Fatalf("schedule %v", sched)
	}
	written := p.waitFor("backup written")
	p.log.WaitForN(t, "old backup removed", 2, p.exited)
	var names []string
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		names = append(names, e.Name())
	}
	if len(names) != 3 {
		t.Fatalf("backup.dir holds %v", names)
	}
	if names[0] != "notes.txt" || names[1] != "tideline-20200103T000000Z.db" || filepath.Join(dir, names[2]) != written["file"] {
		t.Fatalf("backup.dir holds %v (written %v)", names, written["file"])
	}
	if st, err := os.Stat(written["file"].(string)); err != nil || st.Mode().Perm() != 0o600 {
		t.Fatalf("backup file: %v %v", st, err)
	}
	resp, err := httpGet(base + "/metrics")
	if err != nil || !strings.Contains(resp, "tideline_backup_last_success_timestamp_seconds ") || strings.Contains(resp, "tideline_backup_last_success_timestamp_seconds 0\n") {
		t.Fatalf("metrics: %v\n%s", err, resp)
	}
}
