package main

import (
	"bytes"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/tideline-dev/tideline/app"
	"github.com/tideline-dev/tideline/auth"
	"github.com/tideline-dev/tideline/files"
	datasync "github.com/tideline-dev/tideline/sync"
)

func env(m map[string]string) func(string) (string, bool) {
	return func(k string) (string, bool) { v, ok := m[k]; return v, ok }
}

func writeFile(t *testing.T, body string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "tideline.yaml")
	if err := os.WriteFile(p, []byte(body), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestLoadConfigDefaults(t *testing.T) {
	t.Chdir(t.TempDir()) // no ./tideline.yaml here
	cfg, err := loadConfig(nil, env(nil), nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	want := &app.Config{
		Addr:                    "127.0.0.1:8080",
		DataDir:                 "./data",
		MongoDBConnectTimeout:   10 * time.Second,
		MongoDBOperationTimeout: 30 * time.Second,
		LogLevel:                slog.LevelInfo,
		LogFormat:               "auto",
		MaxBodyBytes:            1 << 20,
		ShutdownTimeout:         30 * time.Second,
		Auth: auth.Config{
			Issuer: "tideline", Audience: "tideline", AccessTokenTTL: 15 * time.Minute, RefreshTokenTTL: 720 * time.Hour,
			RefreshReuseGrace: 10 * time.Second, SessionCheckTTL: 30 * time.Second, MinPasswordLength: 8,
			SessionRetention: 720 * time.Hour, AuditRetention: 2160 * time.Hour,
			Argon2: auth.DefaultArgon2, AppName: "Tideline", Limits: &auth.DefaultLimits,
		},
		SMTP:                  auth.SMTPMailer{RequireTLS: true},
		Sync:                  datasync.Config{MaxClockSkew: time.Minute, Retention: 720 * time.Hour},
		SweepEvery:            10 * time.Minute,
		PushDeliveryRetention: 720 * time.Hour,
		Hub:                   datasync.HubConfig{PollEvery: 100 * time.Millisecond, MaxStreams: 20000, MaxStreamsPerUser: 10, NotifyEvery: 30 * time.Second},
		Files:                 files.Config{MaxFileBytes: 100 << 20, UploadExpiry: 24 * time.Hour, URLTTL: 15 * time.Minute},
		ConsoleConfirmAbove:   10000,
		BackupKeep:            7,
	}
	if diff := cmp.Diff(want, cfg); diff != "" {
		t.Fatalf("defaults (-want +got):\n%s", diff)
	}
}

func TestLoadConfigPrecedence(t *testing.T) {
	file := writeFile(t, `
addr: 127.0.0.1:9000
dataDir: /from/file
mongodb:
  database: filedb
  connectTimeout: 3s
http:
  corsOrigins: [https://a.example, "https://b.example/"]
  maxBodyBytes: 512KiB
log:
  level: debug
`)
	cfg, err := loadConfig(
		[]string{"--config", file, "--addr", "127.0.0.1:9002", "--log-level=warn"},
		env(map[string]string{"TIDELINE_ADDR": "127.0.0.1:9001", "TIDELINE_DATA_DIR": "/from/env", "TIDELINE_MONGODB_DATABASE": "envdb"}),
		nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]any{
		"addr (flag over env over file)": cfg.Addr,
		"dataDir (env over file)":        cfg.DataDir,
		"database (env over file)":       cfg.MongoDBDatabase,
		"timeout (file)":                 cfg.MongoDBConnectTimeout,
		"cors (file list, normalised)":   cfg.CORSOrigins,
		"body (file, KiB)":               cfg.MaxBodyBytes,
		"level (flag over file)":         cfg.LogLevel,
		"file":                           cfg.ConfigFile,
	}
	want := map[string]any{
		"addr (flag over env over file)": "127.0.0.1:9002",
		"dataDir (env over file)":        "/from/env",
		"database (env over file)":       "envdb",
		"timeout (file)":                 3 * time.Second,
		"cors (file list, normalised)":   []string{"https://a.example", "https://b.example"},
		"body (file, KiB)":               int64(512 << 10),
		"level (flag over file)":         slog.LevelWarn,
		"file":                           file,
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Fatalf("(-want +got):\n%s", diff)
	}
}

func TestLoadConfigFileFromEnvAndDefault(t *testing.T) {
	file := writeFile(t, "addr: 127.0.0.1:7000\n")
	cfg, err := loadConfig(nil, env(map[string]string{"TIDELINE_CONFIG": file}), nil, nil)
	if err != nil || cfg.Addr != "127.0.0.1:7000" {
		t.Fatalf("TIDELINE_CONFIG: %v, %+v", err, cfg)
	}
	t.Chdir(filepath.Dir(file)) // ./tideline.yaml is read when present
	cfg, err = loadConfig(nil, env(nil), nil, nil)
	if err != nil || cfg.Addr != "127.0.0.1:7000" || cfg.ConfigFile != "tideline.yaml" {
		t.Fatalf("./tideline.yaml: %v, %+v", err, cfg)
	}
}

func TestLoadConfigErrors(t *testing.T) {
	t.Chdir(t.TempDir())
	for _, tt := range []struct {
		name string
		args []string
		env  map[string]string
		file string
		want []string // every piece must be in the error
	}{
		{"BadPortFlag", []string{"--addr", "localhost:99999"}, nil, "", []string{"invalid addr", "flag --addr", "65535"}},
		{"NoPort", []string{"--addr", "localhost"}, nil, "", []string{"invalid addr", "host:port"}},
		{"BadDurationEnv", nil, map[string]string{"TIDELINE_SHUTDOWN_TIMEOUT": "soon"}, "", []string{"invalid shutdownTimeout", "TIDELINE_SHUTDOWN_TIMEOUT", "duration"}},
		{"NegativeDuration", []string{"--mongodb-connect-timeout=-1s"}, nil, "", []string{"mongodb.connectTimeout", "positive"}},
		{"BadURI", nil, map[string]string{"TIDELINE_MONGODB_URI": "postgres://x"}, "", []string{"invalid mongodb.uri", "mongodb://"}},
		{"BadDatabase", []string{"--mongodb-database", "a.b"}, nil, "", []string{"mongodb.database"}},
		{"ShortMasterKey", nil, map[string]string{"TIDELINE_MASTER_KEY": "c2VjcmV0LXZhbHVl"}, "", []string{"invalid masterKey", "32 bytes"}},
		{"TwoMasterKeys", []string{"--master-key-file", "k"}, map[string]string{"TIDELINE_MASTER_KEY": "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8="}, "", []string{"masterKey and masterKeyFile", "one of them"}},
		{"BadLevel", []string{"--log-level", "loud"}, nil, "", []string{"invalid log.level"}},
		{"BadFormat", []string{"--log-format", "xml"}, nil, "", []string{"invalid log.format"}},
		{"TinyBody", []string{"--http-max-body-bytes", "10"}, nil, "", []string{"http.maxBodyBytes", "320KiB"}},
		{"BodyBelowACursor", []string{"--http-max-body-bytes", "256KiB"}, nil, "", []string{"http.maxBodyBytes", "cursor of up to 256KiB"}},
		{"BadSize", []string{"--http-max-body-bytes", "1GB"}, nil, "", []string{"http.maxBodyBytes", "size"}},
		{"BadOrigin", []string{"--http-cors-origins", "https://a.example/path"}, nil, "", []string{"http.corsOrigins", "origin"}},
		{"BadOriginScheme", []string{"--http-cors-origins", "javascript:alert(1)"}, nil, "", []string{"http.corsOrigins"}},
		{"BadProxy", []string{"--http-trusted-proxies", "10.0.0.0/33"}, nil, "", []string{"http.trustedProxies"}},
		{"EmptyDataDir", []string{"--data-dir="}, nil, "", []string{"dataDir", "empty"}},
		{"UnknownFlag", []string{"--adr", ":80"}, nil, "", []string{"adr", "api --help"}},
		{"StrayArgument", []string{"extra"}, nil, "", []string{`unexpected argument "extra"`}},
		{"UnknownFileKey", nil, nil, "adr: :80\n", []string{`unknown setting "adr"`}},
		{"UnknownNestedFileKey", nil, nil, "mongodb:\n  url: x\n", []string{`unknown setting "mongodb.url"`}},
		{"MapForValue", nil, nil, "addr:\n  host: x\n", []string{"addr must be a single value"}},
		{"BadYAML", nil, nil, "addr: [\n", []string{"not valid YAML"}},
		{"BadValueInFile", nil, nil, "log:\n  format: xml\n", []string{"invalid log.format", "tideline.yaml"}},
		{"BadRate", []string{"--auth-limits-login", "lots"}, nil, "", []string{"auth.limits.login", "20/1m"}},
		{"BadArgonMemory", []string{"--auth-argon2-memory", "1KiB"}, nil, "", []string{"auth.argon2.memory"}},
		{"BadBool", []string{"--smtp-require-tls", "maybe"}, nil, "", []string{"smtp.requireTLS", "true or false"}},
		{"ShortMinPassword", []string{"--auth-min-password-length", "3"}, nil, "", []string{"auth.minPasswordLength"}},
		{"LinkWithoutToken", []string{"--auth-verify-email-url", "https://app.example.com/verify"}, nil, "", []string{"auth.verifyEmailURL", "{token}"}},
		{"SMTPWithoutFrom", []string{"--smtp-addr", "smtp.example.com:587"}, nil, "", []string{"smtp.from is required"}},
		{"AdminEmailWithoutPassword", nil, map[string]string{"TIDELINE_ADMIN_EMAIL": "root@example.com"}, "", []string{"admin.password"}},
		{"OIDCNotJSON", nil, map[string]string{"TIDELINE_AUTH_OIDC": "google"}, "", []string{"auth.oidc", "JSON list"}},
		{"OIDCUnknownField", nil, map[string]string{"TIDELINE_AUTH_OIDC": `[{"name":"g","issuer":"https://i.example","jwksURL":"https://i.example/k","audience":"a","secret":"x"}]`}, "", []string{"auth.oidc", "secret"}},
		{"OIDCBadName", nil, map[string]string{"TIDELINE_AUTH_OIDC": `[{"name":"Google!","issuer":"https://i.example","jwksURL":"https://i.example/k","audience":"a"}]`}, "", []string{"auth.oidc", "Google!"}},
		{"OIDCDuplicate", nil, nil, "auth:\n  oidc:\n    - {name: g, issuer: https://i.example, jwksURL: https://i.example/k, audience: a}\n    - {name: g, issuer: https://i.example, jwksURL: https://i.example/k, audience: a}\n", []string{"auth.oidc", "unique"}},
		{"OIDCBadURL", nil, map[string]string{"TIDELINE_AUTH_OIDC": `[{"name":"g","issuer":"https://i.example","jwksURL":"file:///etc/passwd","audience":"a"}]`}, "", []string{"jwksURL"}},
		{"OIDCNoAudience", nil, map[string]string{"TIDELINE_AUTH_OIDC": `[{"name":"g","issuer":"https://i.example","jwksURL":"https://i.example/k"}]`}, "", []string{"audience is required"}},
		{"CollectionsNotJSON", nil, map[string]string{"TIDELINE_SYNC_COLLECTIONS": "todos"}, "", []string{"sync.collections", "list"}},
		{"CollectionBadPolicy", nil, nil, "sync:\n  collections:\n    - {name: todos, policy: yolo}\n", []string{"sync.collections", `collection "todos"`, "policy"}},
		{"CollectionBadName", nil, map[string]string{"TIDELINE_SYNC_COLLECTIONS": `[{"name":"system.users"}]`}, "", []string{"sync.collections", "name"}},
		{"CollectionBadSchema", nil, map[string]string{"TIDELINE_SYNC_COLLECTIONS": `[{"name":"a","schema":{"type":7}}]`}, "", []string{"schema"}},
		{"CollectionTwice", nil, map[string]string{"TIDELINE_SYNC_COLLECTIONS": `[{"name":"a"},{"name":"a"}]`}, "", []string{"twice"}},
		{"CollectionUnknownKey", nil, map[string]string{"TIDELINE_SYNC_COLLECTIONS": `[{"name":"a","rule":"owner"}]`}, "", []string{"rule"}},
		{"BackupWithoutDir", []string{"--backup-every", "6h"}, nil, "", []string{"backup.dir is required"}},
		{"BackupTooOften", []string{"--backup-every", "10s", "--backup-dir", "/b"}, nil, "", []string{"invalid backup.every", "1m"}},
		{"BackupOnMongoDB", []string{"--backup-every", "6h", "--backup-dir", "/b", "--mongodb-uri", "mongodb://db/app"}, nil, "", []string{"backup.every", "mongodump"}},
		{"BackupKeepZero", []string{"--backup-keep", "0"}, nil, "", []string{"invalid backup.keep"}},
		{"TLSCertWithoutKey", []string{"--tls-cert-file", "/etc/cert.pem"}, nil, "", []string{"tls.certFile and tls.keyFile go together"}},
		{"TLSMissingFiles", []string{"--tls-cert-file", "/no/cert.pem", "--tls-key-file", "/no/key.pem"}, nil, "", []string{"invalid tls.certFile and tls.keyFile", "no such file"}},
		{"RedirectWithoutTLS", []string{"--tls-redirect-addr", ":80"}, nil, "", []string{"tls.redirectAddr", "needs tls.certFile"}},
		{"BadRedirectAddr", []string{"--tls-redirect-addr", "80"}, nil, "", []string{"invalid tls.redirectAddr", "host:port"}},
		{"MissingExplicitFile", []string{"--config", "/no/such/tideline.yaml"}, nil, "", []string{"read config file", "no such file"}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			args := tt.args
			if tt.file != "" {
				args = append([]string{"--config", writeFile(t, tt.file)}, args...)
			}
			_, err := loadConfig(args, env(tt.env), nil, nil)
			if err == nil {
				t.Fatal("no error")
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q lacks %q", err, w)
				}
			}
		})
	}
}

