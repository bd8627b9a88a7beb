package httpapi_test

import (
	"testing"

	"github.com/tideline-dev/tideline"
)

// TestGroupsRevealNothingToStrangers: to a user who is not a member, every call on a group
// answers exactly as for a group that does not exist, whatever the user named in the path
// (the owner, the stranger, an unknown user) and whether the group exists (finding 12 of
// issue 15: 409 "owner cannot leave" told strangers the group and its owner, and adding
// an unknown user said so before the group was checked).
func TestGroupsRevealNothingToStrangers(t *testing.T) {
	a := newAPI(t, nil)
	ada, eve := a.signUp("ada@example.com"), a.signUp("eve@example.com")
	g := decode[groupBody](t, a.call("POST", "/v1/groups", ada.AccessToken, map[string]string{"name": "Family"}), 201)
	missing := tideline.NewID()
	answer := func(t *testing.T, method, group, user string) string {
		t.Helper()
		p := checkProblem(t, a.call(method, "/v1/groups/"+group+"/members/"+user, eve.AccessToken, nil), 404, tideline.CodeNotFound)
		return p.Detail
	}
	want := answer(t, "DELETE", missing, ada.User.ID)
	for _, tt := range []struct{ name, method, user string }{
		{"RemoveTheOwner", "DELETE", ada.User.ID},
		{"LeaveAsAStranger", "DELETE", eve.User.ID},
		{"RemoveAnUnknownUser", "DELETE", tideline.NewID()},
		{"AddAnUnknownUser", "POST", tideline.NewID()},
		{"AddTheOwner", "POST", ada.User.ID},
		{"AddThemself", "POST", eve.User.ID},
		{"AddAHostileID", "POST", "$where"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			for _, group := range []string{g.ID, missing} {
				if got := answer(t, tt.method, group, tt.user); got != want {
					t.Fatalf("%s on group %s: %q; a missing group answers %q", tt.method, group, got, want)
				}
			}
		})
	}
	p := checkProblem(t, a.call("GET", "/v1/groups/"+g.ID+"/members", eve.AccessToken, nil), 404, tideline.CodeNotFound)
	if p.Detail != want {
		t.Fatalf("members of the group: %q; a missing group answers %q", p.Detail, want)
	}
	// Unauthenticated: 401 before anything about the group.
	checkProblem(t, a.call("DELETE", "/v1/groups/"+g.ID+"/members/"+ada.User.ID, "", nil), 401, tideline.CodeUnauthenticated)
}
