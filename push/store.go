package push

import (
	"context"
	"time"
)

// Platforms a device may be.
const (
	PlatformIOS     = "ios"
	PlatformAndroid = "android"
	PlatformWeb     = "web"
)

// Device is one app install of a user. A user's devices are named by DeviceID, which the
// client generates once per install; two users' devices never collide (the key is the pair),
// so a user can neither see nor take over another's device by naming its id. ID is the
// server's id of the record (for admins and campaigns).
type Device struct {
	ID       string
	UserID   string
	DeviceID string
	// SessionID is the session that registered the device: when it ends (sign-out,
	// revocation), the device's push token is unbound.
	SessionID string
	Platform  string
	// PushToken is the provider's token for the install; "" when unbound. One token has one
	// owner: registering a token takes it from any other device, of any user.
	PushToken  string
	AppVersion string
	Locale     string
	// Timezone is an IANA name ("Europe/Rome"), for sends at a local time.
	Timezone  string
	CreatedAt time.Time
	// LastSeen is when the device last registered (the SDK registers at every start).
	LastSeen time.Time
	// Topics are the topics the device is subscribed to, sorted.
	Topics []string
}

// TopicCount is a topic and how many devices are subscribed to it.
type TopicCount struct {
	Topic   string
	Devices int
}

// PlatformCount is how many devices a platform has, and how many of them hold a push
// token (the others are signed out or have not allowed notifications).
type PlatformCount struct {
	Platform  string
	Devices   int
	WithToken int
}

// Store is what push needs of a storage engine.
type Store interface {
	// UpsertDevice creates the device (UserID, DeviceID), with d.ID and d.CreatedAt, or
	// updates the existing one's session, platform, token, app version, locale, time zone
	// and last seen (its ID, CreatedAt and Topics stay; an empty PushToken unbinds it).
	// When d.PushToken is not empty, at one instant during the call d holds it and no other
	// device does (a later registration may take it). Of registrations of one token that
	// race and return, exactly one device holds it afterwards; a registration that fails
	// midway may leave the token with no holder until the next one (never with two). It
	// returns the device as stored. d.ID must be set (it names a new device).
	UpsertDevice(ctx context.Context, d Device) (Device, error)
	// FindDevice returns the user's device, or not_found.
	FindDevice(ctx context.Context, userID, deviceID string) (Device, error)
	// ListDevices returns the user's devices, most recently seen first.
	ListDevices(ctx context.Context, userID string) ([]Device, error)
	// DeleteDevice removes the user's device and its topic subscriptions, or is not_found.
	DeleteDevice(ctx context.Context, userID, deviceID string) error
	// DeleteUserDevices removes all the user's devices (the user was deleted). Idempotent.
	DeleteUserDevices(ctx context.Context, userID string) error
	// UnbindSessions clears the push token of the user's devices registered by session
	// sessionID, or, when sessionID is "", by any session but except (sign-out
	// everywhere, password reset, a disabled user). Devices always have a session (the
	// service registers them for a signed-in session). It returns how many tokens it
	// cleared (devices without one do not count).
	UnbindSessions(ctx context.Context, userID, sessionID, except string) (int, error)
	// SessionActive reports whether userID's auth session sessionID exists, is not revoked
	// and has not expired at at. (The engine keeps package auth's sessions too: a device
	// binds its token to one.)
	SessionActive(ctx context.Context, userID, sessionID string, at time.Time) (bool, error)
	// UnbindEndedSessions clears the push token of up to limit devices whose session has
	// ended at at: revoked, expired, gone, or not their user's. It returns how many tokens
	// it cleared; fewer than limit means there were no more.
	UnbindEndedSessions(ctx context.Context, at time.Time, limit int) (int, error)
	// SetTopic subscribes the user's device to topic (member true) or unsubscribes it.
	// Both are idempotent; a device that does not exist is not_found. A subscription that
	// would give the device more than MaxTopicsPerDevice topics fails with ErrTooManyTopics
	// (too_large), checked atomically with the change: racing subscriptions never exceed
	// the limit.
	SetTopic(ctx context.Context, userID, deviceID, topic string, member bool) error
	// ListTopics returns every topic with at least one subscribed device and the number of
	// such devices, by name.
	ListTopics(ctx context.Context) ([]TopicCount, error)
	// CountDevices returns, for every platform with at least one device, how many devices
	// it has and how many of them hold a push token, by platform name.
	CountDevices(ctx context.Context) ([]PlatformCount, error)

	// PruneToken clears token from the device holding it, if any (the provider said the
	// token is no longer valid). Idempotent.
	PruneToken(ctx context.Context, token string) error
	// DevicesByID returns the devices with these server ids (Device.ID) that still exist,
	// in any order, without their Topics.
	DevicesByID(ctx context.Context, ids []string) ([]Device, error)
	// ListAudience returns up to limit devices that have a push token and match a, with
	// Device.ID greater than after, by Device.ID, without their Topics.
	ListAudience(ctx context.Context, a Audience, after string, limit int) ([]Device, error)

	CampaignStore
}

