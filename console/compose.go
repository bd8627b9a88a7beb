package console

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/tideline-dev/tideline"
	"github.com/tideline-dev/tideline/auth"
	"github.com/tideline-dev/tideline/push"
)

// composeForm is the compose page's form as sent: strings as typed, so that a form with
// an error comes back as the admin left it.
type composeForm struct {
	Title, Body, ImageURL string
	Data                  []dataRow
	// Target is all, users, topic or segment.
	Target                                    string
	Users                                     string // emails or user ids, separated by commas, spaces or lines
	Topic                                     string
	Platforms                                 []string
	MinVersion, MaxVersion, Locales, SeenDays string
	Silent                                    bool
	Priority                                  string
	TTLHours, CollapseKey, Badge, Sound       string
	// When is now or later; SendAt is a datetime-local value, read in Zone (an IANA name,
	// UTC when empty) or, with LocalTime, in each device's zone.
	When, SendAt, Zone string
	LocalTime          bool
	DryRun             bool
	// Nonce is made when the page is first shown; with the campaign's content it makes
	// the idempotency key, so sending the same form twice queues one campaign.
	Nonce string
	// Confirmed is the audience size the admin confirmed sending to.
	Confirmed string
}

type dataRow struct{ Key, Value string }

// blankDataRows is how many empty data rows the form offers (the script adds more).
const blankDataRows = 2

func readComposeForm(v url.Values) composeForm {
	f := composeForm{
		Title: v.Get("title"), Body: v.Get("body"), ImageURL: strings.TrimSpace(v.Get("imageUrl")),
		Target: v.Get("target"), Users: v.Get("users"), Topic: v.Get("topic"), Platforms: v["platform"],
		MinVersion: strings.TrimSpace(v.Get("minVersion")), MaxVersion: strings.TrimSpace(v.Get("maxVersion")),
		Locales: v.Get("locales"), SeenDays: strings.TrimSpace(v.Get("seenDays")),
		Silent: v.Get("silent") != "", Priority: v.Get("priority"), TTLHours: strings.TrimSpace(v.Get("ttlHours")),
		CollapseKey: strings.TrimSpace(v.Get("collapseKey")), Badge: strings.TrimSpace(v.Get("badge")), Sound: strings.TrimSpace(v.Get("sound")),
		When: v.Get("when"), SendAt: v.Get("sendAt"), Zone: strings.TrimSpace(v.Get("zone")), LocalTime: v.Get("localTime") != "",
		DryRun: v.Get("dryRun") != "", Nonce: v.Get("nonce"), Confirmed: v.Get("confirmed"),
	}
	keys, values := v["dataKey"], v["dataValue"]
	for i, k := range keys {
		row := dataRow{Key: strings.TrimSpace(k)}
		if i < len(values) {
			row.Value = values[i]
		}
		if row.Key != "" || row.Value != "" {
			f.Data = append(f.Data, row)
		}
	}
	if f.Target == "" {
		f.Target = "all"
	}
	if f.When == "" {
		f.When = "now"
	}
	if f.Priority == "" {
		f.Priority = "high"
	}
	return f
}

// formError is a mistake in the form, shown to the admin.
func formError(format string, args ...any) error {
	return tideline.Errorf(tideline.CodeInvalid, format, args...)
}

// target reads the audience. Users are named by email or by id; an email nobody has is an
// error.
func (c *Console) target(ctx context.Context, f composeForm) (push.Target, error) {
	switch f.Target {
	case "all":
		return push.Target{All: true}, nil
	case "topic":
		if f.Topic == "" {
			return push.Target{}, formError("Choose a topic.")
		}
		return push.Target{Topic: f.Topic}, nil
	case "users":
		return c.userTarget(ctx, f.Users)
	case "segment":
		g := &push.Segment{Platforms: f.Platforms, MinAppVersion: f.MinVersion, MaxAppVersion: f.MaxVersion, Locales: splitList(f.Locales)}
		if f.SeenDays != "" {
			days, err := strconv.Atoi(f.SeenDays)
			if err != nil || days < 1 || days > 3660 {
				return push.Target{}, formError("“Last seen within” must be a number of days from 1 to 3660.")
			}
			g.SeenWithin = time.Duration(days) * 24 * time.Hour
		}
		return push.Target{Segment: g}, nil
	}
	return push.Target{}, formError("Choose who receives the notification.")
}

