package console

import (
	"cmp"
	"context"
	"encoding/json"
	"maps"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/tideline-dev/tideline"
	"github.com/tideline-dev/tideline/auth"
	datasync "github.com/tideline-dev/tideline/sync"
)

// The data browser: the collections, a collection's documents, one document, and deleting
// it (docs/console.md, "Data"). It reads through the sync service's admin methods; a
// delete is the server's tombstone, which devices pull like any delete, and it is audited.

// documentsPerPage is the length of a page of documents.
const documentsPerPage = 50

// errNoSync answers the data pages of a console built without sync.
var errNoSync = tideline.Errorf(tideline.CodeNotFound, "This server has no sync service, so no data to browse.")

func (c *Console) collections(w http.ResponseWriter, r *http.Request, s *session) {
	if c.cfg.Sync == nil {
		c.renderError(w, r, s, errNoSync)
		return
	}
	cols, err := c.cfg.Sync.BrowseCollections(r.Context())
	if err != nil {
		c.renderError(w, r, s, err)
		return
	}
	c.render(w, r, http.StatusOK, "data", view{Title: "Data", Nav: "data", Admin: &s.user, CSRF: s.csrf, Data: cols})
}

type documentsData struct {
	// The search, as the form sends it back.
	Collection, ID, Owner, State string
	// User is the owner searched for (by Owner's email, or by the user parameter).
	User *auth.User
	// NoOwner says the search names an owner nobody is.
	NoOwner bool
	Docs    []datasync.DocumentSummary
	// Emails are the owners' emails, by user id ("" for an anonymous user).
	Emails map[string]string
	// Next is the URL of the next page ("": this is the last).
	Next string
}

// states are the document states a search may ask for, by their form value.
var states = map[string]datasync.DocState{"": datasync.LiveDocs, "live": datasync.LiveDocs, "deleted": datasync.DeletedDocs, "all": datasync.AllDocs}

// documents lists documents, newest first: of a collection or of every one, searched by
// id prefix and by owner (an email, or the user parameter: a user id, which the user page
// links with), live, deleted or both, in pages before a sequence number.
func (c *Console) documents(w http.ResponseWriter, r *http.Request, s *session) {
	if c.cfg.Sync == nil {
		c.renderError(w, r, s, errNoSync)
		return
	}
	ctx, q := r.Context(), r.URL.Query()
	d := documentsData{Collection: strings.TrimSpace(q.Get("collection")), ID: strings.TrimSpace(q.Get("id")),
		Owner: strings.TrimSpace(q.Get("owner")), State: q.Get("state")}
	state, ok := states[d.State]
	before, err := strconv.ParseInt(cmp.Or(q.Get("before"), "0"), 10, 64)
	if !ok || err != nil || before < 0 {
		c.renderError(w, r, s, tideline.Errorf(tideline.CodeInvalid, "This page of documents does not exist: the state is live, deleted or all, and before a sequence number."))
		return
	}
	title := "Documents"
	if d.Collection != "" {
		title = "Documents of " + d.Collection
	}
	v := view{Title: title, Nav: "data", Admin: &s.user, CSRF: s.csrf, Data: &d}
	query := datasync.DocumentQuery{Collection: d.Collection, IDPrefix: d.ID, State: state, Before: before, Limit: documentsPerPage}
	switch userID := q.Get("user"); {
	case d.Owner != "":
		u, err := c.cfg.Auth.GetUserByEmail(ctx, d.Owner)
		if tideline.ErrorCode(err) == tideline.CodeNotFound {
			d.NoOwner = true
			c.render(w, r, http.StatusOK, "documents", v)
			return
		} else if err != nil {
			c.renderError(w, r, s, err)
			return
		}
		d.User, query.Owner = &u, u.ID
	case userID != "":
		u, err := c.cfg.Auth.GetUser(ctx, userID)
		if err != nil {
			c.renderError(w, r, s, err)
			return
		}
		d.User, query.Owner = &u, u.ID
	}
	docs, next, err := c.cfg.Sync.BrowseDocuments(ctx, query)
	if tideline.ErrorCode(err) == tideline.CodeInvalid {
		v.Error = errorText(w, err)
		c.render(w, r, http.StatusBadRequest, "documents", v)
		return
	} else if err != nil {
		c.renderError(w, r, s, err)
		return
	}
	d.Docs = docs
	if d.Emails, err = c.emailsOf(ctx, docs); err != nil {
		c.renderError(w, r, s, err)
		return
	}
	if next > 0 {
		nq := url.Values{"before": {strconv.FormatInt(next, 10)}}
		for _, k := range []string{"collection", "id", "owner", "user", "state"} {
			if v := q.Get(k); v != "" {
				nq.Set(k, v)
			}
		}
		d.Next = Prefix + "/data/documents?" + nq.Encode()
	}
	c.render(w, r, http.StatusOK, "documents", v)
}

// emailsOf returns the emails of the documents' owners, by user id: "" for an anonymous
// user, and no entry for one that no longer exists.
func (c *Console) emailsOf(ctx context.Context, docs []datasync.DocumentSummary) (map[string]string, error) {
	out := map[string]string{}
	for _, d := range docs {
		if _, seen := out[d.Owner]; seen || d.Owner == "" {
			continue
		}
		u, err := c.cfg.Auth.GetUser(ctx, d.Owner)
		switch tideline.ErrorCode(err) {
		case "":
			out[d.Owner] = u.Email
		case tideline.CodeNotFound:
		default:
			return nil, err
		}
	}
	return out, nil
}

