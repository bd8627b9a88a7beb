package push

import (
	"cmp"
	"context"
	"fmt"
	"io"
	"log/slog"
	"regexp"
	"strings"
	"sync"
	"time"

	"github.com/tideline-dev/tideline"
)

// Config configures the push service; zero fields take the defaults given.
type Config struct {
	Clock  tideline.Clock // the system clock
	Logger *slog.Logger   // discards
	// Provider sends the messages (LogProvider: logs them).
	Provider Provider
	// NodeID names this node's workers in leases (a new id).
	NodeID string
	// Workers is how many batches this node sends at once (4).
	Workers int
	// Batch is how many deliveries a worker sends at a time (MaxBatch).
	Batch int
	// LeaseFor is how long a worker holds what it claimed before another may take it over
	// (2 minutes); it must exceed SendTimeout.
	LeaseFor time.Duration
	// SendTimeout bounds one batch's send (1 minute).
	SendTimeout time.Duration
	// FinishFor is how long Run's workers, once told to stop, may take to finish the batch
	// they are sending and record it (10 s). A send still running then is cancelled and
	// its deliveries are handed back (their leases end at once), so another node sends
	// them without waiting for LeaseFor.
	FinishFor time.Duration
	// PollEvery is how often an idle worker looks for due work (1 s).
	PollEvery time.Duration
	// MaxAttempts is how many times a delivery is tried before it fails (8).
	MaxAttempts int
	// RetryBase and RetryMax bound the exponential backoff between attempts (5 s, 1 hour);
	// a provider's Retry-After is honoured when longer.
	RetryBase, RetryMax time.Duration
	// WakeEvery is the least time between two silent sync wake-ups of one device (1 minute).
	WakeEvery time.Duration
	// SweepEvery is how often Run clears tokens bound to ended sessions and deletes old
	// deliveries (10 minutes; see SweepEndedSessions and SweepDeliveries).
	SweepEvery time.Duration
	// DeliveryRetention is how long the deliveries of a campaign that ended are kept
	// (720 hours); the campaign keeps its counts and first errors (SweepDeliveries).
	DeliveryRetention time.Duration
}

// DefaultDeliveryRetention is Config.DeliveryRetention's default.
const DefaultDeliveryRetention = 720 * time.Hour

// Service is the push capability.
type Service struct {
	store    Store
	cfg      Config
	clock    tideline.Clock
	wake     chan struct{}
	waker    *waker
	counters counters

	mu    sync.Mutex
	zones map[string]*time.Location
	specs map[string]Spec
}

