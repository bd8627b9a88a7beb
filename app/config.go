package app

import (
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/tideline-dev/tideline"
	"github.com/tideline-dev/tideline/auth"
	"github.com/tideline-dev/tideline/files"
	"github.com/tideline-dev/tideline/push"
	"github.com/tideline-dev/tideline/push/fcm"
	datasync "github.com/tideline-dev/tideline/sync"
)

// Config is the configuration of the app: the settings cmd/api reads from flags, the
// environment and tideline.yaml (docs/configuration.md), checked together by Validate,
// and the parts a program sets in code (the clock, the logger, the mailer and the push
// provider: tests and embedders). A zero setting means the feature's default.
type Config struct {
	Addr                  string
	DataDir               string
	MongoDBURI            string
	MongoDBDatabase       string
	MongoDBConnectTimeout time.Duration
	// MongoDBOperationTimeout bounds every MongoDB operation, and a sync commit as a whole
	// (0: mongo.DefaultOperationTimeout).
	MongoDBOperationTimeout time.Duration
	LogLevel                slog.Level
	LogFormat               string
	MaxBodyBytes            int64
	CORSOrigins             []string
	TrustedProxies          []string
	ShutdownTimeout         time.Duration

	Auth          auth.Config // everything but Clock, Logger, Mailer, RateStore and Secrets, which New sets
	SMTP          auth.SMTPMailer
	AdminEmail    string
	AdminPassword string

	Sync       datasync.Config // Collections, StrictCollections, MaxClockSkew, Retention; New sets the rest
	SweepEvery time.Duration
	Hub        datasync.HubConfig // PollEvery, MaxStreams, NotifyEvery, Node (host:pid unless set)

	Files files.Config // MaxFileBytes, QuotaBytes; New sets the rest

	OIDC                  []auth.OIDCProvider
	FirebaseProjectID     string
	FirebaseAllowEmulator bool

	// FCM sends push notifications; with neither a credentials file nor a project id, the
	// log provider is used.
	FCM fcm.Config
	// PushDeliveryRetention is how long the deliveries of a campaign that ended are kept
	// (0: push.DefaultDeliveryRetention); the sweep, every SweepEvery, deletes older ones.
	PushDeliveryRetention time.Duration

	// ConsoleConfirmAbove: the admin console asks for confirmation before sending a
	// campaign to more devices than this (0: before every campaign).
	ConsoleConfirmAbove int

	// Scheduled backups of the embedded engine; BackupEvery 0 means none.
	BackupEvery time.Duration
	BackupDir   string
	BackupKeep  int

	// TLS: with TLSCertFile and TLSKeyFile the server serves HTTPS; TLSRedirectAddr, when
	// set, is a plain HTTP listener that redirects to it.
	TLSCertFile     string
	TLSKeyFile      string
	TLSRedirectAddr string

	// MasterKey (base64) or MasterKeyFile encrypt private signing keys and server secrets at
	// rest; with neither, the embedded engine keeps a generated key in DataDir.
	MasterKey     string
	MasterKeyFile string

	// ConfigFile is the tideline.yaml that was read, or "" when there was none.
	ConfigFile string

	// Clock is the time of every feature (nil: the system clock); tests set a manual one.
	Clock tideline.Clock
	// Logger receives the app's logs (nil: discarded). New stamps every record logged with
	// a request's context with its request_id.
	Logger *slog.Logger
	// Mailer sends emails; nil means the SMTP mailer when SMTP.Addr is set, else the log.
	Mailer auth.Mailer
	// PushProvider sends push notifications; nil means FCM when it is configured, else the
	// log.
	PushProvider push.Provider
}

// Defaults of the settings whose zero value is not a usable one.
const (
	DefaultAddr            = "127.0.0.1:8080"
	DefaultSweepEvery      = 10 * time.Minute
	DefaultShutdownTimeout = 30 * time.Second
)

// setDefaults gives the settings left at zero their defaults.
func (c *Config) setDefaults() {
	if c.Addr == "" {
		c.Addr = DefaultAddr
	}
	if c.SweepEvery <= 0 {
		c.SweepEvery = DefaultSweepEvery
	}
	if c.ShutdownTimeout <= 0 {
		c.ShutdownTimeout = DefaultShutdownTimeout
	}
}

// Validate checks the settings that go together; each setting's own value was checked when
// it was read.
func (c *Config) Validate() error {
	if c.DataDir == "" && c.MongoDBURI == "" {
		return errors.New("dataDir is required with the embedded engine (no mongodb.uri)")
	}
	if c.SMTP.Addr != "" && c.SMTP.From == "" {
		return errors.New("smtp.from is required when smtp.addr is set (the sender address of emails)")
	}
	if (c.AdminEmail == "") != (c.AdminPassword == "") {
		return errors.New("admin.email and admin.password go together: set both (or neither)")
	}
	if c.MasterKey != "" && c.MasterKeyFile != "" {
		return errors.New("masterKey and masterKeyFile are two ways to give the master key: set one of them")
	}
	if c.MasterKey != "" {
		// The value is not repeated in the message: it is (close to) a secret.
		if _, err := tideline.ParseMasterKeys(c.MasterKey); err != nil {
			return fmt.Errorf("invalid masterKey: %w", err)
		}
	}
	return checkOperations(c)
}
