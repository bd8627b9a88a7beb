// Package fcm is the push.Provider that sends with Firebase Cloud Messaging's HTTP v1 API,
// through the Firebase Admin SDK. It is the only package, with auth/firebase, that links the
// Firebase SDK. Tests run it against the fake of push/fcm/fcmtest.
package fcm

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"cloud.google.com/go/auth"
	"cloud.google.com/go/auth/credentials"
	fb "firebase.google.com/go/v4"
	"firebase.google.com/go/v4/errorutils"
	"firebase.google.com/go/v4/messaging"
	"google.golang.org/api/option"
	htransport "google.golang.org/api/transport/http"

	"github.com/tideline-dev/tideline/push"
)

// The settings that configure the provider, as errors name them.
const (
	CredentialsFileEnv = "TIDELINE_FCM_CREDENTIALS_FILE"
	ProjectIDEnv       = "TIDELINE_FCM_PROJECT_ID"
	EndpointEnv        = "TIDELINE_FCM_ENDPOINT"
)

// scopes are the OAuth scopes of the access token: sending FCM messages.
var scopes = []string{"https://www.googleapis.com/auth/firebase.messaging", "https://www.googleapis.com/auth/cloud-platform"}

// Config configures the provider.
type Config struct {
	// CredentialsFile is the path of a service account's JSON key (Firebase console: Project
	// settings > Service accounts > Generate new private key). Empty: Google's Application
	// Default Credentials (GOOGLE_APPLICATION_CREDENTIALS, gcloud's, or the metadata server
	// on Google Cloud).
	CredentialsFile string
	// ProjectID is the Firebase project; empty: the credentials' project (a key file's
	// project_id).
	ProjectID string
	// Endpoint replaces FCM's base URL, https://fcm.googleapis.com/v1: the provider posts to
	// {Endpoint}/projects/{ProjectID}/messages:send. It includes the API version and has no
	// trailing slash, e.g. "http://127.0.0.1:9099/v1" (fcmtest.Server.Endpoint). Empty: FCM.
	Endpoint string
	// HTTPClient, when set, carries every request (the OAuth token requests and the sends);
	// the provider wraps its Transport to add the access token. For tests.
	HTTPClient *http.Client
}

// Provider sends push messages with FCM. It is safe for concurrent use.
type Provider struct {
	client  *messaging.Client
	creds   *auth.Credentials
	project string
}

var _ push.Provider = (*Provider)(nil)

