package console

import (
	"context"
	"fmt"
	"net/http"
	"time"

	"github.com/tideline-dev/tideline/auth"
	"github.com/tideline-dev/tideline/push"
	datasync "github.com/tideline-dev/tideline/sync"
)

const (
	// chartDays is how many days the deliveries chart shows, today included.
	chartDays = 14
	// maxOverviewCampaigns bounds the campaigns the overview reads for its chart.
	maxOverviewCampaigns = 500
)

type overviewData struct {
	Users     auth.UserCounts
	Platforms []push.PlatformCount
	// Devices and WithToken total Platforms.
	Devices, WithToken int
	// Week is how many campaigns were created in the last 7 days.
	Week   int
	Recent []push.CampaignView
	Chart  chart
	Sync   *syncStatus
	// Quiet are the clients that have not synced for QuietAfter, and this node's streams.
	Quiet *quietClients
}

// syncStatus is what the overview shows of sync.
type syncStatus struct {
	Collections []datasync.Collection
	Watermark   int64 // the last watermark this node has seen
	Streams     int64 // realtime streams open on this node
	Pokes       int64 // pokes this node has sent
}

// overview shows the counts of users and devices, the week's campaigns and a chart of
// deliveries per day. The chart adds up each campaign's outcomes on the day it started
// (UTC), read from the campaigns of the last 14 days (at most maxOverviewCampaigns): a
// campaign sent over several days, in local time, counts on its first.
func (c *Console) overview(w http.ResponseWriter, r *http.Request, s *session) {
	ctx := r.Context()
	var d overviewData
	var err error
	if d.Users, err = c.cfg.Auth.CountUsers(ctx); err != nil {
		c.renderError(w, r, s, err)
		return
	}
	if d.Platforms, err = c.cfg.Push.CountDevices(ctx); err != nil {
		c.renderError(w, r, s, err)
		return
	}
	for _, p := range d.Platforms {
		d.Devices += p.Devices
		d.WithToken += p.WithToken
	}
	now := c.clock.Now().UTC()
	first := time.Date(now.Year(), now.Month(), now.Day(), 0, 0, 0, 0, time.UTC).AddDate(0, 0, 1-chartDays)
	recent, partial, err := c.campaignsSince(ctx, first)
	if err != nil {
		c.renderError(w, r, s, err)
		return
	}
	days := make([]chartDay, chartDays)
	for i := range days {
		day := first.AddDate(0, 0, i)
		days[i] = chartDay{Date: day.Format("2006-01-02"), Label: day.Format("Jan 2")}
	}
	for _, v := range recent {
		if !v.CreatedAt.Before(now.Add(-7 * 24 * time.Hour)) {
			d.Week++
		}
		if v.DryRun || v.StartedAt.Before(first) {
			continue
		}
		i := int(v.StartedAt.UTC().Sub(first) / (24 * time.Hour))
		if i < chartDays {
			days[i].Sent += v.Counts.Sent
			days[i].Failed += v.Counts.Failed + v.Counts.Pruned
		}
	}
	if c.cfg.Sync != nil && c.cfg.Hub != nil {
		cols, err := c.cfg.Sync.ListCollections(ctx)
		if err != nil {
			c.renderError(w, r, s, err)
			return
		}
		d.Sync = &syncStatus{Collections: cols, Watermark: c.cfg.Hub.Watermark(), Streams: c.cfg.Hub.Streams(), Pokes: c.cfg.Hub.Pokes()}
	}
	if d.Quiet, err = c.quiet(r); err != nil {
		c.renderError(w, r, s, err)
		return
	}
	d.Recent = recent[:min(len(recent), 5)]
	d.Chart = newChart(days, partial)
	c.render(w, r, http.StatusOK, "overview", view{Title: "Overview", Nav: "overview", Admin: &s.user, CSRF: s.csrf, Data: d})
}

// campaignsSince returns the campaigns created at or after since, newest first, and
// whether it stopped at maxOverviewCampaigns before reaching since.
func (c *Console) campaignsSince(ctx context.Context, since time.Time) ([]push.CampaignView, bool, error) {
	var out []push.CampaignView
	before := ""
	for len(out) < maxOverviewCampaigns {
		page, err := c.cfg.Push.ListCampaigns(ctx, before, 100)
		if err != nil {
			return nil, false, err
		}
		for _, v := range page {
			if v.CreatedAt.Before(since) {
				return out, false, nil
			}
			out = append(out, v)
		}
		if len(page) < 100 {
			return out, false, nil
		}
		before = page[len(page)-1].ID
	}
	return out, true, nil
}

// chart is the deliveries-per-day bar chart, drawn by the template as SVG in a viewBox of
// chartWidth x chartHeight: bars of sent messages with the failed ones stacked on top.
type chart struct {
	Days []chartDay
	// Max is the value of the top of the scale.
	Max int
	// Total is the sum of every bar; Partial says older campaigns were left out.
	Total   int
	Partial bool
	// Width and Height are the viewBox; Base is the y of the axis.
	Width, Height, Base int
}

type chartDay struct {
	Date, Label  string
	Sent, Failed int
	// Geometry of the bars, in viewBox units.
	X, W, SentY, SentH, FailY, FailH int
	// ShowLabel says whether the day's label is drawn (every other day, to fit).
	ShowLabel bool
}

const (
	chartWidth  = 700
	chartHeight = 240
	chartTop    = 20 // room for the scale's label
	chartBottom = 30 // room for the day labels
	chartLeft   = 50
)

func newChart(days []chartDay, partial bool) chart {
	ch := chart{Days: days, Partial: partial, Width: chartWidth, Height: chartHeight, Base: chartHeight - chartBottom}
	top := 0
	for _, d := range days {
		top = max(top, d.Sent+d.Failed)
		ch.Total += d.Sent + d.Failed
	}
	ch.Max = niceCeil(top)
	span := float64(ch.Base - chartTop)
	slot := (chartWidth - chartLeft) / len(days)
	for i := range ch.Days {
		d := &ch.Days[i]
		d.X, d.W = chartLeft+i*slot+slot/6, slot*2/3
		d.SentH = int(float64(d.Sent) / float64(ch.Max) * span)
		d.FailH = int(float64(d.Failed) / float64(ch.Max) * span)
		if d.Sent > 0 && d.SentH == 0 {
			d.SentH = 1 // a day with deliveries shows a bar
		}
		if d.Failed > 0 && d.FailH == 0 {
			d.FailH = 1
		}
		d.SentY = ch.Base - d.SentH
		d.FailY = d.SentY - d.FailH
		d.ShowLabel = (len(days)-1-i)%2 == 0
	}
	return ch
}

// niceCeil is the smallest of 1, 2, 5, 10, 20, 50, ... at or above n (and at least 10).
func niceCeil(n int) int {
	for scale := 1; ; scale *= 10 {
		for _, m := range []int{1, 2, 5} {
			if v := m * scale; v >= n && v >= 10 {
				return v
			}
		}
	}
}

func (d chartDay) String() string {
	return fmt.Sprintf("%s: %d sent, %d failed", d.Date, d.Sent, d.Failed)
}
