package main

import (
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/netip"
	"net/url"
	"os"
	"strconv"
	"strings"
	"time"
	"unicode"

	"github.com/tideline-dev/tideline"
	"github.com/tideline-dev/tideline/app"
	"github.com/tideline-dev/tideline/auth"
	datasync "github.com/tideline-dev/tideline/sync"
	"gopkg.in/yaml.v3"
)

// A setting is one configuration value. Its key is its name in tideline.yaml (dots nest);
// the flag and the environment variable are derived from it: "mongodb.connectTimeout" is
// --mongodb-connect-timeout and TIDELINE_MONGODB_CONNECT_TIMEOUT.
type setting struct {
	key, def, help string
	set            func(c *app.Config, v string) error
}

var settings = []setting{
	{"addr", "127.0.0.1:8080", "Address (host:port) the HTTP server listens on. Port 0 picks a free port.", func(c *app.Config, v string) error {
		c.Addr = v
		return checkAddr(v)
	}},
	{"dataDir", "./data", "Directory of the embedded engine's data (created if missing). Not used with MongoDB.", func(c *app.Config, v string) error {
		if strings.TrimSpace(v) == "" {
			return errors.New("must not be empty")
		}
		c.DataDir = v
		return nil
	}},
	{"mongodb.uri", "", "MongoDB connection string (mongodb:// or mongodb+srv://). When set, the MongoDB engine is used instead of the embedded one.", func(c *app.Config, v string) error {
		if v != "" && !strings.HasPrefix(v, "mongodb://") && !strings.HasPrefix(v, "mongodb+srv://") {
			return errors.New("must start with mongodb:// or mongodb+srv://")
		}
		c.MongoDBURI = v
		return nil
	}},
	{"mongodb.database", "", "MongoDB database name; empty means the one in the URI, else \"tideline\".", func(c *app.Config, v string) error {
		if strings.ContainsAny(v, "/\\. \"$\x00") {
			return errors.New(`must not contain / \ . space " $ or NUL`)
		}
		c.MongoDBDatabase = v
		return nil
	}},
	{"mongodb.connectTimeout", "10s", "How long start-up waits for a MongoDB server to answer before it gives up.", durationSetter(func(c *app.Config) *time.Duration { return &c.MongoDBConnectTimeout })},
	{"mongodb.operationTimeout", "30s", "The longest any one MongoDB operation may take (and a sync commit as a whole) before it fails with 503.", durationSetter(func(c *app.Config) *time.Duration { return &c.MongoDBOperationTimeout })},
	{"log.level", "info", "Log level: debug, info, warn or error.", func(c *app.Config, v string) error {
		return c.LogLevel.UnmarshalText([]byte(v))
	}},
	{"log.format", "auto", "Log format: json, text, or auto (text on a terminal, JSON otherwise).", func(c *app.Config, v string) error {
		if v != "auto" && v != "json" && v != "text" {
			return errors.New("want auto, json or text")
		}
		c.LogFormat = v
		return nil
	}},
	{"http.maxBodyBytes", "1MiB", "Largest request body accepted; larger ones get 413. A number of bytes, or with KiB or MiB; at least 320KiB (a sync pull carries a cursor of up to 256KiB).", func(c *app.Config, v string) error {
		n, err := parseSize(v)
		if err != nil {
			return err
		}
		// A pull carries the client's sync cursor: the limit must let the largest one the
		// server issues through, with room for the rest of the body.
		if least := int64(datasync.MaxCursorBytes + 64<<10); n < least {
			return fmt.Errorf("must be at least %dKiB: a sync pull carries a cursor of up to %dKiB", least>>10, datasync.MaxCursorBytes>>10)
		}
		c.MaxBodyBytes = n
		return nil
	}},
	{"http.corsOrigins", "", "Comma-separated browser origins allowed to call the API (such as https://app.example.com), or * for any. Empty: none.", func(c *app.Config, v string) error {
		c.CORSOrigins = nil
		for _, o := range splitList(v) {
			if o != "*" {
				u, err := url.Parse(o)
				if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || (u.Path != "" && u.Path != "/") || u.RawQuery != "" || u.User != nil {
					return fmt.Errorf("%q is not an origin like https://app.example.com", o)
				}
				o = u.Scheme + "://" + u.Host
			}
			c.CORSOrigins = append(c.CORSOrigins, o)
		}
		return nil
	}},
	{"http.trustedProxies", "", "Comma-separated IPs or CIDRs of reverse proxies whose X-Forwarded-For names the client. Empty: none.", func(c *app.Config, v string) error {
		c.TrustedProxies = nil
		for _, p := range splitList(v) {
			if _, err := netip.ParsePrefix(p); err != nil {
				if _, err := netip.ParseAddr(p); err != nil {
					return fmt.Errorf("%q is not an IP address or CIDR", p)
				}
			}
			c.TrustedProxies = append(c.TrustedProxies, p)
		}
		return nil
	}},
	{"auth.issuer", "tideline", "The iss claim of access tokens (and what verifiers expect).", func(c *app.Config, v string) error { c.Auth.Issuer = v; return nonEmpty(v) }},
	{"auth.audience", "tideline", "The aud claim of access tokens.", func(c *app.Config, v string) error { c.Auth.Audience = v; return nonEmpty(v) }},
	{"auth.accessTokenTTL", "15m", "Lifetime of access tokens.", durationSetter(func(c *app.Config) *time.Duration { return &c.Auth.AccessTokenTTL })},
	{"auth.refreshTokenTTL", "720h", "How long a session lasts without a refresh.", durationSetter(func(c *app.Config) *time.Duration { return &c.Auth.RefreshTokenTTL })},
	{"auth.sessionRetention", "720h", "How long an ended session (expired or revoked) is kept, listed, before the sweep deletes it with its refresh tokens; expired tokens go at once.", durationSetter(func(c *app.Config) *time.Duration { return &c.Auth.SessionRetention })},
	{"auth.auditRetention", "2160h", "How long audit events are kept before the sweep deletes them.", durationSetter(func(c *app.Config) *time.Duration { return &c.Auth.AuditRetention })},
	{"auth.refreshReuseGrace", "10s", "How long after a refresh the spent refresh token still gets the same successor (for a client that lost the response).", durationSetter(func(c *app.Config) *time.Duration { return &c.Auth.RefreshReuseGrace })},
	{"auth.sessionCheckTTL", "30s", "How long a node trusts a checked session: revoked sessions and disabled users are refused on other nodes within this time.", durationSetter(func(c *app.Config) *time.Duration { return &c.Auth.SessionCheckTTL })},
	{"auth.minPasswordLength", "8", "Shortest password accepted, in characters.", intSetter(6, 128, func(c *app.Config) *int { return &c.Auth.MinPasswordLength })},
	{"auth.argon2.memory", "46MiB", "argon2id memory per password hash, with KiB or MiB (see docs/benchmarks.md for the time a hash takes).", func(c *app.Config, v string) error {
		n, err := parseSize(v)
		if err != nil || n < 8<<10 || n > 4<<30 {
			return errors.New("want a size from 8KiB to 4096MiB, such as 46MiB")
		}
		c.Auth.Argon2.MemoryKiB = uint32(n >> 10)
		return nil
	}},
	{"auth.argon2.iterations", "1", "argon2id passes over the memory.", func(c *app.Config, v string) error {
		n, err := boundedInt(v, 1, 100)
		c.Auth.Argon2.Iterations = uint32(n)
		return err
	}},
	{"auth.argon2.parallelism", "1", "argon2id lanes.", func(c *app.Config, v string) error {
		n, err := boundedInt(v, 1, 64)
		c.Auth.Argon2.Parallelism = uint8(n)
		return err
	}},
	{"auth.limits.signup", "10/1h", "Sign-ups and anonymous sign-ins per IP, as N/duration, or off (embedded engine: N at once, refilled N per duration; MongoDB: N per window of the duration, shared by all nodes).", rateSetter(func(l *auth.Limits) *auth.Rate { return &l.Signup })},
	{"auth.limits.login", "30/1m", "Sign-in attempts per IP.", rateSetter(func(l *auth.Limits) *auth.Rate { return &l.Login })},
	{"auth.limits.loginFailures", "10/15m", "Failed sign-ins per account (refills: never a permanent lockout).", rateSetter(func(l *auth.Limits) *auth.Rate { return &l.LoginFailures })},
	{"auth.limits.refresh", "60/1m", "Token refreshes per IP.", rateSetter(func(l *auth.Limits) *auth.Rate { return &l.Refresh })},
	{"auth.limits.email", "5/1h", "Emails (password reset, verification) per IP and per address.", rateSetter(func(l *auth.Limits) *auth.Rate { return &l.Email })},
	{"auth.appName", "Tideline", "The product name in emails.", func(c *app.Config, v string) error { c.Auth.AppName = v; return nonEmpty(v) }},
	{"auth.verifyEmailURL", "", "Link in verification emails, with {token} where the token goes (your app's page or deep link, which calls POST /v1/auth/email/verify). Empty: the email shows the token to paste.", linkSetter(func(c *app.Config) *string { return &c.Auth.VerifyEmailURL })},
	{"auth.resetPasswordURL", "", "Link in password reset emails, with {token} (your app's page, which calls POST /v1/auth/password/reset). Empty: the email shows the token.", linkSetter(func(c *app.Config) *string { return &c.Auth.ResetPasswordURL })},
	{"auth.oidc", "", `External OpenID Connect issuers whose ID tokens sign users in (POST /v1/auth/token, provider "oidc:<name>"): a JSON list of {"name", "issuer", "jwksURL", "audience"} (a YAML list in the file).`, func(c *app.Config, v string) error {
		c.OIDC = nil
		if strings.TrimSpace(v) == "" {
			return nil
		}
		dec := json.NewDecoder(strings.NewReader(v))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&c.OIDC); err != nil {
			return fmt.Errorf(`want a JSON list like [{"name":"google","issuer":"https://accounts.google.com","jwksURL":"https://www.googleapis.com/oauth2/v3/certs","audience":"<client id>"}]: %v`, err)
		}
		seen := map[string]bool{}
		for _, p := range c.OIDC {
			if !auth.ProviderName.MatchString("oidc:"+p.Name) || seen[p.Name] {
				return fmt.Errorf("provider name %q must be unique, lower-case letters, digits and dashes", p.Name)
			}
			seen[p.Name] = true
			for field, u := range map[string]string{"issuer": p.Issuer, "jwksURL": p.JWKSURL} {
				if pu, err := url.Parse(u); err != nil || (pu.Scheme != "https" && pu.Scheme != "http") || pu.Host == "" {
					return fmt.Errorf("provider %q: %s %q is not an http(s) URL", p.Name, field, u)
				}
			}
			if p.Audience == "" {
				return fmt.Errorf("provider %q: audience is required (your app's client id at the issuer)", p.Name)
			}
		}
		return nil
	}},
	{"auth.firebase.projectId", "", `Firebase project whose ID tokens sign users in (POST /v1/auth/token, provider "firebase"), for apps moving from Firebase. Empty: off.`, func(c *app.Config, v string) error { c.FirebaseProjectID = v; return nil }},
	{"auth.firebase.allowEmulator", "false", "Allow FIREBASE_AUTH_EMULATOR_HOST, which makes the Firebase SDK accept unsigned tokens: development only.", boolSetter(func(c *app.Config) *bool { return &c.FirebaseAllowEmulator })},
	{"fcm.credentialsFile", "", "Service-account JSON file of the Firebase project push notifications are sent through (FCM HTTP v1). Empty with fcm.projectId set: Application Default Credentials. Both empty: notifications are written to the log, not sent (development).", func(c *app.Config, v string) error {
		if v != "" {
			if _, err := os.Stat(v); err != nil {
				return fmt.Errorf("cannot read the credentials file: %v", err)
			}
		}
		c.FCM.CredentialsFile = v
		return nil
	}},
	{"fcm.projectId", "", "Firebase project id for push notifications. Empty: the project_id of fcm.credentialsFile.", func(c *app.Config, v string) error { c.FCM.ProjectID = v; return nil }},
	{"fcm.endpoint", "", "FCM API base URL, for FCM-compatible proxies and tests, such as http://127.0.0.1:9099/v1. Empty: Google's.", func(c *app.Config, v string) error {
		if v != "" {
			if u, err := url.Parse(v); err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
				return errors.New("want an http(s) URL such as https://fcm.example.com/v1")
			}
		}
		c.FCM.Endpoint = v
		return nil
	}},
	{"push.deliveryRetention", "720h", "How long the deliveries of a campaign that ended (completed or cancelled) are kept before the sweep deletes them; the campaign keeps its counts and first errors.", func(c *app.Config, v string) error {
		d, err := time.ParseDuration(v)
		if err != nil || d < time.Hour {
			return errors.New("want a duration of at least 1h, such as 720h")
		}
		c.PushDeliveryRetention = d
		return nil
	}},
	{"smtp.addr", "", "SMTP server host:port for emails. Empty: emails are written to the log instead (development).", func(c *app.Config, v string) error {
		if v != "" {
			if _, _, err := net.SplitHostPort(v); err != nil {
				return errors.New("want host:port, such as smtp.example.com:587")
			}
		}
		c.SMTP.Addr = v
		return nil
	}},
	{"smtp.from", "", "Sender address of emails (required with smtp.addr).", func(c *app.Config, v string) error { c.SMTP.From = v; return nil }},
	{"smtp.username", "", "SMTP user name (PLAIN auth, only over TLS).", func(c *app.Config, v string) error { c.SMTP.Username = v; return nil }},
	{"smtp.password", "", "SMTP password. Prefer the environment variable to the flag.", func(c *app.Config, v string) error { c.SMTP.Password = v; return nil }},
	{"smtp.implicitTLS", "false", "Connect with TLS from the start (port 465) instead of STARTTLS.", boolSetter(func(c *app.Config) *bool { return &c.SMTP.ImplicitTLS })},
	{"smtp.requireTLS", "true", "Refuse to send when the server does not offer STARTTLS.", boolSetter(func(c *app.Config) *bool { return &c.SMTP.RequireTLS })},
	{"admin.email", "", "At start, create this admin account if no account has the email (with admin.password). Existing accounts are left alone.", func(c *app.Config, v string) error { c.AdminEmail = v; return nil }},
	{"admin.password", "", "Password of the admin.email account created at start. Prefer the environment variable.", func(c *app.Config, v string) error { c.AdminPassword = v; return nil }},
	{"console.confirmAbove", "10000", "The admin console (/console) asks for confirmation before sending a campaign to more devices than this; 0 asks before every campaign.", intSetter(0, 1_000_000_000, func(c *app.Config) *int { return &c.ConsoleConfirmAbove })},
	{"sync.collections", "", `Synced collections: a list of {"name", "policy" (lww, server-wins, optimistic), "read" (owner, owner-shared, authenticated-read, public-read), "schema" (a JSON Schema), "maxDocBytes", "notify"} (YAML in the file, JSON in the variable or flag). Unlisted collections are owner-private lww, unless sync.strictCollections.`, func(c *app.Config, v string) error {
		c.Sync.Collections = nil
		if strings.TrimSpace(v) == "" {
			return nil
		}
		var list []struct {
			Name        string            `json:"name"`
			Policy      datasync.Policy   `json:"policy"`
			Read        datasync.ReadRule `json:"read"`
			Schema      json.RawMessage   `json:"schema"`
			MaxDocBytes int               `json:"maxDocBytes"`
			Notify      *bool             `json:"notify"`
		}
		dec := json.NewDecoder(strings.NewReader(v))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&list); err != nil {
			return fmt.Errorf(`want a list like [{"name":"todos","policy":"lww","read":"owner"}]: %v`, err)
		}
		seen := map[string]bool{}
		for _, l := range list {
			col := datasync.Collection{Name: l.Name, Policy: l.Policy, Read: l.Read, Schema: l.Schema, MaxDocBytes: l.MaxDocBytes, Notify: l.Notify == nil || *l.Notify}
			if err := col.Validate(); err != nil {
				return fmt.Errorf("collection %q: %s", l.Name, tideline.ErrorMessage(err))
			}
			if seen[l.Name] {
				return fmt.Errorf("collection %q is listed twice", l.Name)
			}
			seen[l.Name] = true
			c.Sync.Collections = append(c.Sync.Collections, col)
		}
		return nil
	}},
	{"sync.strictCollections", "false", "Refuse pushes to collections not listed in sync.collections or configured through the admin API.", boolSetter(func(c *app.Config) *bool { return &c.Sync.StrictCollections })},
	{"sync.maxClockSkew", "60s", "How far ahead of the server's clock a client's HLC may be before the server clamps it (so a wrong clock cannot make writes win forever).", durationSetter(func(c *app.Config) *time.Duration { return &c.Sync.MaxClockSkew })},
	{"sync.retention", "720h", "How long tombstones and eviction markers are kept. A device offline for longer syncs the affected buckets again (keeping its pending writes).", durationSetter(func(c *app.Config) *time.Duration { return &c.Sync.Retention })},
	{"sync.sweepEvery", "10m", "How often a node tries to purge what is older than sync.retention (one node at a time, under a lease), deletes expired auth tokens, ended sessions and old audit events, and runs the files sweeper (files no document has referred to for sync.retention, abandoned uploads).", durationSetter(func(c *app.Config) *time.Duration { return &c.SweepEvery })},
	{"sync.pollEvery", "100ms", "How often a node reads the sync watermark to learn of new changes (its own and other nodes') and poke its realtime streams.", durationSetter(func(c *app.Config) *time.Duration { return &c.Hub.PollEvery })},
	{"sync.maxStreams", "20000", "Most realtime streams (WebSocket and SSE) open on one node; past it new ones get 503.", intSetter(1, 1_000_000, func(c *app.Config) *int { return &c.Hub.MaxStreams })},
	{"sync.maxStreamsPerUser", "10", "Most realtime streams one account may have open on one node; past it its new ones get 429 (one account cannot take every slot).", intSetter(1, 1_000_000, func(c *app.Config) *int { return &c.Hub.MaxStreamsPerUser })},
	{"sync.notifyEvery", "30s", "Least time between two wake-ups (silent pushes) of one user with no open stream.", durationSetter(func(c *app.Config) *time.Duration { return &c.Hub.NotifyEvery })},
	{"files.maxFileBytes", "100MiB", "Largest file one upload may declare; larger ones get 413. A number of bytes, or with KiB or MiB.", func(c *app.Config, v string) error {
		n, err := parseSize(v)
		if err != nil {
			return err
		}
		if n < 1 {
			return errors.New("must be at least 1 byte")
		}
		c.Files.MaxFileBytes = n
		return nil
	}},
	{"files.quotaBytes", "0", "How much each user's files may hold in total; an upload past it gets 413. A number of bytes, or with KiB or MiB; 0: no quota.", func(c *app.Config, v string) error {
		n, err := parseSize(v)
		if err != nil {
			return err
		}
		c.Files.QuotaBytes = n
		return nil
	}},
	{"files.signedUrlTtl", "15m", "How long a signed download URL (POST /v1/files/{id}/url) works, at most 24h.", func(c *app.Config, v string) error {
		d, err := time.ParseDuration(v)
		if err != nil || d < time.Second || d > 24*time.Hour {
			return errors.New("must be a duration from 1s to 24h, such as 15m")
		}
		c.Files.URLTTL = d
		return nil
	}},
	{"files.uploadExpiry", "24h", "How long an unfinished upload is kept (from when it started) before the sweeper deletes it with its bytes.", durationSetter(func(c *app.Config) *time.Duration { return &c.Files.UploadExpiry })},
	{"backup.every", "off", "How often the server backs up the embedded engine's data into backup.dir (at least 1m), or off. The first backup is due one interval after the newest one in backup.dir.", func(c *app.Config, v string) error {
		c.BackupEvery = 0
		if v == "off" || v == "" {
			return nil
		}
		d, err := time.ParseDuration(v)
		if err != nil || d < time.Minute {
			return errors.New("want off or a duration of at least 1m, such as 6h")
		}
		c.BackupEvery = d
		return nil
	}},
	{"backup.dir", "", "Directory of scheduled backups (created if missing), best on another disk than dataDir. Required with backup.every.", func(c *app.Config, v string) error { c.BackupDir = v; return nil }},
	{"backup.keep", "7", "How many scheduled backups to keep; older ones are removed after each new backup.", intSetter(1, 100_000, func(c *app.Config) *int { return &c.BackupKeep })},
	{"tls.certFile", "", "PEM certificate chain file: with tls.keyFile, the server serves HTTPS. Both files are read again on SIGHUP and when they change.", func(c *app.Config, v string) error { c.TLSCertFile = v; return nil }},
	{"tls.keyFile", "", "PEM private key file of tls.certFile.", func(c *app.Config, v string) error { c.TLSKeyFile = v; return nil }},
	{"tls.redirectAddr", "", "With TLS, also listen for plain HTTP here (such as :80) and redirect every request to HTTPS. Empty: off.", func(c *app.Config, v string) error {
		if v != "" {
			if err := checkAddr(v); err != nil {
				return err
			}
		}
		c.TLSRedirectAddr = v
		return nil
	}},
	{"masterKey", "", "Master key that encrypts private signing keys and server secrets at rest: base64 of 32 random bytes (openssl rand -base64 32). Prefer the environment variable to the flag. Required on MongoDB unless masterKeyFile is set.", func(c *app.Config, v string) error { c.MasterKey = v; return nil }},
	{"masterKeyFile", "", "File holding the master key (base64 of 32 bytes). Empty, with no masterKey: the embedded engine uses master.key in dataDir, created (mode 0600) at the first start.", func(c *app.Config, v string) error { c.MasterKeyFile = v; return nil }},
	{"shutdownTimeout", "30s", "On SIGINT or SIGTERM, how long in-flight requests may take to finish before the server stops anyway.", durationSetter(func(c *app.Config) *time.Duration { return &c.ShutdownTimeout })},
}

