package push

import (
	"context"
	"encoding/json"
	"fmt"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/tideline-dev/tideline"
)

// Spec is what a campaign sends and to whom. It is stored as JSON (Campaign.Spec).
type Spec struct {
	Target       Target            `json:"target"`
	Notification Notification      `json:"notification,omitzero"`
	Data         map[string]string `json:"data,omitempty"`
	Options      Options           `json:"options,omitzero"`
	// SendAt is when to send (zero: at once). With LocalTime, only its wall-clock date and
	// time count, read in each device's time zone (UTC for devices without one).
	SendAt    time.Time `json:"sendAt,omitzero"`
	LocalTime bool      `json:"localTime,omitempty"`
}

// Target is the audience of a campaign: exactly one of its fields is set.
type Target struct {
	All       bool     `json:"all,omitempty"`
	UserIDs   []string `json:"userIds,omitempty"`
	DeviceIDs []string `json:"deviceIds,omitempty"` // server ids of devices (Device.ID)
	Topic     string   `json:"topic,omitempty"`
	Segment   *Segment `json:"segment,omitempty"`
}

// Segment selects devices by what they registered; every condition given must hold.
type Segment struct {
	Platforms []string `json:"platforms,omitempty"`
	// MinAppVersion and MaxAppVersion bound the app version, inclusive, compared as dotted
	// numbers (2.10 > 2.9). Devices without a version are outside any bound.
	MinAppVersion string `json:"minAppVersion,omitempty"`
	MaxAppVersion string `json:"maxAppVersion,omitempty"`
	// Locales match a device's locale exactly, or as its language ("en" matches "en-GB").
	Locales []string `json:"locales,omitempty"`
	// SeenWithin: devices that registered (opened the app) within this long before the send.
	SeenWithin time.Duration `json:"seenWithin,omitempty"`
}

// Notification is what the device shows.
type Notification struct {
	Title    string `json:"title,omitempty"`
	Body     string `json:"body,omitempty"`
	ImageURL string `json:"imageUrl,omitempty"`
}

// Options tune delivery.
type Options struct {
	Priority    string        `json:"priority,omitempty"` // high (default) or normal
	TTL         time.Duration `json:"ttl,omitempty"`      // 0: the provider's default (4 weeks on FCM)
	CollapseKey string        `json:"collapseKey,omitempty"`
	Badge       *int          `json:"badge,omitempty"`
	Sound       string        `json:"sound,omitempty"`
	Silent      bool          `json:"silent,omitempty"`
}

// NewCampaign is what an admin asks to send.
type NewCampaign struct {
	Spec
	DryRun         bool
	IdempotencyKey string
	CreatedBy      string // the admin user's id; "" for an admin key
}

// CampaignView is a campaign as admins see it.
type CampaignView struct {
	Campaign
	Spec Spec
	// Counts are the deliveries by status; Targeted is the audience's size.
	Counts   Counts
	Targeted int
	// Errors are the first failed deliveries.
	Errors []Delivery
}

// Limits of campaigns. MaxPayloadBytes is FCM's: the data and the notification's title and
// body together.
const (
	MaxPayloadBytes    = 4096
	MaxTargetIDs       = 10000
	MaxTTL             = 28 * 24 * time.Hour
	MaxScheduleAhead   = 366 * 24 * time.Hour
	CampaignErrorsKept = 10
	maxTitleBytes      = 1024
	maxImageURLBytes   = 2048
	maxKeyBytes        = 128
	// earliestOffset is the earliest time zone's offset (Kiribati, UTC+14): a local-time
	// campaign starts resolving its audience when its wall time arrives there.
	earliestOffset = 14 * time.Hour
)

var (
	idForm         = regexp.MustCompile(`^[A-Za-z0-9_-]{1,64}$`)
	collapseForm   = regexp.MustCompile(`^[A-Za-z0-9_.~-]{1,64}$`)
	soundForm      = regexp.MustCompile(`^[A-Za-z0-9_.-]{1,64}$`)
	idemForm       = regexp.MustCompile(`^[\x21-\x7e]{1,128}$`)
	reservedPrefix = []string{"google.", "gcm.", "apns-", "tideline."}
	reservedKeys   = []string{"from", "notification", "message_type", "collapse_key", "priority", "ttl"}
)