func (c *Console) userTarget(ctx context.Context, list string) (push.Target, error) {
	var t push.Target
	for _, entry := range splitList(list) {
		if !strings.Contains(entry, "@") {
			t.UserIDs = append(t.UserIDs, entry)
			continue
		}
		u, err := c.userByEmail(ctx, entry)
		if err != nil {
			return push.Target{}, err
		}
		t.UserIDs = append(t.UserIDs, u.ID)
	}
	if len(t.UserIDs) == 0 {
		return push.Target{}, formError("Enter the emails or ids of the users.")
	}
	return t, nil
}

// userByEmail finds the user with exactly this email.
func (c *Console) userByEmail(ctx context.Context, email string) (auth.User, error) {
	norm, err := auth.NormalizeEmail(email)
	if err != nil {
		return auth.User{}, formError("%q is not an email address.", email)
	}
	users, err := c.cfg.Auth.ListUsers(ctx, auth.UserQuery{EmailContains: norm, Limit: auth.MaxPage})
	if err != nil {
		return auth.User{}, err
	}
	if i := slices.IndexFunc(users, func(u auth.User) bool { return u.Email == norm }); i >= 0 {
		return users[i], nil
	}
	return auth.User{}, formError("No user has the email %s.", norm)
}

// newCampaign reads the whole form into a campaign.
func (c *Console) newCampaign(ctx context.Context, f composeForm, s *session) (push.NewCampaign, error) {
	t, err := c.target(ctx, f)
	if err != nil {
		return push.NewCampaign{}, err
	}
	n := push.NewCampaign{Spec: push.Spec{Target: t, Notification: push.Notification{Title: f.Title, Body: f.Body, ImageURL: f.ImageURL}},
		DryRun: f.DryRun, CreatedBy: s.user.ID}
	for _, row := range f.Data {
		if row.Key == "" {
			return n, formError("Every data value needs a key.")
		}
		if _, dup := n.Data[row.Key]; dup {
			return n, formError("The data key %q is given twice.", row.Key)
		}
		if n.Data == nil {
			n.Data = map[string]string{}
		}
		n.Data[row.Key] = row.Value
	}
	o := &n.Options
	o.Silent, o.Priority, o.CollapseKey, o.Sound = f.Silent, f.Priority, f.CollapseKey, f.Sound
	if f.TTLHours != "" {
		h, err := strconv.ParseFloat(f.TTLHours, 64)
		if err != nil || h < 0 || h > push.MaxTTL.Hours() {
			return n, formError("The time to live must be a number of hours from 0 to %d.", int(push.MaxTTL.Hours()))
		}
		o.TTL = time.Duration(h * float64(time.Hour))
	}
	if f.Badge != "" {
		b, err := strconv.Atoi(f.Badge)
		if err != nil {
			return n, formError("The badge must be a whole number.")
		}
		o.Badge = &b
	}
	if f.When == "later" {
		if n.SendAt, err = c.sendAt(f); err != nil {
			return n, err
		}
		n.LocalTime = f.LocalTime
	}
	n.IdempotencyKey = idempotencyKey(f.Nonce, n)
	return n, nil
}

// sendAt reads the scheduled time: in the chosen zone, or as a wall time read in each
// device's zone (push reads only the date and time of a local-time send).
func (c *Console) sendAt(f composeForm) (time.Time, error) {
	loc := time.UTC
	if f.Zone != "" && !f.LocalTime {
		l, err := time.LoadLocation(f.Zone)
		if err != nil || f.Zone == "Local" {
			return time.Time{}, formError("%q is not a time zone such as Europe/Rome or UTC.", f.Zone)
		}
		loc = l
	}
	var t time.Time
	var err error
	for _, layout := range []string{"2006-01-02T15:04", "2006-01-02T15:04:05"} {
		if t, err = time.ParseInLocation(layout, f.SendAt, loc); err == nil {
			break
		}
	}
	if err != nil {
		return time.Time{}, formError("Enter the date and time to send at.")
	}
	if !f.LocalTime && t.Before(c.clock.Now().Add(-time.Minute)) {
		return time.Time{}, formError("The time to send at has passed; choose a later one, or send now.")
	}
	return t, nil
}

// idempotencyKey makes a key from the form's nonce and the campaign: sending the same
// form twice (a double click, a reload) queues one campaign, while changing anything and
// sending again queues another.
func idempotencyKey(nonce string, n push.NewCampaign) string {
	if nonce == "" {
		return ""
	}
	b, _ := json.Marshal(struct {
		push.Spec
		DryRun bool
	}{n.Spec, n.DryRun})
	sum := sha256.Sum256(b)
	return "console:" + clipNonce(nonce) + ":" + hex.EncodeToString(sum[:12])
}