// checkAddr checks a listen address: host:port with a port from 0 to 65535.
func checkAddr(v string) error {
	_, port, err := net.SplitHostPort(v)
	if err != nil {
		return errors.New("want host:port, such as 127.0.0.1:8080 or :8080")
	}
	if n, err := strconv.Atoi(port); err != nil || n < 0 || n > 65535 {
		return fmt.Errorf("port %q is not a number from 0 to 65535", port)
	}
	return nil
}

func durationSetter(field func(*app.Config) *time.Duration) func(*app.Config, string) error {
	return func(c *app.Config, v string) error {
		d, err := time.ParseDuration(v)
		if err != nil {
			return fmt.Errorf("%q is not a duration such as 10s or 1m30s", v)
		}
		if d <= 0 {
			return errors.New("must be positive")
		}
		*field(c) = d
		return nil
	}
}

func nonEmpty(v string) error {
	if strings.TrimSpace(v) == "" {
		return errors.New("must not be empty")
	}
	return nil
}

func boundedInt(v string, lo, hi int) (int, error) {
	n, err := strconv.Atoi(v)
	if err != nil || n < lo || n > hi {
		return 0, fmt.Errorf("want a whole number from %d to %d", lo, hi)
	}
	return n, nil
}

func intSetter(lo, hi int, field func(*app.Config) *int) func(*app.Config, string) error {
	return func(c *app.Config, v string) error {
		n, err := boundedInt(v, lo, hi)
		*field(c) = n
		return err
	}
}

