package main

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/tideline-dev/tideline/auth/authtest"
	"github.com/tideline-dev/tideline/store/storetest"
)

// runBinary runs the binary to completion and returns its exit code and output.
func runBinary(t *testing.T, env []string, args ...string) (int, string) {
	t.Helper()
	cmd := exec.Command(binary(t), args...)
	cmd.Env = append(os.Environ(), env...)
	cmd.Dir = t.TempDir()
	out, _ := cmd.CombinedOutput()
	return cmd.ProcessState.ExitCode(), string(out)
}

func TestAdminTools(t *testing.T) {
	dataDir := filepath.Join(t.TempDir(), "data")
	cheap := []string{"TIDELINE_AUTH_ARGON2_MEMORY=64KiB", "TIDELINE_DATA_DIR=" + dataDir}

	code, out := runBinary(t, cheap, "admin", "create", "--email", "Root@Example.com", "--password", "a long admin passphrase")
	if code != 0 || !strings.Contains(out, "created admin root@example.com") {
		t.Fatalf("admin create: %d %s", code, out)
	}
	code, out = runBinary(t, cheap, "admin", "create", "--email", "root@example.com")
	if code != 0 || !strings.Contains(out, "has the admin role") {
		t.Fatalf("admin create again: %d %s", code, out)
	}
	code, out = runBinary(t, cheap, "admin", "create", "--email", "x@example.com", "--password", "123")
	if code != exitFailed || !strings.Contains(out, "password") {
		t.Fatalf("weak password: %d %s", code, out)
	}
	code, out = runBinary(t, cheap, "admin", "create")
	if code != exitUsage || !strings.Contains(out, "--email") {
		t.Fatalf("no email: %d %s", code, out)
	}
	code, out = runBinary(t, cheap, "keys", "rotate")
	if code != 0 || !strings.Contains(out, "new signing key") {
		t.Fatalf("keys rotate: %d %s", code, out)
	}
	code, out = runBinary(t, cheap, "keys", "forget")
	if code != exitUsage || !strings.Contains(out, `unknown command "keys forget"`) {
		t.Fatalf("keys forget: %d %s", code, out)
	}
	for _, help := range [][]string{{"admin", "--help"}, {"keys", "-h"}, {"admin", "help"}} {
		if code, out = runBinary(t, cheap, help...); code != exitOK || !strings.Contains(out, "api admin create --email EMAIL") {
			t.Fatalf("%v: %d %s; want the usage", help, code, out)
		}
	}
	if code, out = runBinary(t, cheap, "admin"); code != exitUsage || !strings.Contains(out, "admin needs a subcommand: create") {
		t.Fatalf("admin alone: %d %s", code, out)
	}

	p := startAPI(t, append(cheap, "TIDELINE_ADMIN_EMAIL=ops@example.com", "TIDELINE_ADMIN_PASSWORD=another admin passphrase"), "--addr", "127.0.0.1:0")
	created := p.waitFor("created the admin account")
	if created["email"] != "ops@example.com" {
		t.Fatalf("bootstrap log %v", created)
	}
	base := p.waitFor("tideline listening")["addr"].(string)
	p.waitFor("emails are written to this log, not sent: set smtp.addr to send them")

	status, login := callJSON(t, "POST", base+"/v1/auth/login", "", map[string]string{"email": "root@example.com", "password": "a long admin passphrase"})
	if status != 200 {
		t.Fatalf("login: %d %v", status, login)
	}
	status, page := callJSON(t, "GET", base+"/v1/admin/users", login["accessToken"].(string), nil)
	if status != 200 || len(page["users"].([]any)) != 2 {
		t.Fatalf("admin users: %d %+v", status, page)
	}
	// The JWKS holds the key the CLI rotated to and the first one.
	code, jwks := getJSON(t, base+"/.well-known/jwks.json")
	if code != 200 || len(jwks["keys"].([]any)) != 2 {
		t.Fatalf("jwks %d %v", code, jwks)
	}
	// While the server runs, the CLI cannot open the embedded data directory.
	code, out = runBinary(t, cheap, "keys", "rotate")
	if code != exitFailed || !strings.Contains(out, "in use by another Tideline process") {
		t.Fatalf("keys rotate while serving: %d %s", code, out)
	}
}

