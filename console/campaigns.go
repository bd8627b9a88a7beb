package console

import (
	"net/http"

	"github.com/tideline-dev/tideline"
	"github.com/tideline-dev/tideline/push"
)

// campaignsPerPage is the length of a page of the campaigns list.
const campaignsPerPage = 25

// notices are the messages a page shows after a redirect from an action (?done=...):
// fixed texts, so nothing from the URL is echoed.
var notices = map[string]string{
	"queued":    "The campaign was queued.",
	"cancelled": "The campaign is cancelled: what was not sent yet will not be.",
	"test":      "The test notification is queued.",
	"revoked":   "The session is revoked: its tokens stop working and its devices' push tokens are unbound.",
	"disabled":  "The user is disabled and signed out everywhere.",
	"enabled":   "The user is enabled again.",
	"deleted":   "The document is deleted: devices drop it at their next pull.",
	"gone":      "The document was already deleted.",
}

func notice(r *http.Request) string { return notices[r.URL.Query().Get("done")] }

type campaignsData struct {
	Campaigns []push.CampaignView
	// Next is the id to list older campaigns from ("": none older).
	Next string
}

func (c *Console) campaigns(w http.ResponseWriter, r *http.Request, s *session) {
	list, err := c.cfg.Push.ListCampaigns(r.Context(), r.URL.Query().Get("before"), campaignsPerPage)
	if err != nil {
		c.renderError(w, r, s, err)
		return
	}
	d := campaignsData{Campaigns: list}
	if len(list) == campaignsPerPage {
		d.Next = list[len(list)-1].ID
	}
	c.render(w, r, http.StatusOK, "campaigns", view{Title: "Campaigns", Nav: "campaigns", Admin: &s.user, CSRF: s.csrf, Data: d})
}

// progress is a campaign's state as the detail page's script polls it.
type progress struct {
	Status    string `json:"status"`
	Live      bool   `json:"live"` // queued or sending: poll again
	DryRun    bool   `json:"dryRun"`
	Targeted  int    `json:"targeted"`
	Pending   int    `json:"pending"`
	Sent      int    `json:"sent"`
	Failed    int    `json:"failed"`
	Pruned    int    `json:"pruned"`
	Cancelled int    `json:"cancelled"`
	// Done is how many deliveries have an outcome; Percent is Done of Targeted.
	Done    int `json:"done"`
	Percent int `json:"percent"`
}

func progressOf(v push.CampaignView) progress {
	n := v.Counts
	p := progress{Status: v.Status, Live: v.Status == push.CampaignQueued || v.Status == push.CampaignSending, DryRun: v.DryRun,
		Targeted: v.Targeted, Pending: n.Pending, Sent: n.Sent, Failed: n.Failed, Pruned: n.Pruned, Cancelled: n.Cancelled,
		Done: n.Sent + n.Failed + n.Pruned + n.Cancelled}
	p.Percent = percent(p.Done, p.Targeted)
	if !p.Live && p.Targeted > 0 {
		p.Percent = 100
	}
	return p
}

type campaignData struct {
	C        push.CampaignView
	Progress progress
}

func (c *Console) campaign(w http.ResponseWriter, r *http.Request, s *session) {
	v, err := c.cfg.Push.GetCampaign(r.Context(), r.PathValue("id"))
	if err != nil {
		c.renderError(w, r, s, err)
		return
	}
	d := campaignData{C: v, Progress: progressOf(v)}
	page := view{Title: "Campaign", Nav: "campaigns", Admin: &s.user, CSRF: s.csrf, Notice: notice(r), Data: d}
	if d.Progress.Live {
		page.Refresh = 5
	}
	c.render(w, r, http.StatusOK, "campaign", page)
}

func (c *Console) progress(w http.ResponseWriter, r *http.Request, _ *session) {
	v, err := c.cfg.Push.GetCampaign(r.Context(), r.PathValue("id"))
	if err != nil {
		writeJSON(w, errorStatus(w, err), map[string]string{"error": errorText(w, err)})
		return
	}
	writeJSON(w, http.StatusOK, progressOf(v))
}

func (c *Console) cancel(w http.ResponseWriter, r *http.Request, s *session) {
	id := r.PathValue("id")
	if _, err := c.cfg.Push.CancelCampaign(r.Context(), id); err != nil {
		if tideline.ErrorCode(err) != tideline.CodeConflict {
			c.renderError(w, r, s, err)
			return
		}
		// Finished meanwhile: show the campaign as it is, saying so.
		v, gerr := c.cfg.Push.GetCampaign(r.Context(), id)
		if gerr != nil {
			c.renderError(w, r, s, gerr)
			return
		}
		c.render(w, r, http.StatusConflict, "campaign", view{Title: "Campaign", Nav: "campaigns", Admin: &s.user, CSRF: s.csrf,
			Error: tideline.ErrorMessage(err), Data: campaignData{C: v, Progress: progressOf(v)}})
		return
	}
	http.Redirect(w, r, Prefix+"/campaigns/"+id+"?done=cancelled", http.StatusSeeOther)
}