type documentData struct {
	Doc datasync.Document
	// JSON is the document's fields but its ACL, indented; ACL is its ACL field, or "".
	JSON, ACL string
	// Owner is the owner's account (nil when it no longer exists).
	Owner *auth.User
	// Writer is what made the last change: a client id, or "tideline" for the server
	// (an admin's delete, a purge); WrittenAt is its clock's time.
	Writer    string
	WrittenAt time.Time
	// Confirm asks the admin to confirm deleting it.
	Confirm bool
	// Link is the query that names the document (collection, scope, id).
	Link string
	// Files are the files its fields refer to (with Config.Files).
	Files []Attachment
}

// refOf is the document a request names by its collection, scope and id (query or form).
func refOf(r *http.Request) datasync.DocRef {
	return datasync.DocRef{Collection: r.FormValue("collection"), Scope: r.FormValue("scope"), ID: r.FormValue("id")}
}

func docLink(ref datasync.DocRef) string {
	q := url.Values{"collection": {ref.Collection}, "id": {ref.ID}}
	if ref.Scope != "" {
		q.Set("scope", ref.Scope)
	}
	return Prefix + "/data/document?" + q.Encode()
}

func (c *Console) document(w http.ResponseWriter, r *http.Request, s *session) {
	c.showDocument(w, r, s, false)
}

// showDocument shows the document the request names, asking to confirm its deletion when
// confirm is set.
func (c *Console) showDocument(w http.ResponseWriter, r *http.Request, s *session, confirm bool) {
	if c.cfg.Sync == nil {
		c.renderError(w, r, s, errNoSync)
		return
	}
	ctx := r.Context()
	doc, err := c.cfg.Sync.Document(ctx, refOf(r))
	if err != nil {
		c.renderError(w, r, s, err)
		return
	}
	d := documentData{Doc: doc, Confirm: confirm && !doc.Deleted, Link: docLink(doc.Ref)}
	fields := maps.Clone(doc.Fields)
	if acl, ok := fields[datasync.ACLField]; ok {
		delete(fields, datasync.ACLField)
		d.ACL = indentJSON(acl)
	}
	if fields == nil {
		fields = map[string]any{}
	}
	d.JSON = indentJSON(fields)
	if c.cfg.Files != nil && !doc.Deleted {
		if d.Files, err = c.cfg.Files.Attachments(ctx, doc.Fields); err != nil {
			c.renderError(w, r, s, err)
			return
		}
	}
	latest := doc.Meta.Latest()
	d.Writer, d.WrittenAt = latest.Node(), latest.Wall()
	if doc.Owner != "" {
		u, err := c.cfg.Auth.GetUser(ctx, doc.Owner)
		switch tideline.ErrorCode(err) {
		case "":
			d.Owner = &u
		case tideline.CodeNotFound:
		default:
			c.renderError(w, r, s, err)
			return
		}
	}
	title := doc.Ref.Collection + " / " + doc.Ref.ID
	c.render(w, r, http.StatusOK, "document", view{Title: title, Nav: "data", Admin: &s.user, CSRF: s.csrf, Notice: notice(r), Data: d})
}

// indentJSON is v as indented JSON (a document's fields are JSON values), with <, > and
// & as written: the template escapes them, so an admin reads what the app stored.
func indentJSON(v any) string {
	var b strings.Builder
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	if err := enc.Encode(v); err != nil {
		return "(not JSON: " + err.Error() + ")"
	}
	return strings.TrimSuffix(b.String(), "\n")
}

// deleteDocument deletes a document once the admin confirms it (confirmed=yes; without it,
// the document's page asks): a tombstone that devices drop at their next pull, recorded
// in the audit log as sync.document_deleted.
func (c *Console) deleteDocument(w http.ResponseWriter, r *http.Request, s *session) {
	if r.PostFormValue("confirmed") != "yes" {
		c.showDocument(w, r, s, true)
		return
	}
	if c.cfg.Sync == nil {
		c.renderError(w, r, s, errNoSync)
		return
	}
	ctx := r.Context()
	tomb, wrote, err := c.cfg.Sync.DeleteDocument(ctx, refOf(r))
	if err != nil {
		c.renderError(w, r, s, err)
		return
	}
	done := "gone"
	if wrote {
		done = "deleted"
		detail := map[string]string{"collection": tomb.Ref.Collection, "id": tomb.Ref.ID, "version": strconv.FormatInt(tomb.Version-1, 10)}
		if tomb.Ref.Scope != "" {
			detail["scope"] = tomb.Ref.Scope
		}
		if err := c.cfg.Auth.AuditAdminAction(ctx, s.p, "sync.document_deleted", tomb.Owner, client(r), detail); err != nil {
			c.log.ErrorContext(ctx, "console: audit a document's deletion", "err", err.Error())
		}
	}
	http.Redirect(w, r, docLink(tomb.Ref)+"&done="+done, http.StatusSeeOther)
}

// userDocuments is what a user's page shows of their documents: the latest few.
const userDocuments = 10

// ownedBy returns the latest documents of a user, and whether there are more.
func (c *Console) ownedBy(r *http.Request, userID string) ([]datasync.DocumentSummary, bool, error) {
	if c.cfg.Sync == nil {
		return nil, false, nil
	}
	docs, next, err := c.cfg.Sync.BrowseDocuments(r.Context(), datasync.DocumentQuery{Owner: userID, Limit: userDocuments})
	return docs, next > 0, err
}
