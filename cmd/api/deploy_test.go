package main

import (
	"bufio"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"
)

// TestDeployFiles checks what can be checked of the deployment files without Docker or
// systemd: the compose file parses and has its shape, and every TIDELINE_* variable the
// files set is a real setting.
func TestDeployFiles(t *testing.T) {
	known := map[string]bool{configEnv: true}
	for _, s := range settings {
		known[envName(s.key)] = true
	}
	checkEnv := func(t *testing.T, file, name string) {
		t.Helper()
		if strings.HasPrefix(name, "TIDELINE_") && !known[name] {
			t.Errorf("%s sets %s, which is not a setting", file, name)
		}
	}

	t.Run("Compose", func(t *testing.T) {
		b, err := os.ReadFile("../../deploy/compose.yaml")
		if err != nil {
			t.Fatal(err)
		}
		var doc struct {
			Services map[string]struct {
				Image       string            `yaml:"image"`
				Command     []string          `yaml:"command"`
				Environment map[string]string `yaml:"environment"`
				Volumes     []string          `yaml:"volumes"`
				Ports       []string          `yaml:"ports"`
			} `yaml:"services"`
			Networks map[string]struct {
				IPAM struct {
					Config []struct {
						Subnet string `yaml:"subnet"`
					} `yaml:"config"`
				} `yaml:"ipam"`
			} `yaml:"networks"`
		}
		if err := yaml.Unmarshal(b, &doc); err != nil {
			t.Fatalf("deploy/compose.yaml: %v", err)
		}
		var names []string
		for name := range doc.Services {
			names = append(names, name)
		}
		slices.Sort(names)
		if want := []string{"caddy", "mongo-init", "mongo1", "mongo2", "mongo3", "tideline1", "tideline2"}; !slices.Equal(names, want) {
			t.Fatalf("services %v, want %v", names, want)
		}
		for _, m := range []string{"mongo1", "mongo2", "mongo3"} {
			if cmd := strings.Join(doc.Services[m].Command, " "); !strings.Contains(cmd, "--replSet rs0") {
				t.Errorf("%s runs %q, not a member of rs0", m, cmd)
			}
			if !strings.Contains(strings.Join(doc.Services["mongo-init"].Command, " "), m+":27017") {
				t.Errorf("mongo-init does not add %s to the replica set", m)
			}
		}
		subnet := doc.Networks["backend"].IPAM.Config[0].Subnet
		for _, n := range []string{"tideline1", "tideline2"} {
			env := doc.Services[n].Environment
			if uri := env["TIDELINE_MONGODB_URI"]; uri != "mongodb://mongo1:27017,mongo2:27017,mongo3:27017/tideline?replicaSet=rs0" {
				t.Errorf("%s: TIDELINE_MONGODB_URI %q", n, uri)
			}
			if env["TIDELINE_HTTP_TRUSTED_PROXIES"] != subnet {
				t.Errorf("%s trusts %q as proxies, the network is %q", n, env["TIDELINE_HTTP_TRUSTED_PROXIES"], subnet)
			}
			for k := range env {
				checkEnv(t, "deploy/compose.yaml", k)
			}
			if len(doc.Services[n].Ports) > 0 {
				t.Errorf("%s publishes ports: only Caddy should", n)
			}
		}
		caddyfile, err := os.ReadFile("../../deploy/Caddyfile")
		if err != nil {
			t.Fatal(err)
		}
		for _, want := range []string{"reverse_proxy tideline1:8080 tideline2:8080", "health_uri /readyz", "Strict-Transport-Security"} {
			if !strings.Contains(string(caddyfile), want) {
				t.Errorf("deploy/Caddyfile lacks %q", want)
			}
		}
		if !slices.Contains(doc.Services["caddy"].Volumes, "./Caddyfile:/etc/caddy/Caddyfile:ro") {
			t.Errorf("caddy does not mount the Caddyfile: %v", doc.Services["caddy"].Volumes)
		}
	})

	t.Run("Dockerfile", func(t *testing.T) {
		b, err := os.ReadFile("../../Dockerfile")
		if err != nil {
			t.Fatal(err)
		}
		text := string(b)
		for _, want := range []string{"CGO_ENABLED=0", "./cmd/api", "USER tideline", "HEALTHCHECK", "/healthz", "COPY --from=build"} {
			if !strings.Contains(text, want) {
				t.Errorf("Dockerfile lacks %q", want)
			}
		}
		for _, f := range strings.Fields(text) {
			if name, _, ok := strings.Cut(f, "="); ok {
				checkEnv(t, "Dockerfile", name)
			}
		}
	})

	t.Run("SystemdUnit", func(t *testing.T) {
		f, err := os.Open(filepath.Join("..", "..", "deploy", "tideline.service"))
		if err != nil {
			t.Fatal(err)
		}
		defer f.Close()
		keys := map[string][]string{}
		sc := bufio.NewScanner(f)
		for sc.Scan() {
			line := strings.TrimSpace(sc.Text())
			if k, v, ok := strings.Cut(line, "="); ok && !strings.HasPrefix(line, "#") {
				keys[k] = append(keys[k], v)
			}
		}
		for k, want := range map[string]string{
			"NoNewPrivileges": "yes", "ProtectSystem": "strict", "PrivateTmp": "yes", "ProtectHome": "yes",
			"ReadWritePaths": "/var/lib/tideline -/var/backups/tideline", "User": "tideline", "CapabilityBoundingSet": "",
		} {
			if !slices.Contains(keys[k], want) {
				t.Errorf("tideline.service: %s=%v, want %q", k, keys[k], want)
			}
		}
		for _, env := range keys["Environment"] {
			name, _, _ := strings.Cut(env, "=")
			checkEnv(t, "deploy/tideline.service", name)
		}
	})
}
