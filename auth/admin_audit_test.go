package auth_test

import (
	"strings"
	"testing"

	"github.com/tideline-dev/tideline"
	"github.com/tideline-dev/tideline/auth"
	"github.com/tideline-dev/tideline/store/enginetest"
)

func TestAuditAdminAction(t *testing.T) {
	t.Parallel()
	e := newEnv(t, enginetest.SQLite, nil)
	if _, _, err := e.svc.CreateAdmin(t.Context(), "root@example.com", goodPassword, "cli", false); err != nil {
		t.Fatal(err)
	}
	login, err := e.svc.Login(t.Context(), "root@example.com", goodPassword, client)
	if err != nil {
		t.Fatal(err)
	}
	admin := e.principal(login.Tokens.AccessToken)
	ada := e.signUp("ada@example.com")

	detail := map[string]string{"collection": "notes", "doc_id": strings.Repeat("x", 300)}
	if err := e.svc.AuditAdminAction(t.Context(), admin, "sync.document_deleted", ada.User.ID, client, detail); err != nil {
		t.Fatal(err)
	}
	events, err := e.svc.ListAudit(t.Context(), auth.AuditQuery{Type: "sync.document_deleted"})
	if err != nil || len(events) != 1 {
		t.Fatalf("events %+v %v", events, err)
	}
	if ev := events[0]; ev.UserID != ada.User.ID || ev.Actor != "user:"+admin.UserID || ev.IP != client.IP ||
		ev.Detail["collection"] != "notes" || len(ev.Detail["doc_id"]) != 200 {
		t.Fatalf("event %+v", ev)
	}

	t.Run("ErrNotAdmin", func(t *testing.T) {
		err := e.svc.AuditAdminAction(t.Context(), e.principal(ada.Tokens.AccessToken), "sync.document_deleted", ada.User.ID, client, nil)
		wantCode(t, err, tideline.CodeForbidden)
	})
	t.Run("ErrAuthsOwnEvent", func(t *testing.T) {
		for _, typ := range []string{"login", "user_deleted", "sync.", ".x", "Sync.x", "sync.document-deleted", "a.b.c"} {
			wantCode(t, e.svc.AuditAdminAction(t.Context(), admin, typ, "", client, nil), tideline.CodeInvalid)
		}
	})
	t.Run("ErrTooManyDetails", func(t *testing.T) {
		many := map[string]string{}
		for _, k := range strings.Split("abcdefghijk", "") {
			many[k] = k
		}
		wantCode(t, e.svc.AuditAdminAction(t.Context(), admin, "sync.x", "", client, many), tideline.CodeInvalid)
	})
	if n := len(e.auditTypes(ada.User.ID)); n != 2 { // signup, and the one event above
		t.Fatalf("refused actions were recorded: %v", e.auditTypes(ada.User.ID))
	}
}

func TestGetUserByEmail(t *testing.T) {
	t.Parallel()
	e := newEnv(t, enginetest.SQLite, nil)
	ada := e.signUp("ada@example.com")
	e.signUp("aada@example.com")
	if u, err := e.svc.GetUserByEmail(t.Context(), "  ADA@example.com "); err != nil || u.ID != ada.User.ID {
		t.Fatalf("GetUserByEmail = %+v, %v", u, err)
	}
	for _, email := range []string{"da@example.com", "nobody@example.com", "not an email", "", "<script>@x"} {
		_, err := e.svc.GetUserByEmail(t.Context(), email)
		wantCode(t, err, tideline.CodeNotFound)
	}
}
