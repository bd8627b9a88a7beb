package sync

import (
	"context"
	"fmt"
	"regexp"
	"slices"
)

// Caller is who pushes or pulls: a user and their roles (from their access token's
// session). Their groups come from the store.
type Caller struct {
	UserID string
	Roles  []string
	// Client is what the request's Tideline-Client header says (health.go): recorded for
	// the admin, never used to decide anything.
	Client ClientInfo
}

// ACLField is the reserved field through which the owner of a document in an owner-shared
// collection shares it: {"read": [principals], "write": [principals]}.
const ACLField = "_acl"

// principalForm is the form of an ACL principal.
var principalForm = regexp.MustCompile(`^(user|group|role):[A-Za-z0-9_-]{1,64}$`)

// maxACLEntries bounds each of an ACL's lists.
const maxACLEntries = 100

// ACL is a document's sharing: who besides its owner may read it, and write it. Writers
// may also read.
type ACL struct {
	Read, Write []string
}

// aclOf reads the ACL from a document's visible fields (none: empty).
func aclOf(fields map[string]any) ACL {
	m, _ := fields[ACLField].(map[string]any)
	var a ACL
	for _, p := range asStrings(m["read"]) {
		a.Read = append(a.Read, p)
	}
	for _, p := range asStrings(m["write"]) {
		a.Write = append(a.Write, p)
	}
	return a
}

func asStrings(v any) []string {
	list, _ := v.([]any)
	var out []string
	for _, e := range list {
		if s, ok := e.(string); ok {
			out = append(out, s)
		}
	}
	return out
}

// checkACL checks a value assigned to _acl (nil removes the sharing).
func checkACL(v any) error {
	if v == nil {
		return nil
	}
	m, ok := v.(map[string]any)
	if !ok {
		return fmt.Errorf(`_acl must be an object {"read": [...], "write": [...]}`)
	}
	for k, list := range m {
		if k != "read" && k != "write" {
			return fmt.Errorf("_acl has only read and write, not %q", k)
		}
		arr, ok := list.([]any)
		if !ok || len(arr) > maxACLEntries {
			return fmt.Errorf("_acl.%s must be a list of at most %d principals", k, maxACLEntries)
		}
		for _, p := range arr {
			s, ok := p.(string)
			if !ok || !principalForm.MatchString(s) {
				return fmt.Errorf("_acl.%s: %v is not a principal such as user:<id>, group:<id> or role:<name>", k, p)
			}
		}
	}
	return nil
}

// principals are the caller's identities an ACL can name: their user, groups and roles.
type principals struct {
	caller  Caller
	groups  []string // "group:<id>"
	fetched bool
}

// list returns the caller's principals, reading their groups once.
func (s *Service) principals(ctx context.Context, p *principals) ([]string, error) {
	if !p.fetched {
		ms, err := s.store.ListGroups(ctx, p.caller.UserID)
		if err != nil {
			return nil, err
		}
		for _, m := range ms {
			p.groups = append(p.groups, GroupBucket(m.Group.ID))
		}
		p.fetched = true
	}
	out := []string{UserBucket(p.caller.UserID)}
	for _, r := range p.caller.Roles {
		out = append(out, RoleBucket(r))
	}
	return append(out, p.groups...), nil
}

// bucketsOf returns every bucket the caller reads.
func (s *Service) bucketsOf(ctx context.Context, c Caller) ([]string, error) {
	ps, err := s.principals(ctx, &principals{caller: c})
	if err != nil {
		return nil, err
	}
	return append(ps, BucketAuthenticated, BucketPublic), nil
}

// GroupBucket is the bucket of a group's members.
func GroupBucket(id string) string { return "group:" + id }

// RoleBucket is the bucket of a role's holders.
func RoleBucket(name string) string { return "role:" + name }

func intersects(a, b []string) bool {
	return slices.ContainsFunc(a, func(x string) bool { return slices.Contains(b, x) })
}
