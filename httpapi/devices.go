package httpapi

import (
	"context"
	"time"

	"github.com/tideline-dev/tideline/auth"
	"github.com/tideline-dev/tideline/httpapi/oapi"
	"github.com/tideline-dev/tideline/push"
)

func deviceOut(d push.Device, session string) oapi.PushDevice {
	topics := d.Topics
	if topics == nil {
		topics = []string{}
	}
	return oapi.PushDevice{
		Id: d.ID, DeviceId: d.DeviceID, Platform: oapi.PushDevicePlatform(d.Platform), HasPushToken: d.PushToken != "",
		AppVersion: optional(d.AppVersion), Locale: optional(d.Locale), Timezone: optional(d.Timezone), Topics: topics,
		CreatedAt: d.CreatedAt.UTC(), LastSeen: d.LastSeen.UTC(), Current: session != "" && d.SessionID == session,
	}
}

func (s *Server) RegisterDevice(ctx context.Context, r oapi.RegisterDeviceRequestObject) (oapi.RegisterDeviceResponseObject, error) {
	ctx = detach(ctx)
	p, b := principal(ctx), r.Body
	d, err := s.cfg.Push.RegisterDevice(ctx, p.UserID, p.SessionID, push.Registration{
		DeviceID: b.DeviceId, Platform: string(b.Platform), PushToken: deref(b.PushToken),
		AppVersion: deref(b.AppVersion), Locale: deref(b.Locale), Timezone: deref(b.Timezone),
	})
	if err != nil {
		return nil, err
	}
	return oapi.RegisterDevice200JSONResponse(deviceOut(d, p.SessionID)), nil
}

func (s *Server) ListDevices(ctx context.Context, _ oapi.ListDevicesRequestObject) (oapi.ListDevicesResponseObject, error) {
	ctx = detach(ctx)
	p := principal(ctx)
	ds, err := s.cfg.Push.ListDevices(ctx, p.UserID)
	if err != nil {
		return nil, err
	}
	out := oapi.PushDeviceList{Devices: []oapi.PushDevice{}}
	for _, d := range ds {
		out.Devices = append(out.Devices, deviceOut(d, p.SessionID))
	}
	return oapi.ListDevices200JSONResponse(out), nil
}

func (s *Server) DeleteDevice(ctx context.Context, r oapi.DeleteDeviceRequestObject) (oapi.DeleteDeviceResponseObject, error) {
	ctx = detach(ctx)
	if err := s.cfg.Push.DeleteDevice(ctx, principal(ctx).UserID, r.DeviceId); err != nil {
		return nil, err
	}
	return oapi.DeleteDevice204Response{}, nil
}

func (s *Server) SubscribeTopic(ctx context.Context, r oapi.SubscribeTopicRequestObject) (oapi.SubscribeTopicResponseObject, error) {
	ctx = detach(ctx)
	if err := s.cfg.Push.SetTopic(ctx, principal(ctx).UserID, r.DeviceId, r.Topic, true); err != nil {
		return nil, err
	}
	return oapi.SubscribeTopic204Response{}, nil
}

func (s *Server) UnsubscribeTopic(ctx context.Context, r oapi.UnsubscribeTopicRequestObject) (oapi.UnsubscribeTopicResponseObject, error) {
	ctx = detach(ctx)
	if err := s.cfg.Push.SetTopic(ctx, principal(ctx).UserID, r.DeviceId, r.Topic, false); err != nil {
		return nil, err
	}
	return oapi.UnsubscribeTopic204Response{}, nil
}

func (s *Server) AdminListTopics(ctx context.Context, _ oapi.AdminListTopicsRequestObject) (oapi.AdminListTopicsResponseObject, error) {
	ctx = detach(ctx)
	ts, err := s.cfg.Push.ListTopics(ctx)
	if err != nil {
		return nil, err
	}
	out := oapi.TopicList{Topics: []oapi.TopicCount{}}
	for _, t := range ts {
		out.Topics = append(out.Topics, oapi.TopicCount{Topic: t.Topic, Devices: int64(t.Devices)})
	}
	return oapi.AdminListTopics200JSONResponse(out), nil
}

func (s *Server) AdminCreateCampaign(ctx context.Context, r oapi.AdminCreateCampaignRequestObject) (oapi.AdminCreateCampaignResponseObject, error) {
	ctx = detach(ctx)
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
	ctx = detach(ctx)
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
	ctx = detach(ctx)
	v, err := s.cfg.Push.GetCampaign(ctx, r.CampaignId)
	if err != nil {
		return nil, err
	}
	return oapi.AdminGetCampaign200JSONResponse(campaignOut(v)), nil
}

func (s *Server) AdminCancelCampaign(ctx context.Context, r oapi.AdminCancelCampaignRequestObject) (oapi.AdminCancelCampaignResponseObject, error) {
	ctx = detach(ctx)
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
