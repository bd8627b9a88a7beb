package httpapi

import (
	"context"

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
	if err := s.cfg.Push.DeleteDevice(ctx, principal(ctx).UserID, r.DeviceId); err != nil {
		return nil, err
	}
	return oapi.DeleteDevice204Response{}, nil
}

func (s *Server) SubscribeTopic(ctx context.Context, r oapi.SubscribeTopicRequestObject) (oapi.SubscribeTopicResponseObject, error) {
	if err := s.cfg.Push.SetTopic(ctx, principal(ctx).UserID, r.DeviceId, r.Topic, true); err != nil {
		return nil, err
	}
	return oapi.SubscribeTopic204Response{}, nil
}

func (s *Server) UnsubscribeTopic(ctx context.Context, r oapi.UnsubscribeTopicRequestObject) (oapi.UnsubscribeTopicResponseObject, error) {
	if err := s.cfg.Push.SetTopic(ctx, principal(ctx).UserID, r.DeviceId, r.Topic, false); err != nil {
		return nil, err
	}
	return oapi.UnsubscribeTopic204Response{}, nil
}

func (s *Server) AdminListTopics(ctx context.Context, _ oapi.AdminListTopicsRequestObject) (oapi.AdminListTopicsResponseObject, error) {
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