// check validates the campaign against the service's rules; now is the time of the request.
func (s *Service) check(ctx context.Context, c *NewCampaign, now time.Time) error {
	if err := checkTarget(c.Target); err != nil {
		return err
	}
	if t := c.Target.Topic; t != "" {
		known, err := s.topicExists(ctx, t)
		if err != nil {
			return err
		}
		if !known {
			return invalid("target.topic", "names a topic no device is subscribed to")
		}
	}
	n, o := c.Notification, &c.Options
	switch {
	case o.Silent && (n.Title != "" || n.Body != "" || n.ImageURL != ""):
		return invalid("notification", "must be left out of a silent push, which shows nothing")
	case !o.Silent && n.Title == "" && n.Body == "":
		return invalid("notification", "needs a title or a body (or set options.silent for a data-only push)")
	case len(n.Title) > maxTitleBytes || !utf8.ValidString(n.Title):
		return invalid("notification.title", fmt.Sprintf("must be valid text of at most %d bytes", maxTitleBytes))
	case !utf8.ValidString(n.Body):
		return invalid("notification.body", "must be valid text")
	}
	if n.ImageURL != "" {
		u, err := url.Parse(n.ImageURL)
		if err != nil || u.Scheme != "https" || u.Host == "" || len(n.ImageURL) > maxImageURLBytes {
			return invalid("notification.imageUrl", "must be an https URL of at most 2048 bytes")
		}
	}
	size := len(n.Title) + len(n.Body)
	for k, v := range c.Data {
		if err := checkDataKey(k); err != nil {
			return err
		}
		if !utf8.ValidString(v) {
			return invalid("data", "values must be valid text")
		}
		size += len(k) + len(v)
	}
	if size > MaxPayloadBytes {
		return &tideline.Error{Code: tideline.CodeTooLarge, Message: fmt.Sprintf(
			"The data and the notification's title and body come to %d bytes; FCM accepts at most %d.", size, MaxPayloadBytes)}
	}
	switch {
	case o.Priority != "" && o.Priority != "high" && o.Priority != "normal":
		return invalid("options.priority", "must be high or normal")
	case o.TTL < 0 || o.TTL > MaxTTL:
		return invalid("options.ttl", "must be between 0 and 28 days")
	case o.CollapseKey != "" && !collapseForm.MatchString(o.CollapseKey):
		return invalid("options.collapseKey", "must be 1 to 64 letters, digits and _.~-")
	case o.Badge != nil && (*o.Badge < 0 || *o.Badge > 99999):
		return invalid("options.badge", "must be between 0 and 99999")
	case o.Sound != "" && !soundForm.MatchString(o.Sound):
		return invalid("options.sound", "must be default or the name of a sound file in the app (letters, digits and _.-)")
	case c.LocalTime && c.SendAt.IsZero():
		return invalid("localTime", "needs sendAt")
	case !c.SendAt.IsZero() && c.SendAt.After(now.Add(MaxScheduleAhead)):
		return invalid("sendAt", "must be within a year")
	case c.IdempotencyKey != "" && !idemForm.MatchString(c.IdempotencyKey):
		return invalid("idempotencyKey", "must be 1 to 128 printable characters without spaces")
	}
	return nil
}

func checkTarget(t Target) error {
	kinds := 0
	for _, set := range []bool{t.All, len(t.UserIDs) > 0, len(t.DeviceIDs) > 0, t.Topic != "", t.Segment != nil} {
		if set {
			kinds++
		}
	}
	if kinds != 1 {
		return invalid("target", "must give exactly one of all, userIds, deviceIds, topic and segment")
	}
	for field, ids := range map[string][]string{"target.userIds": t.UserIDs, "target.deviceIds": t.DeviceIDs} {
		if len(ids) > MaxTargetIDs {
			return &tideline.Error{Code: tideline.CodeTooLarge, Message: fmt.Sprintf("A campaign targets at most %d ids; use a topic or a segment for more.", MaxTargetIDs),
				Fields: map[string]string{field: "too many ids"}}
		}
		for _, id := range ids {
			if !idForm.MatchString(id) {
				return invalid(field, "must be ids as Tideline gives them")
			}
		}
	}
	if t.Topic != "" && !topicForm.MatchString(t.Topic) {
		return invalid("target.topic", "must be 1 to 128 letters, digits and -_.~%")
	}
	if g := t.Segment; g != nil {
		for _, p := range g.Platforms {
			if p != PlatformIOS && p != PlatformAndroid && p != PlatformWeb {
				return invalid("target.segment.platforms", "must be ios, android or web")
			}
		}
		for _, v := range []string{g.MinAppVersion, g.MaxAppVersion} {
			if v != "" && !appVersionForm.MatchString(v) {
				return invalid("target.segment.appVersion", "must be versions such as 2.3.1")
			}
		}
		if g.MinAppVersion != "" && g.MaxAppVersion != "" && compareVersions(g.MinAppVersion, g.MaxAppVersion) > 0 {
			return invalid("target.segment.appVersion", "has a minimum above its maximum")
		}
		for _, l := range g.Locales {
			if !localeForm.MatchString(l) {
				return invalid("target.segment.locales", "must be BCP 47 language tags such as en or en-GB")
			}
		}
		if g.SeenWithin < 0 || g.SeenWithin > 10*366*24*time.Hour {
			return invalid("target.segment.seenWithin", "must be a positive duration of at most 10 years")
		}
	}
	return nil
}

