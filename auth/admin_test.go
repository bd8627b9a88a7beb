package auth_test

import (
	"slices"
	"strings"
	"testing"

	"github.com/tideline-dev/tideline"
	"github.com/tideline-dev/tideline/auth"
)

func TestAdmin(t *testing.T) {
	t.Parallel()
	eachEngine(t, testAdmin)
}

func testAdmin(t *testing.T, engine string) {
	e := newEnv(t, engine, nil)
	admin, created, err := e.svc.CreateAdmin(t.Context(), "root@example.com", goodPassword, "cli", true)
	if err != nil || !created || !admin.HasRole(auth.RoleAdmin) || !admin.EmailVerified {
		t.Fatalf("CreateAdmin: %+v %v %v", admin, created, err)
	}
	login, err := e.svc.Login(t.Context(), "root@example.com", goodPassword, client)
	if err != nil {
		t.Fatal(err)
	}
	pa := e.principal(login.Tokens.AccessToken)
	if !pa.Admin() {
		t.Fatal("admin principal is not admin")
	}
	ada := e.signUp("ada@example.com")
	e.signUp("bob@example.com")

	t.Run("ListAndSearch", func(t *testing.T) {
		all, _ := e.svc.ListUsers(t.Context(), auth.UserQuery{})
		page, _ := e.svc.ListUsers(t.Context(), auth.UserQuery{Limit: 1, After: all[0].ID})
		found, _ := e.svc.ListUsers(t.Context(), auth.UserQuery{EmailContains: "ADA@"})
		if len(all) != 3 || len(page) != 1 || page[0].ID != all[1].ID || len(found) != 1 || found[0].ID != ada.User.ID {
			t.Fatalf("all %d, page %v, found %v", len(all), page, found)
		}
		_, err := e.svc.GetUser(t.Context(), "$where")
		wantCode(t, err, tideline.CodeNotFound)
	})

	t.Run("RolesApplyWithoutNewToken", func(t *testing.T) {
		roles := []string{"editor", "admin", "editor"}
		u, err := e.svc.UpdateUser(t.Context(), pa, ada.User.ID, auth.AdminUserUpdate{Roles: &roles}, client)
		if err != nil || !slices.Equal(u.Roles, []string{"admin", "editor"}) {
			t.Fatalf("roles %v %v", u.Roles, err)
		}
		if p := e.principal(ada.Tokens.AccessToken); !p.Admin() {
			t.Fatal("the new role does not apply to the existing token on this node")
		}
		none := []string{}
		if _, err := e.svc.UpdateUser(t.Context(), pa, ada.User.ID, auth.AdminUserUpdate{Roles: &none}, client); err != nil {
			t.Fatal(err)
		}
		if p := e.principal(ada.Tokens.AccessToken); p.Admin() {
			t.Fatal("a removed admin role still applies")
		}
		bad := []string{"Admin!"}
		_, err = e.svc.UpdateUser(t.Context(), pa, ada.User.ID, auth.AdminUserUpdate{Roles: &bad}, client)
		wantCode(t, err, tideline.CodeInvalid)
	})

	t.Run("DisableRevokesSessions", func(t *testing.T) {
		yes := true
		if _, err := e.svc.UpdateUser(t.Context(), pa, ada.User.ID, auth.AdminUserUpdate{Disabled: &yes}, client); err != nil {
			t.Fatal(err)
		}
		_, err := e.svc.Authenticate(t.Context(), ada.Tokens.AccessToken)
		wantCode(t, err, tideline.CodeUnauthenticated)
		_, err = e.svc.Refresh(t.Context(), ada.Tokens.RefreshToken, client)
		wantCode(t, err, tideline.CodeUnauthenticated)
		no := false
		if _, err := e.svc.UpdateUser(t.Context(), pa, ada.User.ID, auth.AdminUserUpdate{Disabled: &no}, client); err != nil {
			t.Fatal(err)
		}
		if _, err := e.svc.Login(t.Context(), "ada@example.com", goodPassword, client); err != nil {
			t.Fatalf("re-enabled user cannot sign in: %v", err)
		}
	})

	t.Run("RevokeUserSession", func(t *testing.T) {
		in, err := e.svc.Login(t.Context(), "bob@example.com", goodPassword, client)
		if err != nil {
			t.Fatal(err)
		}
		bob, sid := in.User.ID, in.Tokens.SessionID
		wantCode(t, e.svc.RevokeUserSession(t.Context(), pa, ada.User.ID, sid, client), tideline.CodeNotFound) // not Ada's
		wantCode(t, e.svc.RevokeUserSession(t.Context(), pa, bob, tideline.NewID(), client), tideline.CodeNotFound)
		if _, err := e.svc.Authenticate(t.Context(), in.Tokens.AccessToken); err != nil {
			t.Fatalf("a refused revocation ended the session: %v", err)
		}
		if err := e.svc.RevokeUserSession(t.Context(), pa, bob, sid, client); err != nil {
			t.Fatal(err)
		}
		_, err = e.svc.Authenticate(t.Context(), in.Tokens.AccessToken)
		wantCode(t, err, tideline.CodeUnauthenticated)
		_, err = e.svc.Refresh(t.Context(), in.Tokens.RefreshToken, client)
		wantCode(t, err, tideline.CodeUnauthenticated)
		events, _ := e.svc.ListAudit(t.Context(), auth.AuditQuery{UserID: bob, Type: "session_revoked"})
		if len(events) != 1 || events[0].Actor != pa.Actor() || events[0].SessionID != sid {
			t.Fatalf("audit %+v", events)
		}
	})

	t.Run("CountUsers", func(t *testing.T) {
		c, err := e.svc.CountUsers(t.Context())
		if err != nil || c != (auth.UserCounts{Total: 3}) {
			t.Fatalf("CountUsers = %+v, %v", c, err)
		}
	})

	t.Run("ErrSelfLockout", func(t *testing.T) {
		yes := true
		_, err := e.svc.UpdateUser(t.Context(), pa, admin.ID, auth.AdminUserUpdate{Disabled: &yes}, client)
		wantCode(t, err, tideline.CodeForbidden)
		none := []string{}
		_, err = e.svc.UpdateUser(t.Context(), pa, admin.ID, auth.AdminUserUpdate{Roles: &none}, client)
		wantCode(t, err, tideline.CodeForbidden)
		wantCode(t, e.svc.DeleteUser(t.Context(), pa, admin.ID, client), tideline.CodeForbidden)
	})

	t.Run("AdminKeys", func(t *testing.T) {
		k, raw, err := e.svc.CreateAdminKey(t.Context(), pa, "CI deploys", client)
		if err != nil {
			t.Fatal(err)
		}
		if !strings.HasPrefix(raw, "tladm_") || !strings.HasPrefix(raw, k.Prefix) || k.Hash == "" || strings.Contains(k.Hash, raw) {
			t.Fatalf("key %+v raw %q", k, raw)
		}
		p := e.principal(raw)
		if !p.Admin() || p.AdminKeyID != k.ID || p.UserID != "" {
			t.Fatalf("principal of a key %+v", p)
		}
		_, err = e.svc.Me(t.Context(), p)
		wantCode(t, err, tideline.CodeForbidden)
		_, _, err = e.svc.CreateAdminKey(t.Context(), pa, "", client)
		wantCode(t, err, tideline.CodeInvalid)
		if err := e.svc.DeleteAdminKey(t.Context(), pa, k.ID, client); err != nil {
			t.Fatal(err)
		}
		_, err = e.svc.Authenticate(t.Context(), raw)
		wantCode(t, err, tideline.CodeUnauthenticated)
		wantCode(t, e.svc.DeleteAdminKey(t.Context(), pa, k.ID, client), tideline.CodeNotFound)
		_, err = e.svc.Authenticate(t.Context(), "tladm_"+strings.Repeat("A", 43))
		wantCode(t, err, tideline.CodeUnauthenticated)
	})

	t.Run("DeleteUser", func(t *testing.T) {
		bob, _ := e.store.FindUserByEmail(t.Context(), "bob@example.com")
		if err := e.svc.DeleteUser(t.Context(), pa, bob.ID, client); err != nil {
			t.Fatal(err)
		}
		_, err := e.svc.GetUser(t.Context(), bob.ID)
		wantCode(t, err, tideline.CodeNotFound)
		events, _ := e.svc.ListAudit(t.Context(), auth.AuditQuery{UserID: bob.ID, Type: "user_deleted"})
		if len(events) != 1 || events[0].Actor != pa.Actor() {
			t.Fatalf("audit %+v", events)
		}
	})

	t.Run("CreateAdminGrantsExisting", func(t *testing.T) {
		u, created, err := e.svc.CreateAdmin(t.Context(), "ada@example.com", "", "cli", false)
		if err != nil || created || u.HasRole(auth.RoleAdmin) {
			t.Fatalf("without grantExisting: %+v %v %v", u, created, err)
		}
		u, created, err = e.svc.CreateAdmin(t.Context(), "ada@example.com", "", "cli", true)
		if err != nil || created || !u.HasRole(auth.RoleAdmin) {
			t.Fatalf("%+v %v %v", u, created, err)
		}
		if _, err := e.svc.Login(t.Context(), "ada@example.com", goodPassword, client); err != nil {
			t.Fatalf("the password changed: %v", err)
		}
	})
}
