package auth

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"runtime"
	"time"

	"github.com/tideline-dev/tideline"
)

// Config configures the Service. Zero fields take the defaults given.
type Config struct {
	// Issuer and Audience are the iss and aud of access tokens ("tideline").
	Issuer, Audience string
	// AccessTokenTTL is the lifetime of access tokens (15 min). A revoked session's or a
	// disabled user's access token is refused within SessionCheckTTL at most.
	AccessTokenTTL time.Duration
	// RefreshTokenTTL is how long a session lasts without being refreshed (30 days).
	RefreshTokenTTL time.Duration
	// RefreshReuseGrace is how long after a refresh the same spent token still gets the
	// same successor, for a client that lost the response (10 s). Later, a spent token
	// revokes its session.
	RefreshReuseGrace time.Duration
	// SessionCheckTTL is how long a node trusts a session it has checked (30 s): access
	// tokens are checked against the store (session revoked? user disabled?) at most this
	// often per session.
	SessionCheckTTL time.Duration
	// MinPasswordLength is the shortest password accepted (8).
	MinPasswordLength int
	// Argon2 are the password hashing costs (DefaultArgon2).
	Argon2 Argon2Params
	// HashConcurrency bounds password hashes running at once (2 x GOMAXPROCS).
	HashConcurrency int
	// VerifyEmailTTL and ResetPasswordTTL are the lifetimes of emailed tokens (24 h, 1 h).
	VerifyEmailTTL, ResetPasswordTTL time.Duration
	// VerifyEmailURL and ResetPasswordURL are the links in emails, with {token} where the
	// token goes (the app's deep link or web page, which then calls the API). Empty: the
	// email gives the token itself for the user to paste.
	VerifyEmailURL, ResetPasswordURL string
	// AppName names the product in emails ("Tideline").
	AppName string
	// Limits are the rate limits (DefaultLimits).
	Limits *Limits
	// RateStore, when set, counts the limits where every node of a deployment sees the same
	// counts (cmd/api sets the MongoDB engine's); nil counts them in this process's memory.
	RateStore RateStore
	// Secrets keeps the server secrets (the refresh rotation key), shared by every node;
	// required. The composition root hands it sealed with the master key.
	Secrets tideline.SecretStore
	// Mailer sends emails; nil logs them (LogMailer).
	Mailer Mailer
	// Providers verify external ID tokens, by provider name ("oidc:<name>", "firebase").
	Providers map[string]ExternalVerifier
	// SessionRetention is how long an ended session (expired or revoked) stays listed
	// before the sweep deletes it, with its refresh tokens (30 days). Expired refresh and
	// action tokens are deleted at once: nobody can use them.
	SessionRetention time.Duration
	// AuditRetention is how long audit events are kept (90 days).
	AuditRetention time.Duration
	// Clock is the time (the system clock).
	Clock tideline.Clock
	// Logger receives failures that do not fail a request (nil discards).
	Logger *slog.Logger
}