func boolSetter(field func(*app.Config) *bool) func(*app.Config, string) error {
	return func(c *app.Config, v string) error {
		b, err := strconv.ParseBool(v)
		if err != nil {
			return errors.New("want true or false")
		}
		*field(c) = b
		return nil
	}
}

func rateSetter(field func(*auth.Limits) *auth.Rate) func(*app.Config, string) error {
	return func(c *app.Config, v string) error {
		r, err := auth.ParseRate(v)
		if err != nil {
			return err
		}
		if c.Auth.Limits == nil {
			c.Auth.Limits = &auth.Limits{}
		}
		*field(c.Auth.Limits) = r
		return nil
	}
}

func linkSetter(field func(*app.Config) *string) func(*app.Config, string) error {
	return func(c *app.Config, v string) error {
		if v != "" {
			u, err := url.Parse(v)
			if err != nil || u.Scheme == "" || !strings.Contains(v, "{token}") {
				return errors.New("want an absolute URL containing {token}, such as https://app.example.com/verify?token={token}")
			}
		}
		*field(c) = v
		return nil
	}
}

// parseSize reads a byte count: a number, optionally followed by KiB or MiB.
func parseSize(v string) (int64, error) {
	mult := int64(1)
	num := v
	for suffix, m := range map[string]int64{"KiB": 1 << 10, "MiB": 1 << 20} {
		if strings.HasSuffix(v, suffix) {
			num, mult = strings.TrimSpace(strings.TrimSuffix(v, suffix)), m
		}
	}
	n, err := strconv.ParseInt(num, 10, 64)
	if err != nil || n < 0 || n > (1<<40)/mult {
		return 0, fmt.Errorf("%q is not a size such as 1048576, 512KiB or 1MiB", v)
	}
	return n * mult, nil
}

