package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/tideline-dev/tideline/internal/testkit"
	"github.com/tideline-dev/tideline/store/storetest"
)

// These tests build the real binary and run it as a newcomer would, talking to it only
// over HTTP, signals and its log.

var (
	buildOnce sync.Once
	binPath   string
	buildErr  error
)

func binary(t testing.TB) string {
	t.Helper()
	if testing.Short() {
		t.Skip("-short: builds and runs the server binary")
	}
	buildOnce.Do(func() {
		dir, err := os.MkdirTemp("", "tideline-e2e-")
		if err != nil {
			buildErr = err
			return
		}
		binPath = filepath.Join(dir, "api")
		out, err := exec.Command("go", "build", "-buildvcs=false", "-o", binPath, ".").CombinedOutput()
		if err != nil {
			buildErr = fmt.Errorf("go build: %v\n%s", err, out)
		}
	})
	if buildErr != nil {
		t.Fatal(buildErr)
	}
	return binPath
}

func TestMain(m *testing.M) {
	code := m.Run()
	if binPath != "" {
		os.RemoveAll(filepath.Dir(binPath))
	}
	os.Exit(code)
}

// proc is a running server process.
type proc struct {
	t      testing.TB
	cmd    *exec.Cmd
	log    *testkit.LogSink
	exited chan struct{}
	code   int
}

// startAPI starts the binary with args and extra environment variables.
func startAPI(t testing.TB, env []string, args ...string) *proc {
	t.Helper()
	p := &proc{t: t, log: testkit.NewLogSink(), exited: make(chan struct{})}
	p.cmd = exec.Command(binary(t), append([]string{"--log-format", "json"}, args...)...)
	// The developer's own TIDELINE_* settings must not reach the server under test.
	p.cmd.Env = slices.DeleteFunc(os.Environ(), func(kv string) bool { return strings.HasPrefix(kv, "TIDELINE_") })
	p.cmd.Env = append(p.cmd.Env, env...)
	p.cmd.Dir = t.TempDir() // no tideline.yaml, no ./data from elsewhere
	p.cmd.Stderr = p.log
	if err := p.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() {
		_ = p.cmd.Wait()
		p.code = p.cmd.ProcessState.ExitCode()
		close(p.exited)
	}()
	t.Cleanup(func() {
		_ = p.cmd.Process.Kill()
		<-p.exited
	})
	return p
}

func (p *proc) waitFor(msg string) map[string]any {
	p.t.Helper()
	return p.log.WaitFor(p.t, msg, p.exited)
}

// wait waits for the process to exit and returns its exit code.
func (p *proc) wait() int {
	p.t.Helper()
	select {
	case <-p.exited:
		return p.code
	case <-time.After(60 * time.Second):
		p.t.Fatalf("the server did not exit within 60s:\n%s", p.log)
		return -1
	}
}

// callJSON sends a request (with a JSON body unless body is nil, and a bearer token unless
// token is empty) and decodes the JSON answer.
func callJSON(t testing.TB, method, url, token string, body any) (int, map[string]any) {
	t.Helper()
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			t.Fatal(err)
		}
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequest(method, url, rd)
	if err != nil {
		t.Fatal(err)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var out map[string]any
	_ = json.NewDecoder(resp.Body).Decode(&out)
	return resp.StatusCode, out
}

func getJSON(t *testing.T, url string) (int, map[string]any) {
	t.Helper()
	return callJSON(t, "GET", url, "", nil)
}

// serveAndStop starts the server, checks that it is ready on engine, stops it with SIGTERM
// and checks that the exit is clean. It returns the start-up log record.
func serveAndStop(t *testing.T, env []string, engine string, args ...string) map[string]any {
	t.Helper()
	p := startAPI(t, env, append([]string{"--addr", "127.0.0.1:0"}, args...)...)
	up := p.waitFor("tideline listening")
	base := up["addr"].(string)
	if up["engine"] != engine || up["docs"] != base+"/docs" || up["data"] == "" {
		t.Fatalf("start-up line %v", up)
	}
	if code, body := getJSON(t, base+"/readyz"); code != 200 || body["engine"] != engine {
		t.Fatalf("/readyz: %d %v", code, body)
	}

	if err := p.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	p.waitFor("shutting down")
	p.waitFor("stopped")
	if code := p.wait(); code != 0 {
		t.Fatalf("exit code %d after SIGTERM:\n%s", code, p.log)
	}
	if _, err := net.Dial("tcp", strings.TrimPrefix(base, "http://")); err == nil {
		t.Fatal("the port still accepts connections after exit")
	}
	return up
}

