package main

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/tideline-dev/tideline/auth/authtest"
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