func splitList(v string) []string {
	var out []string
	for _, s := range strings.Split(v, ",") {
		if s = strings.TrimSpace(s); s != "" {
			out = append(out, s)
		}
	}
	return out
}

// envName and flagName derive a setting's environment variable and flag from its key.
func envName(key string) string {
	return "TIDELINE_" + strings.ToUpper(strings.Join(words(key), "_"))
}

func flagName(key string) string { return strings.Join(words(key), "-") }

// words splits "mongodb.connectTimeout" into mongodb, connect, timeout, keeping acronyms
// whole: "auth.accessTokenTTL" is auth, access, token, ttl.
func words(key string) []string {
	var out []string
	for _, part := range strings.Split(key, ".") {
		r := []rune(part)
		start := 0
		for i := 1; i < len(r); i++ {
			lowerBefore := unicode.IsLower(r[i-1]) || unicode.IsDigit(r[i-1])
			acronymEnds := unicode.IsUpper(r[i-1]) && i+1 < len(r) && unicode.IsLower(r[i+1])
			if unicode.IsUpper(r[i]) && (lowerBefore || acronymEnds) {
				out = append(out, strings.ToLower(string(r[start:i])))
				start = i
			}
		}
		out = append(out, strings.ToLower(string(r[start:])))
	}
	return out
}