func (c *Config) setDefaults() {
	def := func(d *time.Duration, v time.Duration) {
		if *d <= 0 {
			*d = v
		}
	}
	if c.Issuer == "" {
		c.Issuer = "tideline"
	}
	if c.Audience == "" {
		c.Audience = "tideline"
	}
	def(&c.AccessTokenTTL, 15*time.Minute)
	def(&c.RefreshTokenTTL, 30*24*time.Hour)
	def(&c.RefreshReuseGrace, 10*time.Second)
	def(&c.SessionCheckTTL, 30*time.Second)
	def(&c.VerifyEmailTTL, 24*time.Hour)
	def(&c.ResetPasswordTTL, time.Hour)
	def(&c.SessionRetention, 30*24*time.Hour)
	def(&c.AuditRetention, 90*24*time.Hour)
	if c.MinPasswordLength <= 0 {
		c.MinPasswordLength = 8
	}
	if c.Argon2 == (Argon2Params{}) {
		c.Argon2 = DefaultArgon2
	}
	if c.HashConcurrency <= 0 {
		c.HashConcurrency = 2 * runtime.GOMAXPROCS(0)
	}
	if c.AppName == "" {
		c.AppName = "Tideline"
	}
	if c.Limits == nil {
		l := DefaultLimits
		c.Limits = &l
	}
	if c.Clock == nil {
		c.Clock = tideline.SystemClock{}
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	if c.Mailer == nil {
		c.Mailer = LogMailer{Logger: c.Logger}
	}
}

// Service is the auth capability. It is safe for concurrent use.
type Service struct {
	cfg      Config
	store    Store
	clock    tideline.Clock
	log      *slog.Logger
	keys     *keyring
	hasher   *hasher
	rotation []byte // the server secret that derives a refresh token's successor
	sessions *sessionCache
	tokens   *tokenCache
	outbox   *outbox
	limits   struct{ signup, login, loginFailures, refresh, email *limiter }
	deleted  []func(ctx context.Context, userID string) error
	ended    []func(ctx context.Context, userID, sessionID, except string) error
}

// New returns the Service on store: it loads the signing keys (creating the first one) and
// the server secrets. Close it to send queued emails.
func New(ctx context.Context, store Store, cfg Config) (*Service, error) {
	if cfg.Secrets == nil {
		return nil, errors.New("auth: Config.Secrets is required")
	}
	cfg.setDefaults()
	s := &Service{cfg: cfg, store: store, clock: cfg.Clock, log: cfg.Logger}
	var err error
	if s.hasher, err = newHasher(cfg.Argon2, cfg.HashConcurrency); err != nil {
		return nil, err
	}
	s.keys = &keyring{store: store, clock: cfg.Clock, accessTTL: cfg.AccessTokenTTL}
	if err := s.keys.load(ctx); err != nil {
		return nil, fmt.Errorf("load signing keys: %w", err)
	}
	candidate := make([]byte, 32)
	_, _ = rand.Read(candidate)
	if s.rotation, err = cfg.Secrets.Secret(ctx, tideline.SecretRefreshRotation, candidate); err != nil {
		return nil, fmt.Errorf("load refresh rotation secret: %w", err)
	}
	s.sessions = newSessionCache(cfg.SessionCheckTTL, cfg.Clock)
	s.tokens = newTokenCache()
	l, lim := cfg.Limits, func(name string, r Rate) *limiter { return newLimiter(name, r, s.clock, cfg.RateStore, s.log) }
	s.limits.signup, s.limits.login, s.limits.loginFailures = lim("signup", l.Signup), lim("login", l.Login), lim("loginFailures", l.LoginFailures)
	s.limits.refresh, s.limits.email = lim("refresh", l.Refresh), lim("email", l.Email)
	s.outbox = newOutbox(cfg.Mailer, cfg.Logger)
	return s, nil
}

// Close sends the queued emails, closes the external verifiers and stops.
func (s *Service) Close() {
	s.outbox.close()
	s.closeVerifiers()
}

// OnUserDeleted registers fn to be called when a user is deleted, so that other features
// remove the user's data (devices, owned documents). A failing fn fails the deletion,
// which can be retried: fn must be idempotent.
func (s *Service) OnUserDeleted(fn func(ctx context.Context, userID string) error) {
	s.deleted = append(s.deleted, fn)
}

// OnSessionsEnded registers fn to be told of ended sessions (sign-out, revocation, a reused
// refresh token, a password change or reset, a disabled user), so that other features let
// go of what the session bound (push tokens). sessionID is the ended session, or "" for all
// the user's sessions but except. A failing fn is logged: the session has ended anyway.
func (s *Service) OnSessionsEnded(fn func(ctx context.Context, userID, sessionID, except string) error) {
	s.ended = append(s.ended, fn)
}

// sessionsEnded tells the OnSessionsEnded hooks.
func (s *Service) sessionsEnded(ctx context.Context, userID, sessionID, except string) {
	for _, fn := range s.ended {
		if err := fn(ctx, userID, sessionID, except); err != nil {
			s.log.ErrorContext(ctx, "a session-ended hook failed", "user", userID, "session", sessionID, "err", err.Error())
		}
	}
}

// Client describes where a request comes from; sessions and the audit log record it.
type Client struct {
	IP         string
	UserAgent  string
	DeviceName string
	Platform   string
}

// Tokens are what a successful sign-in returns.
type Tokens struct {
	AccessToken  string
	RefreshToken string
	// ExpiresIn is the access token's lifetime.
	ExpiresIn time.Duration
	SessionID string
}

// Result is a user with fresh tokens.
type Result struct {
	User   User
	Tokens Tokens
}

// startSession creates a session for u with its first refresh token and signs an access
// token.
func (s *Service) startSession(ctx context.Context, u User, c Client) (Result, error) {
	now := s.clock.Now()
	sess := Session{
		ID: tideline.NewID(), UserID: u.ID, DeviceName: clip(c.DeviceName, 100), Platform: clip(c.Platform, 20),
		UserAgent: clip(c.UserAgent, 300), IP: c.IP, CreatedAt: now, LastUsedAt: now, ExpiresAt: now.Add(s.cfg.RefreshTokenTTL),
	}
	raw := newRefreshToken()
	first := RefreshToken{Hash: hashToken(raw), SessionID: sess.ID, UserID: u.ID, CreatedAt: now, ExpiresAt: sess.ExpiresAt}
	if err := s.store.CreateSession(ctx, sess, first); err != nil {
		return Result{}, err
	}
	access, err := s.issueAccessToken(ctx, u, sess.ID)
	if err != nil {
		return Result{}, err
	}
	return Result{User: u, Tokens: Tokens{AccessToken: access, RefreshToken: raw, ExpiresIn: s.cfg.AccessTokenTTL, SessionID: sess.ID}}, nil
}

// audit records an event; a failure to record is logged, never fails the request.
func (s *Service) audit(ctx context.Context, typ string, userID, sessionID, actor string, c Client, detail map[string]string) {
	e := AuditEvent{ID: tideline.NewID(), At: s.clock.Now(), Type: typ, UserID: userID, SessionID: sessionID, Actor: actor, IP: c.IP, Detail: detail}
	if err := s.store.AppendAudit(context.WithoutCancel(ctx), e); err != nil {
		s.log.ErrorContext(ctx, "audit event not recorded", "type", typ, "user_id", userID, "err", err.Error())
	}
}

// clip shortens s to at most n bytes, on a rune boundary.
func clip(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && (s[n]&0xC0) == 0x80 {
		n--
	}
	return s[:n]
}

// activeUser loads the user of a session, refusing deleted and disabled users.
func (s *Service) activeUser(ctx context.Context, id string) (User, error) {
	u, err := s.store.FindUserByID(ctx, id)
	if tideline.ErrorCode(err) == tideline.CodeNotFound {
		return u, tideline.Wrap(err, tideline.CodeUnauthenticated, "The account no longer exists.")
	}
	if err != nil {
		return u, err
	}
	if u.Disabled {
		return u, tideline.Errorf(tideline.CodeAccountDisabled, "The account is disabled.")
	}
	return u, nil
}

var errInvalidCredentials = tideline.Errorf(tideline.CodeInvalidCredentials, "The email or password is wrong.")