// New returns the FCM provider of cfg. It reads the credentials but does not reach Google:
// a key that Google refuses shows in the first Send.
func New(ctx context.Context, cfg Config) (*Provider, error) {
	opts := &credentials.DetectOptions{Scopes: scopes, Client: cfg.HTTPClient}
	var creds *auth.Credentials
	project := cfg.ProjectID
	if cfg.CredentialsFile != "" {
		key, err := readKey(cfg.CredentialsFile)
		if err != nil {
			return nil, err
		}
		if project == "" {
			project = key.ProjectID
		}
		creds, err = credentials.NewCredentialsFromJSON(credentials.ServiceAccount, key.json, opts)
		if err != nil {
			return nil, fmt.Errorf("fcm: the credentials file %s (%s) is not a usable service account key: %s", cfg.CredentialsFile, CredentialsFileEnv, strings.TrimPrefix(err.Error(), "credentials: "))
		}
	} else {
		var err error
		if creds, err = credentials.DetectDefault(opts); err != nil {
			return nil, fmt.Errorf("fcm: no credentials: set %s to a service account key file, or provide Application Default Credentials: %w", CredentialsFileEnv, err)
		}
		if project == "" {
			project, _ = creds.ProjectID(ctx) // a key file's project_id, or the metadata server's
		}
	}
	if project == "" {
		return nil, fmt.Errorf("fcm: no Firebase project id: set %s (the credentials give none)", ProjectIDEnv)
	}

	appOpts := []option.ClientOption{}
	if cfg.Endpoint != "" {
		u, err := url.Parse(cfg.Endpoint)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || strings.HasSuffix(cfg.Endpoint, "/") {
			return nil, fmt.Errorf("fcm: %s %q is not a base URL like https://fcm.googleapis.com/v1 (no trailing slash)", EndpointEnv, cfg.Endpoint)
		}
		appOpts = append(appOpts, option.WithEndpoint(cfg.Endpoint))
	}
	if cfg.HTTPClient != nil {
		base := cfg.HTTPClient.Transport
		if base == nil {
			base = http.DefaultTransport
		}
		tr, err := htransport.NewTransport(ctx, base, option.WithAuthCredentials(creds))
		if err != nil {
			return nil, fmt.Errorf("fcm: %w", err)
		}
		client := *cfg.HTTPClient
		client.Transport = tr
		appOpts = append(appOpts, option.WithHTTPClient(&client))
	} else {
		appOpts = append(appOpts, option.WithAuthCredentials(creds))
	}
	app, err := fb.NewApp(ctx, &fb.Config{ProjectID: project}, appOpts...)
	if err != nil {
		return nil, fmt.Errorf("fcm: %w", err)
	}
	client, err := app.Messaging(ctx)
	if err != nil {
		return nil, fmt.Errorf("fcm: %w", err)
	}
	return &Provider{client: client, creds: creds, project: project}, nil
}

// serviceAccountKey is what New reads of a key file before the SDK does, for clear errors.
type serviceAccountKey struct {
	Type        string `json:"type"`
	ProjectID   string `json:"project_id"`
	ClientEmail string `json:"client_email"`
	PrivateKey  string `json:"private_key"`
	json        []byte
}

func readKey(path string) (*serviceAccountKey, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("fcm: reading the credentials file (%s): %w", CredentialsFileEnv, err)
	}
	key := &serviceAccountKey{json: b}
	// The JSON error is left out: its text may quote the key.
	if json.Unmarshal(b, key) != nil {
		return nil, fmt.Errorf("fcm: the credentials file %s (%s) is not JSON: it should be a service account key", path, CredentialsFileEnv)
	}
	switch {
	case key.Type != "service_account":
		return nil, fmt.Errorf("fcm: the credentials file %s (%s) has type %q: it should be a service account key (type service_account), from the Firebase console's Project settings > Service accounts", path, CredentialsFileEnv, key.Type)
	case key.ClientEmail == "" || key.PrivateKey == "":
		return nil, fmt.Errorf("fcm: the credentials file %s (%s) lacks client_email or private_key", path, CredentialsFileEnv)
	}
	return key, nil
}

// Name implements push.Provider.
func (*Provider) Name() string { return "fcm" }

// ProjectID is the Firebase project the provider sends for.
func (p *Provider) ProjectID() string { return p.project }

// Send implements push.Provider: it sends the messages at once (FCM's SendEach: one request
// per message, up to 50 at a time) and classifies each answer. A message FCM would refuse
// before sending (no token, an image that is not a URL) is a Result invalid. Send returns an
// error, having sent nothing, when ctx is done, more than push.MaxBatch messages are given,
// or no access token can be had (the credentials are refused, or Google's token endpoint is
// out of reach).
func (p *Provider) Send(ctx context.Context, msgs []push.Message) ([]push.Result, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if len(msgs) > push.MaxBatch {
		return nil, fmt.Errorf("fcm: %d messages, more than %d in one send", len(msgs), push.MaxBatch)
	}
	results := make([]push.Result, len(msgs))
	batch := make([]*messaging.Message, 0, len(msgs))
	index := make([]int, 0, len(msgs))
	now := time.Now()
	for i, m := range msgs {
		if problem := check(m); problem != "" {
			results[i] = push.Result{Outcome: push.ResultInvalid, Code: "INVALID_ARGUMENT", Message: problem}
			continue
		}
		batch = append(batch, toFCM(m, now))
		index = append(index, i)
	}
	if len(batch) == 0 {
		return results, nil
	}
	// One token for the batch, fetched here (or taken from the cache) so that refused
	// credentials are an error, not 500 results retried by the SDK for seconds each.
	if _, err := p.creds.Token(ctx); err != nil {
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		return nil, fmt.Errorf("fcm: getting an access token: %w", err)
	}
	resp, err := p.client.SendEach(ctx, batch)
	if err != nil {
		return nil, fmt.Errorf("fcm: %w", err)
	}
	for j, r := range resp.Responses {
		results[index[j]] = result(r, now)
	}
	return results, nil
}

