// Package push is the push notification capability: the devices of each user and their
// push tokens, topics, and (later) campaigns delivered through a provider such as Firebase
// Cloud Messaging. It declares push.Store, which every storage engine implements.
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
	// SetTopic subscribes the user's device to topic (member true) or unsubscribes it.
	// Both are idempotent; a device that does not exist is not_found.
	SetTopic(ctx context.Context, userID, deviceID, topic string, member bool) error
	// ListTopics returns every topic with at least one subscribed device and the number of
	// such devices, by name.
	ListTopics(ctx context.Context) ([]TopicCount, error)
}