func checkDataKey(k string) error {
	lower := strings.ToLower(k)
	switch {
	case k == "" || len(k) > maxKeyBytes || !utf8.ValidString(k):
		return invalid("data", fmt.Sprintf("keys must be 1 to %d bytes of text", maxKeyBytes))
	case slices.Contains(reservedKeys, lower) || slices.ContainsFunc(reservedPrefix, func(p string) bool { return strings.HasPrefix(lower, p) }):
		return invalid("data", fmt.Sprintf("key %q is reserved by FCM or Tideline", k))
	}
	return nil
}

func (s *Service) topicExists(ctx context.Context, topic string) (bool, error) {
	ts, err := s.store.ListTopics(ctx)
	if err != nil {
		return false, err
	}
	return slices.ContainsFunc(ts, func(t TopicCount) bool { return t.Topic == topic }), nil
}

// compareVersions compares dotted versions numerically, part by part (2.10 > 2.9; 2.3 ==
// 2.3.0); a part's non-digit tail (1.0-beta) is ignored, and a part without digits is 0.
func compareVersions(a, b string) int {
	pa, pb := strings.Split(a, "."), strings.Split(b, ".")
	for i := range max(len(pa), len(pb)) {
		if c := versionPart(pa, i) - versionPart(pb, i); c != 0 {
			if c < 0 {
				return -1
			}
			return 1
		}
	}
	return 0
}

func versionPart(parts []string, i int) int64 {
	if i >= len(parts) {
		return 0
	}
	p := parts[i]
	end := 0
	for end < len(p) && end < 18 && p[end] >= '0' && p[end] <= '9' {
		end++
	}
	n, _ := strconv.ParseInt(p[:end], 10, 64)
	return n
}

// startAt is when a worker may resolve the campaign's audience: its send time, or for a
// local-time send, when the wall time arrives in the earliest time zone.
func startAt(sp Spec, now time.Time) time.Time {
	switch {
	case sp.SendAt.IsZero():
		return now
	case sp.LocalTime:
		return wallIn(sp.SendAt, time.UTC).Add(-earliestOffset)
	default:
		return sp.SendAt
	}
}

// wallIn is t's wall-clock date and time in loc.
func wallIn(t time.Time, loc *time.Location) time.Time {
	return time.Date(t.Year(), t.Month(), t.Day(), t.Hour(), t.Minute(), t.Second(), 0, loc)
}

// CreateCampaign queues a campaign. With an idempotency key already used, it returns the
// campaign made then, and false.
func (s *Service) CreateCampaign(ctx context.Context, c NewCampaign) (CampaignView, bool, error) {
	now := s.clock.Now()
	if err := s.check(ctx, &c, now); err != nil {
		return CampaignView{}, false, err
	}
	slices.Sort(c.Target.UserIDs)
	c.Target.UserIDs = slices.Compact(c.Target.UserIDs)
	slices.Sort(c.Target.DeviceIDs)
	c.Target.DeviceIDs = slices.Compact(c.Target.DeviceIDs)
	spec, err := json.Marshal(c.Spec)
	if err != nil {
		return CampaignView{}, false, err
	}
	stored, created, err := s.store.CreateCampaign(ctx, Campaign{
		ID: tideline.NewID(), Status: CampaignQueued, Spec: spec, IdempotencyKey: c.IdempotencyKey,
		DryRun: c.DryRun, CreatedBy: c.CreatedBy, CreatedAt: now, StartAt: startAt(c.Spec, now),
	})
	if err != nil {
		return CampaignView{}, false, err
	}
	if created {
		s.cfg.Logger.InfoContext(ctx, "push campaign queued", "campaign", stored.ID, "dry_run", stored.DryRun, "start_at", stored.StartAt)
		s.wakeWorkers()
	}
	v, err := s.view(ctx, stored, true)
	return v, created, err
}