// check returns why the SDK would refuse m before sending anything (it refuses the whole
// batch), or "".
func check(m push.Message) string {
	if m.Token == "" {
		return "no token"
	}
	if m.ImageURL != "" {
		if _, err := url.ParseRequestURI(m.ImageURL); err != nil {
			return "the image is not a URL"
		}
	}
	return ""
}

// toFCM maps m to FCM's message. Every token gets the android, apns and webpush blocks: FCM
// applies the one of the token's platform.
func toFCM(m push.Message, now time.Time) *messaging.Message {
	silent := m.Silent || (m.Title == "" && m.Body == "" && m.ImageURL == "")
	priority := m.Priority
	if priority == "" && silent {
		priority = "high" // a data message wakes the app only at high priority
	}
	out := &messaging.Message{
		Token:   m.Token,
		Data:    m.Data,
		Android: &messaging.AndroidConfig{Priority: priority, CollapseKey: m.CollapseKey},
		APNS: &messaging.APNSConfig{
			Headers: map[string]string{"apns-push-type": "alert", "apns-priority": "10"},
			Payload: &messaging.APNSPayload{Aps: &messaging.Aps{Badge: m.Badge}},
		},
		Webpush: &messaging.WebpushConfig{Headers: map[string]string{}},
	}
	if m.TTL > 0 {
		ttl := m.TTL
		out.Android.TTL = &ttl
		secs := int64((m.TTL + time.Second - 1) / time.Second)
		out.APNS.Headers["apns-expiration"] = strconv.FormatInt(now.Unix()+secs, 10)
		out.Webpush.Headers["TTL"] = strconv.FormatInt(secs, 10)
	}
	if priority == "normal" {
		out.APNS.Headers["apns-priority"] = "5"
	}
	if priority != "" {
		out.Webpush.Headers["Urgency"] = priority // Web Push's urgencies include high and normal
	}
	if m.Tag != "" {
		out.APNS.Headers["apns-collapse-id"] = apnsCollapseID(m.Tag)
	}
	aps := out.APNS.Payload.Aps
	if silent {
		out.APNS.Headers["apns-push-type"] = "background"
		out.APNS.Headers["apns-priority"] = "5" // APNs refuses 10 for background pushes
		aps.ContentAvailable = true
		return out
	}
	out.Notification = &messaging.Notification{Title: m.Title, Body: m.Body, ImageURL: m.ImageURL}
	out.Android.Notification = &messaging.AndroidNotification{Tag: m.Tag, Sound: m.Sound, ImageURL: m.ImageURL}
	aps.Alert = &messaging.ApsAlert{Title: m.Title, Body: m.Body}
	aps.Sound = m.Sound
	if m.ImageURL != "" {
		aps.MutableContent = true // the app's notification service extension fetches the image
		out.APNS.FCMOptions = &messaging.APNSFCMOptions{ImageURL: m.ImageURL}
	}
	out.Webpush.Notification = &messaging.WebpushNotification{Tag: m.Tag, Image: m.ImageURL}
	return out
}