func clipNonce(s string) string {
	s = strings.Map(func(r rune) rune {
		if r > 0x20 && r < 0x7f {
			return r
		}
		return -1
	}, s)
	return s[:min(len(s), 40)]
}

func newNonce() string {
	b := make([]byte, 12)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

func splitList(s string) []string {
	return strings.FieldsFunc(s, func(r rune) bool { return r == ',' || r == ' ' || r == '\n' || r == '\r' || r == '\t' || r == ';' })
}

// composeData is the compose page's.
type composeData struct {
	Form   composeForm
	Topics []push.TopicCount
	// Counted says Audience was counted: how many devices the target reaches now.
	Counted  bool
	Audience int
	// Confirm, when not zero, asks the admin to confirm sending to that many devices.
	Confirm      int
	ConfirmAbove int
	Rows         []dataRow
}

func (c *Console) renderCompose(w http.ResponseWriter, r *http.Request, s *session, status int, d composeData, errMsg string) {
	if topics, err := c.cfg.Push.ListTopics(r.Context()); err == nil {
		d.Topics = topics
	}
	d.ConfirmAbove = c.cfg.ConfirmAbove
	d.Rows = append(slices.Clone(d.Form.Data), make([]dataRow, blankDataRows)...)
	if d.Form.Nonce == "" {
		d.Form.Nonce = newNonce()
	}
	c.render(w, r, status, "compose", view{Title: "Compose", Nav: "compose", Admin: &s.user, CSRF: s.csrf, Error: errMsg, Data: d})
}

// composePage shows the form; query parameters prefill it (the topics page links to a
// topic's campaign this way).
func (c *Console) composePage(w http.ResponseWriter, r *http.Request, s *session) {
	c.renderCompose(w, r, s, http.StatusOK, composeData{Form: readComposeForm(r.URL.Query())}, "")
}

// compose counts the audience (action count) or sends (action send). Sending to more
// devices than ConfirmAbove shows the form again with a confirmation; the confirmed size
// comes back with the form, and a target that has grown since asks again.
func (c *Console) compose(w http.ResponseWriter, r *http.Request, s *session) {
	ctx := r.Context()
	f := readComposeForm(r.PostForm)
	d := composeData{Form: f}
	n, err := c.newCampaign(ctx, f, s)
	if err != nil {
		c.renderCompose(w, r, s, errorStatus(w, err), d, errorText(w, err))
		return
	}
	if d.Audience, err = c.cfg.Push.CountAudience(ctx, n.Target); err != nil {
		c.renderCompose(w, r, s, errorStatus(w, err), d, errorText(w, err))
		return
	}
	d.Counted = true
	// The confirmation's button sends the confirmed size instead of action=send.
	if r.PostFormValue("action") != "send" && f.Confirmed == "" {
		c.renderCompose(w, r, s, http.StatusOK, d, "")
		return
	}
	if !n.DryRun && d.Audience == 0 && n.SendAt.IsZero() {
		c.renderCompose(w, r, s, http.StatusBadRequest, d, "This target reaches no device now, so nothing would be sent.")
		return
	}
	if !n.DryRun && d.Audience > c.cfg.ConfirmAbove && f.Confirmed != strconv.Itoa(d.Audience) {
		d.Confirm = d.Audience
		c.renderCompose(w, r, s, http.StatusOK, d, "")
		return
	}
	v, _, err := c.cfg.Push.CreateCampaign(ctx, n)
	if err != nil {
		c.renderCompose(w, r, s, errorStatus(w, err), d, errorText(w, err))
		return
	}
	http.Redirect(w, r, Prefix+"/campaigns/"+v.ID+"?done=queued", http.StatusSeeOther)
}

// audience answers the compose page's script: how many devices the target in the query
// reaches now.
func (c *Console) audience(w http.ResponseWriter, r *http.Request, _ *session) {
	t, err := c.target(r.Context(), readComposeForm(r.URL.Query()))
	var n int
	if err == nil {
		n, err = c.cfg.Push.CountAudience(r.Context(), t)
	}
	if err != nil {
		writeJSON(w, errorStatus(w, err), map[string]string{"error": errorText(w, err)})
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"count": n, "confirmAbove": c.cfg.ConfirmAbove,
		"text": fmt.Sprintf("This target reaches %s now.", plural(n, "device"))})
}
