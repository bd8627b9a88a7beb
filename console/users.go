package console

import (
	"cmp"
	"net/http"
	"slices"
	"strings"

	"github.com/tideline-dev/tideline"
	"github.com/tideline-dev/tideline/auth"
	"github.com/tideline-dev/tideline/push"
	datasync "github.com/tideline-dev/tideline/sync"
)

// usersPerPage is the length of a page of the users list.
const usersPerPage = 50

type usersData struct {
	Email string
	Users []auth.User
	Next  string // the id to list the next page after ("": the last page)
}

// users lists users in creation order, searched by email.
func (c *Console) users(w http.ResponseWriter, r *http.Request, s *session) {
	q := r.URL.Query()
	d := usersData{Email: strings.TrimSpace(q.Get("email"))}
	var err error
	d.Users, err = c.cfg.Auth.ListUsers(r.Context(), auth.UserQuery{EmailContains: d.Email, After: q.Get("after"), Limit: usersPerPage})
	if err != nil {
		c.renderError(w, r, s, err)
		return
	}
	if len(d.Users) == usersPerPage {
		d.Next = d.Users[len(d.Users)-1].ID
	}
	c.render(w, r, http.StatusOK, "users", view{Title: "Users", Nav: "users", Admin: &s.user, CSRF: s.csrf, Data: d})
}

type userData struct {
	U        auth.User
	Sessions []auth.Session
	Devices  []push.Device
	// Self is the signed-in admin's own account (which cannot disable itself); Current is
	// the console's own session.
	Self    bool
	Current string
	// Docs are the user's latest documents; MoreDocs says they have more.
	Docs     []datasync.DocumentSummary
	MoreDocs bool
	Emails   map[string]string // the user's, by id, as the document table wants it
	// Health is their clients' sync health (nil without sync).
	Health *syncHealth
	// Storage is their files' total size and the quota (nil without files).
	Storage *storage
}

func (c *Console) user(w http.ResponseWriter, r *http.Request, s *session) {
	ctx := r.Context()
	d := userData{Current: s.p.SessionID}
	var err error
	if d.U, err = c.cfg.Auth.GetUser(ctx, r.PathValue("id")); err != nil {
		c.renderError(w, r, s, err)
		return
	}
	d.Self = d.U.ID == s.user.ID
	if d.Sessions, err = c.cfg.Auth.UserSessions(ctx, d.U.ID); err != nil {
		c.renderError(w, r, s, err)
		return
	}
	if d.Devices, err = c.cfg.Push.ListDevices(ctx, d.U.ID); err != nil {
		c.renderError(w, r, s, err)
		return
	}
	if d.Docs, d.MoreDocs, err = c.ownedBy(r, d.U.ID); err != nil {
		c.renderError(w, r, s, err)
		return
	}
	if d.Health, err = c.healthOf(r, d.U.ID, d.Devices); err != nil {
		c.renderError(w, r, s, err)
		return
	}
	if c.cfg.Files != nil {
		used, quota, err := c.cfg.Files.Storage(ctx, d.U.ID)
		if err != nil {
			c.renderError(w, r, s, err)
			return
		}
		d.Storage = &storage{Used: used, Quota: quota}
	}
	d.Emails = map[string]string{d.U.ID: d.U.Email}
	title := cmp.Or(d.U.Email, "Anonymous user")
	c.render(w, r, http.StatusOK, "user", view{Title: title, Nav: "users", Admin: &s.user, CSRF: s.csrf, Notice: notice(r), Data: d})
}

func (c *Console) revokeSession(w http.ResponseWriter, r *http.Request, s *session) {
	id := r.PathValue("id")
	if err := c.cfg.Auth.RevokeUserSession(r.Context(), s.p, id, r.PathValue("sid"), client(r)); err != nil {
		c.renderError(w, r, s, err)
		return
	}
	http.Redirect(w, r, Prefix+"/users/"+id+"?done=revoked", http.StatusSeeOther)
}

// setDisabled disables the user (ending their sessions) or, with disabled=false, enables
// them again.
func (c *Console) setDisabled(w http.ResponseWriter, r *http.Request, s *session) {
	id, disabled := r.PathValue("id"), r.PostFormValue("disabled") != "false"
	if _, err := c.cfg.Auth.UpdateUser(r.Context(), s.p, id, auth.AdminUserUpdate{Disabled: &disabled}, client(r)); err != nil {
		c.renderError(w, r, s, err)
		return
	}
	done := "enabled"
	if disabled {
		done = "disabled"
	}
	http.Redirect(w, r, Prefix+"/users/"+id+"?done="+done, http.StatusSeeOther)
}

// testPush sends a notification to one of the user's devices: a campaign targeting that
// device, so its outcome shows on the campaign's page.
func (c *Console) testPush(w http.ResponseWriter, r *http.Request, s *session) {
	ctx := r.Context()
	userID, deviceID := r.PathValue("id"), r.PathValue("did")
	devices, err := c.cfg.Push.ListDevices(ctx, userID)
	if err != nil {
		c.renderError(w, r, s, err)
		return
	}
	if !slices.ContainsFunc(devices, func(d push.Device) bool { return d.ID == deviceID }) {
		c.renderError(w, r, s, tideline.Errorf(tideline.CodeNotFound, "The user has no such device."))
		return
	}
	title := cmp.Or(strings.TrimSpace(r.PostFormValue("title")), "Test notification")
	v, _, err := c.cfg.Push.CreateCampaign(ctx, push.NewCampaign{CreatedBy: s.user.ID, Spec: push.Spec{
		Target:       push.Target{DeviceIDs: []string{deviceID}},
		Notification: push.Notification{Title: title, Body: "Sent from the Tideline console."},
	}})
	if err != nil {
		c.renderError(w, r, s, err)
		return
	}
	http.Redirect(w, r, Prefix+"/campaigns/"+v.ID+"?done=test", http.StatusSeeOther)
}

func (c *Console) topics(w http.ResponseWriter, r *http.Request, s *session) {
	topics, err := c.cfg.Push.ListTopics(r.Context())
	if err != nil {
		c.renderError(w, r, s, err)
		return
	}
	c.render(w, r, http.StatusOK, "topics", view{Title: "Topics", Nav: "topics", Admin: &s.user, CSRF: s.csrf, Data: topics})
}