func TestServeEmbedded(t *testing.T) {
	dataDir := filepath.Join(t.TempDir(), "data")
	first := serveAndStop(t, nil, "sqlite", "--data-dir", dataDir)
	if first["data"] != filepath.Join(dataDir, "tideline.db") {
		t.Fatalf("data %v, want the file in %s", first["data"], dataDir)
	}
	second := serveAndStop(t, []string{"TIDELINE_DATA_DIR=" + dataDir}, "sqlite")
	if first["instance"] != second["instance"] || first["instance"] == "" {
		t.Fatalf("restart found other data: instance %v, then %v", first["instance"], second["instance"])
	}
}

func TestServeSIGINT(t *testing.T) {
	p := startAPI(t, nil, "--addr", "127.0.0.1:0", "--data-dir", t.TempDir())
	p.waitFor("tideline listening")
	if err := p.cmd.Process.Signal(os.Interrupt); err != nil {
		t.Fatal(err)
	}
	if code := p.wait(); code != 0 {
		t.Fatalf("exit code %d after SIGINT", code)
	}
}

func TestServeMongoDB(t *testing.T) {
	uri := storetest.MongoURI(t)
	env := []string{testMasterKeyEnv, "TIDELINE_MONGODB_URI=" + uri, "TIDELINE_MONGODB_DATABASE=e2e_" + strings.ReplaceAll(t.Name(), "/", "_")}
	first := serveAndStop(t, env, "mongodb")
	second := serveAndStop(t, env, "mongodb")
	if first["instance"] != second["instance"] || first["instance"] == "" {
		t.Fatalf("restart found other data: instance %v, then %v", first["instance"], second["instance"])
	}
}

func TestServeFailsFast(t *testing.T) {
	busy, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer busy.Close()
	dataDir := t.TempDir()
	holder := startAPI(t, nil, "--addr", "127.0.0.1:0", "--data-dir", dataDir)
	holder.waitFor("tideline listening")

	for _, tt := range []struct {
		name string
		env  []string
		args []string
		code int
		want string
	}{
		{"MongoDBUnreachable", []string{"TIDELINE_MONGODB_URI=mongodb://tideline:s3cret@127.0.0.1:1/app"}, []string{"--mongodb-connect-timeout", "500ms"}, exitFailed, "No MongoDB server at 127.0.0.1:1 answered within 500ms"},
		{"MongoDBURIMalformed", []string{"TIDELINE_MONGODB_URI=mongodb://tideline:s3cret@/app"}, nil, exitFailed, "MongoDB URI is not valid"},
		{"PortInUse", nil, []string{"--addr", busy.Addr().String()}, exitFailed, "Cannot listen on " + busy.Addr().String()},
		{"DataDirInUse", nil, []string{"--data-dir", dataDir}, exitFailed, "is in use by another Tideline process"},
		{"BadSetting", []string{"TIDELINE_LOG_LEVEL=loud"}, nil, exitUsage, "invalid log.level"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			args := tt.args
			if !strings.Contains(strings.Join(args, " "), "--addr") {
				args = append(args, "--addr", "127.0.0.1:0")
			}
			if !strings.Contains(strings.Join(args, " "), "--data-dir") {
				args = append(args, "--data-dir", t.TempDir())
			}
			ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
			defer cancel()
			start := time.Now()
			p := startAPI(t, tt.env, args...)
			select {
			case <-p.exited:
			case <-ctx.Done():
				t.Fatalf("still running after 30s:\n%s", p.log.String())
			}
			if p.code != tt.code || !strings.Contains(p.log.String(), tt.want) {
				t.Fatalf("exit %d (want %d), log lacks %q:\n%s", p.code, tt.code, tt.want, p.log.String())
			}
			if strings.Contains(p.log.String(), "s3cret") {
				t.Fatalf("the log reveals the password:\n%s", p.log.String())
			}
			t.Logf("failed in %v: %s", time.Since(start).Round(time.Millisecond), strings.TrimSpace(p.log.String()))
		})
	}
}