// Audience selects devices for a campaign: every condition given must hold (empty fields:
// false, nil or empty lists, "" and the zero time, are no condition). The service sets at
// most one of All, UserIDs, DeviceIDs and Topic, and possibly the segment fields.
type Audience struct {
	All       bool     // every device (with a token)
	UserIDs   []string // devices of these users
	DeviceIDs []string // these devices, by server id (Device.ID)
	Topic     string   // devices subscribed to the topic
	Platforms []string // devices of these platforms
	// Locales: devices whose locale is one of these, or starts with one of these and "-"
	// ("en" matches "en" and "en-GB", not "eng"; "en-GB" matches "en-GB" and
	// "en-GB-oxendict", not "en" or "en-US"). Exact case.
	Locales   []string
	SeenSince time.Time // devices whose LastSeen is at or after it
}

// Campaign statuses.
const (
	CampaignQueued    = "queued"    // waiting for its time, then for a worker to resolve its audience
	CampaignSending   = "sending"   // its deliveries are being sent
	CampaignCompleted = "completed" // every delivery has an outcome (or it was a dry run)
	CampaignCancelled = "cancelled" // cancelled by an admin: its pending deliveries will not be sent
)

// Campaign is a notification sent to an audience. The engine stores Spec (the service's
// encoding of what to send and to whom) without reading it.
type Campaign struct {
	ID             string // a UUIDv7: campaigns are listed by ID, newest first
	Status         string
	Spec           []byte
	IdempotencyKey string // "" or unique among campaigns
	DryRun         bool
	CreatedBy      string // the admin user id, or "" for the admin key
	CreatedAt      time.Time
	// StartAt is when a worker may resolve the audience and make the deliveries.
	StartAt time.Time
	// Targeted is the size of the audience, set by StartCampaign.
	Targeted   int
	StartedAt  time.Time // zero until started
	FinishedAt time.Time // zero until completed or cancelled
	// LeaseOwner and LeaseUntil: the worker resolving the audience, until when.
	LeaseOwner string
	LeaseUntil time.Time
	// Final are the campaign's deliveries by status as stored on the campaign: set when it
	// completes (atomically with the change of status), or, for a cancelled campaign and
	// one completed before the engine stored them, by PurgeDeliveries before it deletes
	// any delivery. nil: not stored, count the deliveries (CampaignCounts).
	Final *Counts
}

// Delivery statuses.
const (
	DeliveryPending   = "pending"   // to be sent at Due (a worker may hold it: LeaseUntil in the future)
	DeliverySent      = "sent"      // the provider accepted it
	DeliveryFailed    = "failed"    // the provider refused it, or retries ran out
	DeliveryPruned    = "pruned"    // the token was no longer valid and was removed
	DeliveryCancelled = "cancelled" // the campaign was cancelled, or the device lost its token
)

// Delivery is one campaign's message to one device.
type Delivery struct {
	ID         string // a UUIDv7
	CampaignID string
	DeviceID   string // the device's server id (Device.ID)
	UserID     string
	Due        time.Time // not before then (a scheduled local time, or a retry's backoff)
	Status     string
	Attempts   int    // how many times a worker claimed it
	Error      string // why it failed, or the last retry's reason
	LeaseOwner string
	LeaseUntil time.Time
	FinishedAt time.Time // when it got its final status; zero while pending
}

// Outcome is what happened to a claimed delivery: Status is sent, failed, pruned or
// cancelled (final, at FinishedAt = At), or pending (a retry: Due is when).
type Outcome struct {
	DeliveryID string
	Status     string
	Due        time.Time
	Error      string
	At         time.Time
}

// Counts are a campaign's deliveries by status.
type Counts struct {
	Pending, Sent, Failed, Pruned, Cancelled int
}