// CountAudience counts the devices a campaign to t would reach now: the devices with a push
// token that match it. A campaign's audience is resolved when it starts, so a scheduled
// one may reach more or fewer. A topic no device is subscribed to counts 0 (CreateCampaign
// refuses it). It reads the audience as a campaign's start does, a page of 1,000 devices
// at a time, so its cost grows with the audience.
func (s *Service) CountAudience(ctx context.Context, t Target) (int, error) {
	if err := checkTarget(t); err != nil {
		return 0, err
	}
	n := 0
	err := s.eachAudiencePage(ctx, t, s.clock.Now(), func(ds []Device) error { n += len(ds); return nil })
	return n, err
}

var errNoCampaign = tideline.Errorf(tideline.CodeNotFound, "There is no campaign with this id.")

// GetCampaign returns a campaign with its counts and first errors.
func (s *Service) GetCampaign(ctx context.Context, id string) (CampaignView, error) {
	if !idForm.MatchString(id) {
		return CampaignView{}, errNoCampaign
	}
	c, err := s.store.GetCampaign(ctx, id)
	if tideline.ErrorCode(err) == tideline.CodeNotFound {
		return CampaignView{}, errNoCampaign
	}
	if err != nil {
		return CampaignView{}, err
	}
	return s.view(ctx, c, true)
}

// ListCampaigns returns up to limit campaigns older than before ("": the newest), newest
// first, with their counts.
func (s *Service) ListCampaigns(ctx context.Context, before string, limit int) ([]CampaignView, error) {
	if before != "" && !idForm.MatchString(before) {
		return nil, invalid("before", "must be a campaign id")
	}
	cs, err := s.store.ListCampaigns(ctx, before, limit)
	if err != nil {
		return nil, err
	}
	out := make([]CampaignView, 0, len(cs))
	for _, c := range cs {
		v, err := s.view(ctx, c, false) // the list carries counts; errors are on the campaign's own page
		if err != nil {
			return nil, err
		}
		out = append(out, v)
	}
	return out, nil
}

// CancelCampaign cancels a queued or sending campaign: what was not sent yet never is.
func (s *Service) CancelCampaign(ctx context.Context, id string) (CampaignView, error) {
	if !idForm.MatchString(id) {
		return CampaignView{}, errNoCampaign
	}
	c, err := s.store.CancelCampaign(ctx, id, s.clock.Now())
	switch tideline.ErrorCode(err) {
	case "":
	case tideline.CodeNotFound:
		return CampaignView{}, errNoCampaign
	case tideline.CodeConflict:
		return CampaignView{}, tideline.Errorf(tideline.CodeConflict, "The campaign is %s; only a queued or sending campaign can be cancelled.", c.Status)
	default:
		return CampaignView{}, err
	}
	s.cfg.Logger.InfoContext(ctx, "push campaign cancelled", "campaign", id)
	return s.view(ctx, c, true)
}

// view is c with its counts and, when withErrors, its first errors (a list of campaigns
// shows counts only, and does not read errors it would not show).
func (s *Service) view(ctx context.Context, c Campaign, withErrors bool) (CampaignView, error) {
	v := CampaignView{Campaign: c, Targeted: c.Targeted}
	if err := json.Unmarshal(c.Spec, &v.Spec); err != nil {
		return CampaignView{}, fmt.Errorf("push: campaign %s: stored spec: %w", c.ID, err)
	}
	if c.Status == CampaignQueued {
		return v, nil
	}
	var err error
	if c.Final != nil {
		v.Counts = *c.Final // stored when it completed: its deliveries may be purged
	} else if v.Counts, err = s.store.CampaignCounts(ctx, c.ID); err != nil {
		return CampaignView{}, err
	}
	if !c.DryRun {
		// The deliveries are the audience (a cancelled campaign may have been cancelled
		// while its audience was being resolved: then it is what was resolved).
		cn := v.Counts
		v.Targeted = cn.Pending + cn.Sent + cn.Failed + cn.Pruned + cn.Cancelled
	}
	if withErrors {
		if v.Errors, err = s.store.CampaignErrors(ctx, c.ID, CampaignErrorsKept); err != nil {
			return CampaignView{}, err
		}
	}
	return v, nil
}