const (
	defaultConfigFile = "tideline.yaml"
	configFlag        = "config"
	configEnv         = "TIDELINE_CONFIG"
)

// errHelp is returned by loadConfig when --help was asked for; the usage has been printed.
var errHelp = errors.New("help requested")

// loadConfig reads the configuration: defaults, then tideline.yaml, then TIDELINE_*
// environment variables, then flags, each overriding the one before. The file is the one
// named by --config or TIDELINE_CONFIG, else ./tideline.yaml when it exists. Errors name
// the setting and where its bad value came from.
//
// extra, when not nil, adds a command's own flags (such as `admin create --email`).
func loadConfig(args []string, lookupEnv func(string) (string, bool), usageOut io.Writer, extra func(*flag.FlagSet)) (*app.Config, error) {
	fs := flag.NewFlagSet("api", flag.ContinueOnError)
	if extra != nil {
		extra(fs)
	}
	fs.SetOutput(io.Discard)
	flagVals := map[string]string{}
	configPath, configExplicit := defaultConfigFile, false
	if v, ok := lookupEnv(configEnv); ok && v != "" {
		configPath, configExplicit = v, true
	}
	fs.Func(configFlag, "", func(v string) error { configPath, configExplicit = v, true; return nil })
	for _, s := range settings {
		fs.Func(flagName(s.key), s.help, func(v string) error { flagVals[s.key] = v; return nil })
	}
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			printUsage(usageOut)
			return nil, errHelp
		}
		return nil, fmt.Errorf("%v (run `api --help` for the settings)", err)
	}
	if fs.NArg() > 0 {
		return nil, fmt.Errorf("unexpected argument %q (run `api --help`)", fs.Arg(0))
	}

	cfg := &app.Config{}
	apply := func(s setting, v, source string) error {
		if err := s.set(cfg, v); err != nil {
			return fmt.Errorf("invalid %s %q (from %s): %v", s.key, v, source, err)
		}
		return nil
	}
	for _, s := range settings {
		if err := apply(s, s.def, "the default"); err != nil {
			return nil, err // a bug in the table
		}
	}
	fileVals, err := readConfigFile(configPath, configExplicit)
	if err != nil {
		return nil, err
	}
	if fileVals != nil {
		cfg.ConfigFile = configPath
	}
	for _, s := range settings {
		if v, ok := fileVals[s.key]; ok {
			if err := apply(s, v, configPath); err != nil {
				return nil, err
			}
		}
		if v, ok := lookupEnv(envName(s.key)); ok {
			if err := apply(s, v, "environment variable "+envName(s.key)); err != nil {
				return nil, err
			}
		}
		if v, ok := flagVals[s.key]; ok {
			if err := apply(s, v, "flag --"+flagName(s.key)); err != nil {
				return nil, err
			}
		}
	}
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	return cfg, nil
}

