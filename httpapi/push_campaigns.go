package httpapi

import (
	"context"
	"time"

	"github.com/tideline-dev/tideline/auth"
	"github.com/tideline-dev/tideline/httpapi/oapi"
	"github.com/tideline-dev/tideline/push"
)

// The push campaign routes (/v1/admin/push/campaigns): an admin's notifications to users,
// devices, topics or segments, sent by push's durable workers.

func (s *Server) AdminCreateCampaign(ctx context.Context, r oapi.AdminCreateCampaignRequestObject) (oapi.AdminCreateCampaignResponseObject, error) {
	b := r.Body
	c := push.NewCampaign{DryRun: deref(b.DryRun), IdempotencyKey: deref(b.IdempotencyKey), CreatedBy: principal(ctx).UserID}
	c.Spec = specIn(b.Target, b.Notification, b.Data, b.Options, b.SendAt, b.LocalTime)
	v, _, err := s.cfg.Push.CreateCampaign(ctx, c)
	if err != nil {
		return nil, err
	}
	return oapi.AdminCreateCampaign202JSONResponse(campaignOut(v)), nil
}

func (s *Server) AdminListCampaigns(ctx context.Context, r oapi.AdminListCampaignsRequestObject) (oapi.AdminListCampaignsResponseObject, error) {
	limit := auth.PageSize(deref(r.Params.Limit))
	vs, err := s.cfg.Push.ListCampaigns(ctx, deref(r.Params.Before), limit)
	if err != nil {
		return nil, err
	}
	out := oapi.CampaignPage{Campaigns: []oapi.Campaign{}}
	for _, v := range vs {
		out.Campaigns = append(out.Campaigns, campaignOut(v))
	}
	if n := len(vs); n > 0 && n == limit {
		out.Next = &vs[n-1].ID
	}
	return oapi.AdminListCampaigns200JSONResponse(out), nil
}

func (s *Server) AdminGetCampaign(ctx context.Context, r oapi.AdminGetCampaignRequestObject) (oapi.AdminGetCampaignResponseObject, error) {
	v, err := s.cfg.Push.GetCampaign(ctx, r.CampaignId)
	if err != nil {
		return nil, err
	}
	return oapi.AdminGetCampaign200JSONResponse(campaignOut(v)), nil
}

func (s *Server) AdminCancelCampaign(ctx context.Context, r oapi.AdminCancelCampaignRequestObject) (oapi.AdminCancelCampaignResponseObject, error) {
	v, err := s.cfg.Push.CancelCampaign(ctx, r.CampaignId)
	if err != nil {
		return nil, err
	}
	return oapi.AdminCancelCampaign200JSONResponse(campaignOut(v)), nil
}

// specIn is the campaign spec of a request.
func specIn(t oapi.CampaignTarget, n *oapi.CampaignNotification, data *map[string]string, o *oapi.CampaignOptions, sendAt *time.Time, localTime *bool) push.Spec {
	sp := push.Spec{
		Target: push.Target{All: deref(t.All), UserIDs: deref(t.UserIds), DeviceIDs: deref(t.DeviceIds), Topic: deref(t.Topic)},
		Data:   deref(data), LocalTime: deref(localTime),
	}
	if sendAt != nil {
		sp.SendAt = *sendAt
	}
	if g := t.Segment; g != nil {
		sp.Target.Segment = &push.Segment{MinAppVersion: deref(g.MinAppVersion), MaxAppVersion: deref(g.MaxAppVersion),
			Locales: deref(g.Locales), SeenWithin: time.Duration(deref(g.LastSeenWithinSeconds)) * time.Second}
		for _, p := range deref(g.Platforms) {
			sp.Target.Segment.Platforms = append(sp.Target.Segment.Platforms, string(p))
		}
	}
	if n != nil {
		sp.Notification = push.Notification{Title: deref(n.Title), Body: deref(n.Body), ImageURL: deref(n.ImageUrl)}
	}
	if o != nil {
		sp.Options = push.Options{Priority: string(deref(o.Priority)), TTL: time.Duration(deref(o.TtlSeconds)) * time.Second,
			CollapseKey: deref(o.CollapseKey), Badge: o.Badge, Sound: deref(o.Sound), Silent: deref(o.Silent)}
	}
	return sp
}

func campaignOut(v push.CampaignView) oapi.Campaign {
	sp := v.Spec
	out := oapi.Campaign{
		Id: v.ID, Status: oapi.CampaignStatus(v.Status), DryRun: v.DryRun, LocalTime: sp.LocalTime,
		CreatedAt: v.CreatedAt.UTC(), CreatedBy: optional(v.CreatedBy), IdempotencyKey: optional(v.IdempotencyKey),
		StartedAt: optionalTime(v.StartedAt), FinishedAt: optionalTime(v.FinishedAt), SendAt: optionalTime(sp.SendAt),
		Target: oapi.CampaignTarget{Topic: optional(sp.Target.Topic)},
		Counts: oapi.CampaignCounts{Targeted: int64(v.Targeted), Pending: int64(v.Counts.Pending), Sent: int64(v.Counts.Sent),
			Failed: int64(v.Counts.Failed), Pruned: int64(v.Counts.Pruned), Cancelled: int64(v.Counts.Cancelled)},
		Errors: []oapi.CampaignError{},
	}
	if sp.Target.All {
		out.Target.All = &sp.Target.All
	}
	if len(sp.Target.UserIDs) > 0 {
		out.Target.UserIds = &sp.Target.UserIDs
	}
	if len(sp.Target.DeviceIDs) > 0 {
		out.Target.DeviceIds = &sp.Target.DeviceIDs
	}
	if g := sp.Target.Segment; g != nil {
		seg := oapi.CampaignSegment{MinAppVersion: optional(g.MinAppVersion), MaxAppVersion: optional(g.MaxAppVersion)}
		if len(g.Locales) > 0 {
			seg.Locales = &g.Locales
		}
		if len(g.Platforms) > 0 {
			ps := make([]oapi.CampaignSegmentPlatforms, len(g.Platforms))
			for i, p := range g.Platforms {
				ps[i] = oapi.CampaignSegmentPlatforms(p)
			}
			seg.Platforms = &ps
		}
		if g.SeenWithin > 0 {
			secs := int64(g.SeenWithin / time.Second)
			seg.LastSeenWithinSeconds = &secs
		}
		out.Target.Segment = &seg
	}
	if n := sp.Notification; n != (push.Notification{}) {
		out.Notification = &oapi.CampaignNotification{Title: optional(n.Title), Body: optional(n.Body), ImageUrl: optional(n.ImageURL)}
	}
	if len(sp.Data) > 0 {
		out.Data = &sp.Data
	}
	if o := sp.Options; o != (push.Options{}) {
		oo := &oapi.CampaignOptions{CollapseKey: optional(o.CollapseKey), Badge: o.Badge, Sound: optional(o.Sound)}
		if o.Priority != "" {
			p := oapi.CampaignOptionsPriority(o.Priority)
			oo.Priority = &p
		}
		if o.TTL > 0 {
			secs := int64(o.TTL / time.Second)
			oo.TtlSeconds = &secs
		}
		if o.Silent {
			oo.Silent = &o.Silent
		}
		out.Options = oo
	}
	for _, e := range v.Errors {
		out.Errors = append(out.Errors, oapi.CampaignError{DeviceId: e.DeviceID, UserId: e.UserID, Error: e.Error, At: e.FinishedAt.UTC()})
	}
	return out
}
