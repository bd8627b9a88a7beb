package httpapi

import (
	"time"

	"github.com/tideline-dev/tideline/auth"
	"github.com/tideline-dev/tideline/httpapi/oapi"
)

// Conversions from feature types to wire types. Times go out in UTC.

func userOut(u auth.User) oapi.User {
	out := oapi.User{
		Id: u.ID, EmailVerified: u.EmailVerified, Anonymous: u.Anonymous, Disabled: u.Disabled,
		Roles: u.Roles, DisplayName: u.DisplayName, CreatedAt: u.CreatedAt.UTC(), UpdatedAt: u.UpdatedAt.UTC(),
	}
	if out.Roles == nil {
		out.Roles = []string{}
	}
	if u.Email != "" {
		out.Email = &u.Email
	}
	return out
}

func tokensOut(r auth.Result) oapi.SessionTokensJSONResponse {
	return oapi.SessionTokensJSONResponse{
		User: userOut(r.User), AccessToken: r.Tokens.AccessToken, RefreshToken: r.Tokens.RefreshToken,
		ExpiresIn: int(r.Tokens.ExpiresIn / time.Second), SessionId: r.Tokens.SessionID,
	}
}

func sessionsOut(list []auth.Session, current string) oapi.SessionList {
	out := oapi.SessionList{Sessions: []oapi.Session{}}
	for _, s := range list {
		out.Sessions = append(out.Sessions, oapi.Session{
			Id: s.ID, DeviceName: s.DeviceName, Platform: s.Platform, UserAgent: s.UserAgent, Ip: s.IP,
			CreatedAt: s.CreatedAt.UTC(), LastUsedAt: s.LastUsedAt.UTC(), ExpiresAt: s.ExpiresAt.UTC(), Current: s.ID == current,
		})
	}
	return out
}

func adminKeyOut(k auth.AdminKey) oapi.AdminKey {
	out := oapi.AdminKey{Id: k.ID, Name: k.Name, Prefix: k.Prefix, CreatedBy: k.CreatedBy, CreatedAt: k.CreatedAt.UTC()}
	if !k.LastUsedAt.IsZero() {
		t := k.LastUsedAt.UTC()
		out.LastUsedAt = &t
	}
	return out
}

func auditOut(e auth.AuditEvent) oapi.AuditEvent {
	detail := e.Detail
	if detail == nil {
		detail = map[string]string{}
	}
	return oapi.AuditEvent{Id: e.ID, At: e.At.UTC(), Type: e.Type, UserId: e.UserID, SessionId: e.SessionID, Actor: e.Actor, Ip: e.IP, Detail: detail}
}