func TestServeExternalProviders(t *testing.T) {
	is := authtest.NewIssuer(t, "tideline-app")
	oidc := fmt.Sprintf(`[{"name":"acme","issuer":%q,"jwksURL":%q,"audience":"tideline-app"}]`, is.URL, is.JWKSURL)
	p := startAPI(t, []string{"TIDELINE_AUTH_OIDC=" + oidc, "TIDELINE_DATA_DIR=" + t.TempDir()}, "--addr", "127.0.0.1:0")
	base := p.waitFor("tideline listening")["addr"].(string)
	status, body := callJSON(t, "POST", base+"/v1/auth/token", "", map[string]string{"provider": "oidc:acme", "token": is.Token("rsa-1", nil)})
	if status != 201 || body["user"].(map[string]any)["email"] != "ada@example.com" {
		t.Fatalf("exchange: %d %v", status, body)
	}

	t.Run("ErrFirebaseEmulatorNotAllowed", func(t *testing.T) {
		code, out := runBinary(t, []string{"FIREBASE_AUTH_EMULATOR_HOST=127.0.0.1:9099", "TIDELINE_AUTH_FIREBASE_PROJECT_ID=demo", "TIDELINE_DATA_DIR=" + t.TempDir()}, "--addr", "127.0.0.1:0")
		if code != exitFailed || !strings.Contains(out, "accept unsigned ID tokens") {
			t.Fatalf("%d %s", code, out)
		}
	})
}

// TestServeSync pushes and pulls through the binary on both engines, and checks that a
// restarted server continues the client's cursor.
func TestServeSync(t *testing.T) {
	for _, engine := range []string{"sqlite", "mongodb"} {
		t.Run(engine, func(t *testing.T) {
			env := []string{"TIDELINE_AUTH_ARGON2_MEMORY=64KiB", "TIDELINE_DATA_DIR=" + t.TempDir()}
			if engine == "mongodb" {
				env = append(env, testMasterKeyEnv, "TIDELINE_MONGODB_URI="+storetest.MongoURI(t), "TIDELINE_MONGODB_DATABASE=e2e_sync")
			}
			start := func() (*proc, string) {
				p := startAPI(t, env, "--addr", "127.0.0.1:0")
				return p, p.waitFor("tideline listening")["addr"].(string)
			}
			p, base := start()
			status, up := callJSON(t, "POST", base+"/v1/auth/signup", "", map[string]string{"email": "ada@example.com", "password": "correct horse battery staple"})
			if status != 201 {
				t.Fatalf("signup %d %v", status, up)
			}
			token := up["accessToken"].(string)
			status, pushed := callJSON(t, "POST", base+"/v1/sync/push", token, map[string]any{"clientId": "phone", "mutations": []map[string]any{
				{"id": 1, "collection": "todos", "docId": "t1", "op": "put", "fields": map[string]any{"title": "Buy milk"}},
				{"id": 2, "collection": "todos", "docId": "t1", "op": "patch", "ops": map[string]any{"count": map[string]any{"inc": 2}}},
			}})
			if status != 200 || pushed["receipts"].([]any)[1].(map[string]any)["status"] != "applied" {
				t.Fatalf("push %d %v", status, pushed)
			}
			status, pulled := callJSON(t, "POST", base+"/v1/sync/pull", token, map[string]any{})
			changes := pulled["changes"].([]any)
			if status != 200 || len(changes) != 1 || changes[0].(map[string]any)["doc"].(map[string]any)["count"] != float64(2) {
				t.Fatalf("pull %d %v", status, pulled)
			}
			cursor := pulled["cursor"].(string)
			if err := p.cmd.Process.Signal(syscall.SIGTERM); err != nil {
				t.Fatal(err)
			}
			if code := p.wait(); code != 0 {
				t.Fatalf("exit %d", code)
			}
			_, base = start()
			status, again := callJSON(t, "POST", base+"/v1/sync/pull", token, map[string]any{"cursor": cursor})
			if status != 200 || len(again["changes"].([]any)) != 0 {
				t.Fatalf("pull after restart %d %v", status, again)
			}
		})
	}
}
