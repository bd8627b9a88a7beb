package push

import (
	"context"
	"log/slog"
	"time"
)

// MaxBatch is the most messages a Provider is given in one Send (FCM's SendEach limit).
const MaxBatch = 500

// Message is one notification to one device, as a provider sends it.
type Message struct {
	Token    string
	Platform string // ios, android or web

	// Title, Body and ImageURL are the visible notification; all empty (or Silent): a
	// data-only message.
	Title, Body, ImageURL string
	Data                  map[string]string

	// Priority is "high" or "normal" ("": the provider's default).
	Priority string
	// TTL is how long the provider keeps trying to reach an offline device (0: its default).
	TTL time.Duration
	// CollapseKey groups messages of which an offline device gets only the last.
	CollapseKey string
	Badge       *int   // the app icon's badge (iOS)
	Sound       string // "default" or a sound file bundled in the app
	// Silent wakes the app without showing anything: data only, APNs content-available.
	Silent bool
	// Tag identifies the notification on the device: a second message with the same tag
	// replaces the first rather than showing twice (Android tag, APNs collapse id, web
	// notification tag). Campaigns use their id, so a resend after a crash shows once.
	Tag string
}

// Result outcomes.
const (
	ResultSent         = "sent"         // the provider accepted the message
	ResultUnregistered = "unregistered" // the token is no longer valid: remove it
	ResultInvalid      = "invalid"      // the provider refused the message or token as malformed
	ResultRetry        = "retry"        // try again later (quota, provider unavailable, network)
	ResultFailed       = "failed"       // refused for another reason (configuration, auth)
)

// Result is what happened to one message.
type Result struct {
	Outcome string
	// ID is the provider's id of the sent message.
	ID string
	// RetryAfter is how long the provider asked us to wait (Retry-After), for a retry; 0
	// when it did not say.
	RetryAfter time.Duration
	// Code and Message explain an outcome other than sent: the provider's error code
	// (UNREGISTERED, INVALID_ARGUMENT, QUOTA_EXCEEDED, ...) and text.
	Code, Message string
}

// Provider sends push messages: Firebase Cloud Messaging (push/fcm), or the log.
type Provider interface {
	// Name is the provider's name in logs and metrics ("fcm", "log").
	Name() string
	// Send sends up to MaxBatch messages and returns one result per message, in order.
	// It returns an error only when it sent nothing (ctx ended first, or the provider is
	// misconfigured); a message it could not send is a Result with outcome retry.
	Send(ctx context.Context, msgs []Message) ([]Result, error)
}

// LogProvider is the development provider: it logs what it would send and reports every
// message sent. It is the default when no FCM credentials are configured.
type LogProvider struct {
	Logger *slog.Logger
}

// Name implements Provider.
func (LogProvider) Name() string { return "log" }

// Send implements Provider.
func (p LogProvider) Send(ctx context.Context, msgs []Message) ([]Result, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	out := make([]Result, len(msgs))
	for i, m := range msgs {
		tok := m.Token
		if len(tok) > 12 {
			tok = tok[:12] + "…"
		}
		if p.Logger != nil {
			p.Logger.InfoContext(ctx, "push (log provider: not sent)", "platform", m.Platform, "token", tok,
				"title", m.Title, "body", m.Body, "silent", m.Silent, "data_keys", len(m.Data), "tag", m.Tag)
		}
		out[i] = Result{Outcome: ResultSent}
	}
	return out, nil
}
