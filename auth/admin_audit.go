package auth

import (
	"context"
	"regexp"

	"github.com/tideline-dev/tideline"
)

// adminEventType is the form of an event another feature records: "<feature>.<event>",
// such as "sync.document_deleted". The dot keeps them apart from auth's own events, which
// only auth records.
var adminEventType = regexp.MustCompile(`^[a-z]{1,20}\.[a-z_]{1,40}$`)

// AuditAdminAction records in the audit log what an admin did through another feature
// (the console deleting a document): the event type, named "<feature>.<event>", the user
// it is about ("" for none), the admin as actor and where the request came from, and up
// to 10 details (each value clipped to 200 bytes). It fails with forbidden when actor is
// not an admin, and with invalid for a type not of that form or too many details; a
// failure to store the event is logged and fails nothing, as for every audit event.
func (s *Service) AuditAdminAction(ctx context.Context, actor Principal, typ, userID string, c Client, detail map[string]string) error {
	if !actor.Admin() {
		return tideline.Errorf(tideline.CodeForbidden, "Only an admin's actions are audited as such.")
	}
	if !adminEventType.MatchString(typ) {
		return tideline.Errorf(tideline.CodeInvalid, "An audit event of another feature is named <feature>.<event>, not %q.", typ)
	}
	if len(detail) > 10 {
		return tideline.Errorf(tideline.CodeInvalid, "An audit event has at most 10 details.")
	}
	clipped := make(map[string]string, len(detail))
	for k, v := range detail {
		clipped[clip(k, 40)] = clip(v, 200)
	}
	s.audit(ctx, typ, userID, "", actor.Actor(), c, clipped)
	return nil
}

// GetUserByEmail returns the user with this email, compared as sign-in compares it
// (admin). Not found when nobody has it, or it is not an email.
func (s *Service) GetUserByEmail(ctx context.Context, email string) (User, error) {
	email, err := NormalizeEmail(email)
	if err != nil {
		return User{}, tideline.Errorf(tideline.CodeNotFound, "No user has this email.")
	}
	u, err := s.store.FindUserByEmail(ctx, email)
	if tideline.ErrorCode(err) == tideline.CodeNotFound {
		return u, tideline.Errorf(tideline.CodeNotFound, "No user has this email.")
	}
	return u, err
}