// structuredSettings take a list or map in the file; the environment variable and the flag
// carry the same value as JSON.
var structuredSettings = map[string]bool{"auth.oidc": true, "sync.collections": true}

// readConfigFile reads a tideline.yaml into setting key → value. A missing file is an error
// only when it was named explicitly. Unknown keys are errors, so a typo is not ignored.
func readConfigFile(path string, explicit bool) (map[string]string, error) {
	data, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) && !explicit {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("read config file: %w", err)
	}
	var doc map[string]any
	if err := yaml.Unmarshal(data, &doc); err != nil {
		return nil, fmt.Errorf("config file %s is not valid YAML: %v", path, err)
	}
	known := map[string]bool{}
	for _, s := range settings {
		known[s.key] = true
	}
	out := map[string]string{}
	var walk func(prefix string, m map[string]any) error
	walk = func(prefix string, m map[string]any) error {
		for k, v := range m {
			key := prefix + k
			if structuredSettings[key] {
				b, err := json.Marshal(v)
				if err != nil {
					return fmt.Errorf("config file %s: %s: %v", path, key, err)
				}
				out[key] = string(b)
				continue
			}
			switch v := v.(type) {
			case map[string]any:
				if known[key] {
					return fmt.Errorf("config file %s: %s must be a single value, not a map", path, key)
				}
				if err := walk(key+".", v); err != nil {
					return err
				}
				continue
			case []any:
				parts := make([]string, len(v))
				for i, p := range v {
					parts[i] = fmt.Sprint(p)
				}
				out[key] = strings.Join(parts, ",")
			case nil:
				out[key] = ""
			default:
				out[key] = fmt.Sprint(v)
			}
			if !known[key] {
				return fmt.Errorf("config file %s: unknown setting %q (run `api --help` for the settings)", path, key)
			}
		}
		return nil
	}
	if err := walk("", doc); err != nil {
		return nil, err
	}
	return out, nil
}