// New returns the push service on store.
func New(store Store, cfg Config) *Service {
	if cfg.Clock == nil {
		cfg.Clock = tideline.SystemClock{}
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	if cfg.Provider == nil {
		cfg.Provider = LogProvider{Logger: cfg.Logger}
	}
	if cfg.NodeID == "" {
		cfg.NodeID = tideline.NewID()
	}
	cfg.Workers = cmp.Or(max(cfg.Workers, 0), 4)
	cfg.Batch = min(cmp.Or(max(cfg.Batch, 0), MaxBatch), MaxBatch)
	cfg.LeaseFor = cmp.Or(max(cfg.LeaseFor, 0), 2*time.Minute)
	cfg.SendTimeout = cmp.Or(max(cfg.SendTimeout, 0), time.Minute)
	cfg.FinishFor = cmp.Or(max(cfg.FinishFor, 0), 10*time.Second)
	cfg.PollEvery = cmp.Or(max(cfg.PollEvery, 0), time.Second)
	cfg.MaxAttempts = cmp.Or(max(cfg.MaxAttempts, 0), 8)
	cfg.RetryBase = cmp.Or(max(cfg.RetryBase, 0), 5*time.Second)
	cfg.RetryMax = cmp.Or(max(cfg.RetryMax, 0), time.Hour)
	cfg.WakeEvery = cmp.Or(max(cfg.WakeEvery, 0), time.Minute)
	cfg.SweepEvery = cmp.Or(max(cfg.SweepEvery, 0), 10*time.Minute)
	cfg.DeliveryRetention = cmp.Or(max(cfg.DeliveryRetention, 0), DefaultDeliveryRetention)
	s := &Service{store: store, cfg: cfg, clock: cfg.Clock, wake: make(chan struct{}, cfg.Workers),
		zones: map[string]*time.Location{}, specs: map[string]Spec{}}
	s.waker = newWaker(s)
	return s
}

// Provider is the provider the service sends through.
func (s *Service) Provider() Provider { return s.cfg.Provider }

// Registration is what a client sends to register its install.
type Registration struct {
	DeviceID   string
	Platform   string
	PushToken  string // "": the install has no token (notifications not allowed)
	AppVersion string
	Locale     string
	Timezone   string // IANA; "": UTC
}

// Limits of a registration and of topics.
const (
	MaxTopicsPerDevice = 200
	maxTokenBytes      = 4096
)

// ErrTooManyTopics is the error of a subscription past MaxTopicsPerDevice.
var ErrTooManyTopics = &tideline.Error{Code: tideline.CodeTooLarge, Message: fmt.Sprintf("A device may be subscribed to at most %d topics.", MaxTopicsPerDevice)}

var (
	deviceIDForm   = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._:-]{0,127}$`)
	tokenForm      = regexp.MustCompile(`^[\x21-\x7e]+$`) // printable ASCII, no spaces
	appVersionForm = regexp.MustCompile(`^[0-9A-Za-z][0-9A-Za-z.+-]{0,31}$`)
	localeForm     = regexp.MustCompile(`^[A-Za-z]{2,3}([-_][A-Za-z0-9]{1,8}){0,4}$`)
	// Topic names are FCM's (letters, digits and -_.~%), at most 128 bytes here.
	topicForm = regexp.MustCompile(`^[A-Za-z0-9_.~%-]{1,128}$`)
)

func invalid(field, reason string) error {
	return &tideline.Error{Code: tideline.CodeInvalid, Message: "The " + field + " " + reason + ".", Fields: map[string]string{field: reason}}
}

// check validates a registration and normalises it.
func (r *Registration) check() error {
	switch {
	case !deviceIDForm.MatchString(r.DeviceID):
		return invalid("deviceId", "must be 1 to 128 letters, digits and ._:- (a UUID generated once per install)")
	case r.Platform != PlatformIOS && r.Platform != PlatformAndroid && r.Platform != PlatformWeb:
		return invalid("platform", "must be ios, android or web")
	case len(r.PushToken) > maxTokenBytes || (r.PushToken != "" && !tokenForm.MatchString(r.PushToken)):
		return invalid("pushToken", fmt.Sprintf("must be at most %d printable characters without spaces", maxTokenBytes))
	case r.AppVersion != "" && !appVersionForm.MatchString(r.AppVersion):
		return invalid("appVersion", "must be a version such as 2.3.1 (at most 32 characters)")
	case r.Locale != "" && !localeForm.MatchString(r.Locale):
		return invalid("locale", "must be a BCP 47 language tag such as en-GB")
	}
	if r.Timezone != "" {
		if _, err := time.LoadLocation(r.Timezone); err != nil || r.Timezone == "Local" || len(r.Timezone) > 64 {
			return invalid("timezone", "must be an IANA time zone such as Europe/Rome")
		}
	}
	r.Locale = strings.ReplaceAll(r.Locale, "_", "-")
	return nil
}

// RegisterDevice creates or updates the caller's install, bound to the caller's session:
// the SDK calls it at every start and whenever the provider gives it a new token. A token
// registered before by another install (of any user) moves to this one.
//
// The session must be active in the store, not only in some node's cache of it (an access
// token is checked against the store at most every 30 s per node): an ended session is
// unauthenticated. A sign-out is two steps, revoke the session, then unbind its tokens
// (SessionsEnded); a registration is check, write, check again. If the sign-out's unbind
// comes before the write, the second check sees the revocation, and the registration
// unbinds the token itself; otherwise the unbind clears what the write bound. Either way no
// token stays bound to the ended session (SweepEndedSessions clears those that a failure
// between a sign-out's two steps leaves).
func (s *Service) RegisterDevice(ctx context.Context, userID, sessionID string, r Registration) (Device, error) {
	if err := r.check(); err != nil {
		return Device{}, err
	}
	if err := s.sessionActive(ctx, userID, sessionID); err != nil {
		return Device{}, err
	}
	now := s.clock.Now()
	d, err := s.store.UpsertDevice(ctx, Device{
		ID: tideline.NewID(), UserID: userID, DeviceID: r.DeviceID, SessionID: sessionID,
		Platform: r.Platform, PushToken: r.PushToken, AppVersion: r.AppVersion, Locale: r.Locale,
		Timezone: r.Timezone, CreatedAt: now, LastSeen: now,
	})
	if err != nil {
		return Device{}, err
	}
	if err := s.sessionActive(ctx, userID, sessionID); err != nil {
		if _, uerr := s.store.UnbindSessions(context.WithoutCancel(ctx), userID, sessionID, ""); uerr != nil {
			return Device{}, uerr
		}
		return Device{}, err
	}
	return d, nil
}

var errSessionEnded = tideline.Errorf(tideline.CodeUnauthenticated, "The session has ended; sign in again.")

// sessionActive is nil when the user's session is active in the store now, else
// errSessionEnded.
func (s *Service) sessionActive(ctx context.Context, userID, sessionID string) error {
	ok, err := s.store.SessionActive(ctx, userID, sessionID, s.clock.Now())
	if err != nil {
		return err
	}
	if !ok {
		return errSessionEnded
	}
	return nil
}

// sweepBatch is how many tokens SweepEndedSessions clears per store call.
const sweepBatch = 500

// SweepEndedSessions clears the tokens still bound to ended sessions (revoked, expired, or
// gone) and says how many. A sign-out unbinds its tokens at once (SessionsEnded); this
// catches what that missed: a node stopped between revoking a session and unbinding its
// tokens, a hook that failed, a session that expired. Run calls it every SweepEvery.
func (s *Service) SweepEndedSessions(ctx context.Context) (int, error) {
	total := 0
	for {
		n, err := s.store.UnbindEndedSessions(ctx, s.clock.Now(), sweepBatch)
		total += n
		if err != nil || n < sweepBatch {
			return total, err
		}
	}
}

// SweepDeliveries deletes the deliveries of campaigns that ended (completed or cancelled)
// more than DeliveryRetention ago, a batch at a time until none is left, and says how
// many records it changed (Store.PurgeDeliveries). Each campaign keeps its counts
// (Campaign.Final, stored before its first delivery goes) and its first
// CampaignErrorsKept failed deliveries, so the console and the API show it as before.
// Without it, every delivery of every campaign is kept for good. Several nodes may sweep
// at once. Run calls it every SweepEvery.
func (s *Service) SweepDeliveries(ctx context.Context) (int, error) {
	before := s.clock.Now().Add(-s.cfg.DeliveryRetention)
	total := 0
	for {
		n, err := s.store.PurgeDeliveries(ctx, before, CampaignErrorsKept, sweepBatch)
		total += n
		if err != nil || n == 0 {
			return total, err
		}
	}
}

// ListDevices returns the user's installs, most recently seen first.
func (s *Service) ListDevices(ctx context.Context, userID string) ([]Device, error) {
	return s.store.ListDevices(ctx, userID)
}

var errNoDevice = tideline.Errorf(tideline.CodeNotFound, "You have no device with this id.")

// DeleteDevice removes the user's install (the app was signed out of for good, or
// uninstalled): it gets no more pushes.
func (s *Service) DeleteDevice(ctx context.Context, userID, deviceID string) error {
	if !deviceIDForm.MatchString(deviceID) {
		return errNoDevice
	}
	return notFoundAs(s.store.DeleteDevice(ctx, userID, deviceID))
}

// SetTopic subscribes the user's install to topic, or unsubscribes it. A subscription
// past MaxTopicsPerDevice is ErrTooManyTopics (the store checks it atomically).
func (s *Service) SetTopic(ctx context.Context, userID, deviceID, topic string, member bool) error {
	if !topicForm.MatchString(topic) {
		return invalid("topic", "must be 1 to 128 letters, digits and -_.~%")
	}
	if !deviceIDForm.MatchString(deviceID) {
		return errNoDevice
	}
	return notFoundAs(s.store.SetTopic(ctx, userID, deviceID, topic, member))
}

// ListTopics returns the topics with their device counts.
func (s *Service) ListTopics(ctx context.Context) ([]TopicCount, error) {
	return s.store.ListTopics(ctx)
}

// CountDevices returns the devices by platform, with how many hold a push token.
func (s *Service) CountDevices(ctx context.Context) ([]PlatformCount, error) {
	return s.store.CountDevices(ctx)
}

// SessionsEnded unbinds the push tokens of the installs registered by an ended session
// (auth's OnSessionsEnded hook): a signed-out device gets no more of the user's pushes.
func (s *Service) SessionsEnded(ctx context.Context, userID, sessionID, except string) error {
	_, err := s.store.UnbindSessions(ctx, userID, sessionID, except)
	return err
}

// DeleteUser removes a deleted user's installs (auth's OnUserDeleted hook).
func (s *Service) DeleteUser(ctx context.Context, userID string) error {
	return s.store.DeleteUserDevices(ctx, userID)
}

func notFoundAs(err error) error {
	if tideline.ErrorCode(err) == tideline.CodeNotFound {
		return errNoDevice
	}
	return err
}