// CampaignStore is what campaigns need of a storage engine. Workers on any number of
// nodes share the work through leases: a worker that dies loses nothing, and what it held
// is taken again once its lease ends.
type CampaignStore interface {
	// CreateCampaign stores c with status queued and no lease (whatever c holds in those
	// fields) and returns it as stored with true; when c.IdempotencyKey is not "" and a
	// campaign already has it (exactly), it returns that campaign with false and stores
	// nothing. Concurrent calls with one key store one campaign.
	CreateCampaign(ctx context.Context, c Campaign) (Campaign, bool, error)
	// GetCampaign returns the campaign, or not_found.
	GetCampaign(ctx context.Context, id string) (Campaign, error)
	// ListCampaigns returns up to limit campaigns with ID below before ("": no bound),
	// newest (greatest ID) first.
	ListCampaigns(ctx context.Context, before string, limit int) ([]Campaign, error)
	// CampaignCounts counts the campaign's deliveries by status (zero when it has none or
	// is unknown). Once PurgeDeliveries has deleted some, only Campaign.Final is right.
	CampaignCounts(ctx context.Context, id string) (Counts, error)
	// CampaignErrors returns up to limit of the campaign's failed deliveries (status failed;
	// pruned ones are not errors), those that failed first (earliest FinishedAt, then by ID)
	// first. None for an unknown campaign.
	CampaignErrors(ctx context.Context, id string, limit int) ([]Delivery, error)
	// CancelCampaign moves a queued or sending campaign to cancelled (FinishedAt = now,
	// lease cleared) and its pending deliveries to cancelled (FinishedAt = now; their leases
	// stay, so a worker sending one can still record its outcome: see FinishDeliveries), and
	// returns it; a completed or cancelled campaign is returned unchanged with a conflict
	// error; an unknown one is not_found.
	CancelCampaign(ctx context.Context, id string, now time.Time) (Campaign, error)
	// ClaimCampaign leases to owner, until leaseUntil, one queued campaign with StartAt at
	// or before now and no lease (or an ended one: LeaseUntil at or before now), the
	// earliest StartAt first (then by ID), and returns it as leased (still queued); not_found
	// when there is none. A live lease is not claimed, not even by its owner.
	ClaimCampaign(ctx context.Context, owner string, now, leaseUntil time.Time) (Campaign, error)
	// AddDeliveries stores the deliveries of one campaign: their ID, CampaignID, DeviceID,
	// UserID and Due, with status pending, no lease, Attempts 0, no Error and no FinishedAt
	// (whatever the deliveries hold in those fields). A delivery whose (CampaignID, DeviceID)
	// is already stored, whatever its status, or comes earlier in ds, is skipped, so a worker
	// resolving the audience again after a crash adds only what is missing. Deliveries of
	// a cancelled campaign are never sent: the engine either does not store them or, when
	// a claim finds them, cancels them instead of returning them (a worker may still be
	// resolving the audience when an admin cancels).
	AddDeliveries(ctx context.Context, ds []Delivery) error
	// StartCampaign moves a queued campaign leased by owner (LeaseOwner = owner; the lease
	// may have ended if no other worker has claimed it since) to status (sending, or
	// completed for a dry run or an empty audience: then FinishedAt = now and Final = the
	// counts of its deliveries, normally none), with Targeted =
	// targeted and StartedAt = now, and clears the lease. When the campaign is not queued
	// or not leased by owner (its lease ended and another worker took it, an admin
	// cancelled it, nobody claimed it, or it does not exist), it changes nothing and returns
	// a conflict error.
	StartCampaign(ctx context.Context, id, owner, status string, targeted int, now time.Time) error
	// ClaimDeliveries leases to owner, until leaseUntil, up to limit pending deliveries, of
	// any campaign, with Due at or before now and no lease (or an ended one: LeaseUntil at
	// or before now), the earliest Due first; each claimed delivery's Attempts grows by one.
	// It returns them as leased, in any order. A live lease is not claimed, not even by its
	// owner. Concurrent claims never return one delivery twice while its lease lasts.
	ClaimDeliveries(ctx context.Context, owner string, now, leaseUntil time.Time, limit int) ([]Delivery, error)
	// FinishDeliveries records outcomes of deliveries leased by owner (LeaseOwner = owner;
	// the lease may have ended if no other worker has claimed them since) and clears their
	// lease. A final outcome sets Status, Error and FinishedAt = At; a retry sets Due and
	// Error, and the delivery stays pending. An outcome for a delivery owner does not hold
	// (another worker claimed it since, it was finished already, or it is unknown) is
	// skipped. A cancelled delivery takes a final outcome (the message was sent after all)
	// but stays cancelled when the outcome is a retry: then only its lease is cleared (the
	// outcome is recorded all the same). It returns how many outcomes it recorded.
	FinishDeliveries(ctx context.Context, owner string, outcomes []Outcome) (int, error)
	// FinishCampaign moves a sending campaign with no pending delivery to completed
	// (FinishedAt = now, and Final = its deliveries by status, in the same atomic change)
	// and says whether it did (false, and no error, for any other campaign or an unknown
	// one).
	FinishCampaign(ctx context.Context, id string, now time.Time) (bool, error)
	// PurgeDeliveries deletes the deliveries of campaigns that ended (completed or
	// cancelled) before endedBefore, oldest first. Of each such campaign it first stores
	// Final when the campaign has none (counted from its deliveries, which no longer
	// change), then deletes its deliveries that have a final status, except the first
	// keepErrors failed ones (those CampaignErrors returns), and once none is left to
	// delete, marks the campaign so that later calls skip it. One call deletes at most
	// limit deliveries and marks at most limit campaigns; it returns how many deliveries
	// it deleted plus how many campaigns it marked (0: there was nothing left to do).
	// A call that fails or stops midway loses nothing and counts nothing twice: Final is
	// stored before the first delivery goes, and never replaced. Several nodes may purge
	// at once.
	PurgeDeliveries(ctx context.Context, endedBefore time.Time, keepErrors, limit int) (int, error)
}