func TestLoadConfigOIDC(t *testing.T) {
	file := writeFile(t, `
auth:
  oidc:
    - name: google
      issuer: https://accounts.google.com
      jwksURL: https://www.googleapis.com/oauth2/v3/certs
      audience: 1234.apps.googleusercontent.com
    - name: corp
      issuer: https://sso.example.com/realms/staff
      jwksURL: https://sso.example.com/realms/staff/protocol/openid-connect/certs
      audience: tideline
  firebase:
    projectId: my-app
`)
	cfg, err := loadConfig([]string{"--config", file}, env(nil), nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	want := []auth.OIDCProvider{
		{Name: "google", Issuer: "https://accounts.google.com", JWKSURL: "https://www.googleapis.com/oauth2/v3/certs", Audience: "1234.apps.googleusercontent.com"},
		{Name: "corp", Issuer: "https://sso.example.com/realms/staff", JWKSURL: "https://sso.example.com/realms/staff/protocol/openid-connect/certs", Audience: "tideline"},
	}
	if diff := cmp.Diff(want, cfg.OIDC); diff != "" || cfg.FirebaseProjectID != "my-app" {
		t.Fatalf("from the file (-want +got):\n%s (firebase %q)", diff, cfg.FirebaseProjectID)
	}
	cfg, err = loadConfig(nil, env(map[string]string{"TIDELINE_AUTH_OIDC": `[{"name":"x","issuer":"https://x.example","jwksURL":"https://x.example/k","audience":"a"}]`}), nil, nil)
	if err != nil || len(cfg.OIDC) != 1 || cfg.OIDC[0].Name != "x" {
		t.Fatalf("from the environment: %v %+v", err, cfg)
	}
}

func TestHelpListsEverySetting(t *testing.T) {
	var out bytes.Buffer
	if _, err := loadConfig([]string{"--help"}, env(nil), &out, nil); err != errHelp {
		t.Fatalf("err = %v, want errHelp", err)
	}
	help := out.String()
	for _, s := range settings {
		def := s.def
		if def == "" {
			def = `""`
		}
		for _, want := range []string{"--" + flagName(s.key) + " ", envName(s.key), "file key " + s.key, "default " + def, s.help} {
			if !strings.Contains(help, want) {
				t.Errorf("help lacks %q", want)
			}
		}
	}
}

func TestNames(t *testing.T) {
	for key, want := range map[string][2]string{
		"addr":                   {"addr", "TIDELINE_ADDR"},
		"dataDir":                {"data-dir", "TIDELINE_DATA_DIR"},
		"mongodb.uri":            {"mongodb-uri", "TIDELINE_MONGODB_URI"},
		"mongodb.connectTimeout": {"mongodb-connect-timeout", "TIDELINE_MONGODB_CONNECT_TIMEOUT"},
		"http.maxBodyBytes":      {"http-max-body-bytes", "TIDELINE_HTTP_MAX_BODY_BYTES"},
		"auth.accessTokenTTL":    {"auth-access-token-ttl", "TIDELINE_AUTH_ACCESS_TOKEN_TTL"},
		"auth.verifyEmailURL":    {"auth-verify-email-url", "TIDELINE_AUTH_VERIFY_EMAIL_URL"},
		"smtp.implicitTLS":       {"smtp-implicit-tls", "TIDELINE_SMTP_IMPLICIT_TLS"},
		"auth.argon2.memory":     {"auth-argon2-memory", "TIDELINE_AUTH_ARGON2_MEMORY"},
		"auth.limits.login":      {"auth-limits-login", "TIDELINE_AUTH_LIMITS_LOGIN"},
	} {
		if f, e := flagName(key), envName(key); f != want[0] || e != want[1] {
			t.Errorf("%s: flag %q env %q, want %q %q", key, f, e, want[0], want[1])
		}
	}
}

func TestRunCommands(t *testing.T) {
	var out, errOut bytes.Buffer
	if code := run(t.Context(), []string{"version"}, env(nil), &out, &errOut); code != exitOK || !strings.HasPrefix(out.String(), "tideline ") {
		t.Fatalf("version: %d %q", code, out.String())
	}
	out.Reset()
	if code := run(t.Context(), []string{"help"}, env(nil), &out, &errOut); code != exitOK || !strings.Contains(out.String(), "--mongodb-uri") {
		t.Fatalf("help: %d", code)
	}
	if code := run(t.Context(), []string{"frobnicate"}, env(nil), &out, &errOut); code != exitUsage || !strings.Contains(errOut.String(), `unknown command "frobnicate"`) {
		t.Fatalf("unknown command: %d %q", code, errOut.String())
	}
	errOut.Reset()
	if code := run(t.Context(), []string{"serve", "--addr", "nope"}, env(nil), &out, &errOut); code != exitUsage || !strings.Contains(errOut.String(), "invalid addr") {
		t.Fatalf("bad flag: %d %q", code, errOut.String())
	}
}

// TestConfigurationDocIsComplete keeps docs/configuration.md in step with the settings.
func TestConfigurationDocIsComplete(t *testing.T) {
	doc, err := os.ReadFile("../../docs/configuration.md")
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range settings {
		def := "`" + s.def + "`"
		if s.def == "" {
			def = "(empty)"
		}
		row := fmt.Sprintf("| `%s` | `--%s` | `%s` | %s |", s.key, flagName(s.key), envName(s.key), def)
		if !strings.Contains(string(doc), row) {
			t.Errorf("docs/configuration.md lacks the row starting %q", row)
		}
	}
}