func printUsage(w io.Writer) {
	fmt.Fprint(w, `Tideline: a self-hosted mobile backend (accounts, offline-first sync, push) in one binary.

Usage:
  api [serve] [flags]   run the server (the default command)
  api admin create --email EMAIL --password PASSWORD [flags]
                        create an admin account, or give an existing account the admin role
  api keys rotate [flags]
                        make a new access-token signing key active (nobody is signed out)
  api keys rotate-master --new-key-file FILE [flags]
                        re-encrypt the stored secrets with a new master key (FILE, created if missing)
  api backup --out FILE [flags]
                        back up the embedded engine's data, also while a server runs on it
  api restore --from FILE [--force] [flags]
                        restore a backup into --data-dir (empty, unless --force replaces its database)
  api version           print the version
  api help              print this help

admin and keys open the store with the same settings as serve. The embedded engine allows
one process per data directory: stop the server first, or use the admin API
(POST /v1/admin/signing-keys/rotate) while it runs.

Every setting can be given as a flag, an environment variable or a key in tideline.yaml;
flags override the environment, which overrides the file, which overrides the default.
The file is the one named by --config or TIDELINE_CONFIG, else ./tideline.yaml if present.

Settings:
`)
	for _, s := range settings {
		def := s.def
		if def == "" {
			def = `""`
		}
		fmt.Fprintf(w, "  --%s  (env %s, file key %s; default %s)\n      %s\n", flagName(s.key), envName(s.key), s.key, def, s.help)
	}
	fmt.Fprintf(w, "  --%s  (env %s)\n      Configuration file to read (default ./%s when it exists).\n", configFlag, configEnv, defaultConfigFile)
}