// apnsCollapseID is tag when it fits APNs' 64 bytes, else its SHA-256 in hex (64 bytes):
// still one id per tag.
func apnsCollapseID(tag string) string {
	if len(tag) <= 64 {
		return tag
	}
	sum := sha256.Sum256([]byte(tag))
	return hex.EncodeToString(sum[:])
}

// result classifies FCM's answer to one message.
func result(r *messaging.SendResponse, now time.Time) push.Result {
	if r.Success {
		return push.Result{Outcome: push.ResultSent, ID: r.MessageID}
	}
	err := r.Error
	res := push.Result{Message: truncate(err.Error(), 300)}
	resp := errorutils.HTTPResponse(err)
	if resp == nil {
		// No answer from FCM (a network error, ctx ended), after the SDK's own retries.
		res.Outcome = push.ResultRetry
		switch {
		case errors.Is(err, context.Canceled):
			res.Code = "CANCELLED"
		case errors.Is(err, context.DeadlineExceeded), errorutils.IsDeadlineExceeded(err):
			res.Code = "DEADLINE_EXCEEDED"
		default:
			res.Code = "UNAVAILABLE"
		}
		return res
	}
	res.Code = errorCode(resp)
	switch {
	case messaging.IsUnregistered(err):
		res.Outcome = push.ResultUnregistered
	case messaging.IsInvalidArgument(err), messaging.IsSenderIDMismatch(err), errorutils.IsInvalidArgument(err):
		res.Outcome = push.ResultInvalid
	case messaging.IsQuotaExceeded(err), errorutils.IsResourceExhausted(err),
		messaging.IsUnavailable(err), messaging.IsInternal(err), resp.StatusCode >= 500:
		res.Outcome = push.ResultRetry
		res.RetryAfter = retryAfter(resp.Header.Get("Retry-After"), now)
	case resp.StatusCode == http.StatusUnauthorized, resp.StatusCode == http.StatusForbidden,
		messaging.IsThirdPartyAuthError(err):
		// Our credentials (the service account, or the APNs key uploaded to Firebase), not
		// the message: every message fails alike until an admin fixes them, so retry with
		// backoff rather than fail the whole campaign at once.
		res.Outcome = push.ResultRetry
	default:
		res.Outcome = push.ResultFailed
	}
	return res
}

// errorCode is FCM's code of an error answer: the FcmError detail (UNREGISTERED,
// QUOTA_EXCEEDED, ...), else the status (UNAUTHENTICATED, ...), else the HTTP status.
func errorCode(resp *http.Response) string {
	var body struct {
		Error struct {
			Status  string
			Details []struct {
				Type      string `json:"@type"`
				ErrorCode string `json:"errorCode"`
			}
		}
	}
	if b, err := io.ReadAll(io.LimitReader(resp.Body, 64<<10)); err == nil && json.Unmarshal(b, &body) == nil {
		for _, d := range body.Error.Details {
			if d.Type == "type.googleapis.com/google.firebase.fcm.v1.FcmError" && d.ErrorCode != "" {
				return d.ErrorCode
			}
		}
		if body.Error.Status != "" {
			return body.Error.Status
		}
	}
	return "HTTP_" + strconv.Itoa(resp.StatusCode)
}

// maxRetryAfter bounds the wait a Retry-After header may ask for.
const maxRetryAfter = 24 * time.Hour

// retryAfter parses a Retry-After header: delay seconds or an HTTP date; 0 when absent,
// malformed or past; at most maxRetryAfter.
func retryAfter(h string, now time.Time) time.Duration {
	var d time.Duration
	if secs, err := strconv.ParseInt(strings.TrimSpace(h), 10, 64); err == nil {
		d = time.Duration(min(max(secs, 0), int64(maxRetryAfter/time.Second))) * time.Second
	} else if t, err := http.ParseTime(h); err == nil {
		d = t.Sub(now).Round(time.Second)
	}
	return min(max(d, 0), maxRetryAfter)
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n] + "…"
}
