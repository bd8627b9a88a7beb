package httpapi

import (
	"context"
	"encoding/json"
	"time"

	"github.com/tideline-dev/tideline/httpapi/oapi"
	datasync "github.com/tideline-dev/tideline/sync"
)

// ProtocolVersion is the newest sync protocol version the routes speak
// (docs/sync-protocol.md); a client that names none speaks 1.
const ProtocolVersion = 2

// negotiate is the protocol of an exchange: the client's (absent: 1), at most ours. The
// spec's validation has refused a version below 1.
func negotiate(client *int) int {
	if client == nil {
		return 1
	}
	return max(1, min(*client, ProtocolVersion))
}

func (s *Server) SyncPush(ctx context.Context, r oapi.SyncPushRequestObject) (oapi.SyncPushResponseObject, error) {
	muts := make([]datasync.Mutation, len(r.Body.Mutations))
	for i, m := range r.Body.Mutations {
		muts[i] = datasync.Mutation{ID: m.Id, Collection: m.Collection, DocID: m.DocId, Op: string(m.Op), HLC: deref(m.Hlc), BaseVersion: m.BaseVersion}
		if m.Fields != nil {
			muts[i].Fields = *m.Fields
		}
		if m.Ops != nil {
			muts[i].Ops = map[string]datasync.FieldOp{}
			for name, op := range *m.Ops {
				muts[i].Ops[name] = datasync.FieldOp{Inc: number(op.Inc), Max: number(op.Max), Min: number(op.Min), Add: deref(op.Add), Remove: deref(op.Remove)}
			}
		}
	}
	receipts, err := s.cfg.Sync.Push(ctx, callerOf(ctx), r.Body.ClientId, muts)
	if err != nil {
		return nil, err
	}
	out := oapi.PushResponse{Protocol: negotiate(r.Body.Protocol), Receipts: make([]oapi.Receipt, len(receipts))}
	for i, rc := range receipts {
		o := oapi.Receipt{Id: rc.ID, Status: oapi.ReceiptStatus(rc.Status)}
		if rc.Status != datasync.Rejected {
			o.Seq, o.Version = &rc.Seq, &rc.Version
		}
		o.Code, o.Message, o.Field = optional(rc.Code), optional(rc.Message), optional(rc.Field)
		// A duplicate carries the document as it is (docs/sync-protocol.md), when it
		// exists: not the one answered before the document was looked at (a resent
		// mutation that is also malformed).
		if rc.Status == datasync.Merged || rc.Status == datasync.Conflict || (rc.Duplicate && (rc.Doc != nil || rc.Deleted)) {
			doc := orEmpty(rc.Doc)
			o.Doc, o.Deleted = &doc, &rc.Deleted
		}
		if rc.Duplicate {
			o.Duplicate = &rc.Duplicate
		}
		if rc.Clamped {
			o.HlcClamped = &rc.Clamped
		}
		out.Receipts[i] = o
	}
	return oapi.SyncPush200JSONResponse(out), nil
}

// number is an operand, or nil (an untyped nil, so the service sees "not set").
func number(n *json.Number) any {
	if n == nil {
		return nil
	}
	return *n
}

func optional(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}

// optionalTime is t in UTC, or nil when t is zero.
func optionalTime(t time.Time) *time.Time {
	if t.IsZero() {
		return nil
	}
	t = t.UTC()
	return &t
}

func orEmpty(m map[string]any) map[string]any {
	if m == nil {
		return map[string]any{}
	}
	return m
}

func (s *Server) SyncPull(ctx context.Context, r oapi.SyncPullRequestObject) (oapi.SyncPullResponseObject, error) {
	var req datasync.PullRequest
	protocol := 1
	if r.Body != nil {
		protocol = negotiate(r.Body.Protocol)
		req = datasync.PullRequest{Cursor: deref(r.Body.Cursor), Collections: deref(r.Body.Collections), Limit: deref(r.Body.Limit), Fresh: deref(r.Body.Fresh)}
		if protocol >= 2 {
			req.Stream = deref(r.Body.Stream)
		}
	}
	page, err := s.cfg.Sync.Pull(ctx, callerOf(ctx), req)
	if err != nil {
		return nil, err
	}
	out := oapi.PullResponse{Protocol: protocol, Changes: make([]oapi.Change, len(page.Changes)), Cursor: page.Cursor, HasMore: page.HasMore,
		Collections: nonEmpty(page.Collections), RemovedBuckets: nonEmpty(page.RemovedBuckets),
		ResetBuckets: nonEmpty(page.ResetBuckets), ResetComplete: nonEmpty(page.ResetComplete)}
	if page.Live {
		out.Live = &page.Live
	}
	for i, c := range page.Changes {
		o := oapi.Change{Collection: c.Collection, DocId: c.DocID, Op: oapi.ChangeOp(c.Op), Version: c.Version, Seq: c.Seq, Buckets: c.Buckets}
		if o.Buckets == nil {
			o.Buckets = []string{}
		}
		if c.Op == datasync.OpUpsert {
			doc := orEmpty(c.Fields)
			o.Doc = &doc
		}
		out.Changes[i] = o
	}
	return oapi.SyncPull200JSONResponse(out), nil
}

// callerOf is the sync caller of an authenticated request, with what its Tideline-Client
// header says of its client.
func callerOf(ctx context.Context) datasync.Caller {
	p := principal(ctx)
	return datasync.Caller{UserID: p.UserID, Roles: p.Roles, Client: datasync.ClientInfoFrom(ctx)}
}

func nonEmpty(xs []string) *[]string {
	if len(xs) == 0 {
		return nil
	}
	return &xs
}

func collectionOut(c datasync.Collection) oapi.CollectionConfig {
	out := oapi.CollectionConfig{Name: c.Name, Policy: oapi.CollectionConfigPolicy(c.Policy), Read: oapi.CollectionConfigRead(c.Read),
		MaxDocBytes: c.MaxDocBytes, Notify: c.Notify, Source: oapi.Api}
	if c.FromConfig {
		out.Source = oapi.Config
	}
	if len(c.Schema) > 0 {
		var schema map[string]any
		if json.Unmarshal(c.Schema, &schema) == nil {
			out.Schema = &schema
		}
	}
	if !c.UpdatedAt.IsZero() {
		t := c.UpdatedAt.UTC()
		out.UpdatedAt = &t
	}
	return out
}

func (s *Server) AdminListCollections(ctx context.Context, _ oapi.AdminListCollectionsRequestObject) (oapi.AdminListCollectionsResponseObject, error) {
	list, err := s.cfg.Sync.ListCollections(ctx)
	if err != nil {
		return nil, err
	}
	out := oapi.CollectionList{Collections: []oapi.CollectionConfig{}}
	for _, c := range list {
		out.Collections = append(out.Collections, collectionOut(c))
	}
	return oapi.AdminListCollections200JSONResponse(out), nil
}

func (s *Server) AdminGetCollection(ctx context.Context, r oapi.AdminGetCollectionRequestObject) (oapi.AdminGetCollectionResponseObject, error) {
	c, err := s.cfg.Sync.GetCollection(ctx, r.Name)
	if err != nil {
		return nil, err
	}
	return oapi.AdminGetCollection200JSONResponse(collectionOut(c)), nil
}

func (s *Server) AdminPutCollection(ctx context.Context, r oapi.AdminPutCollectionRequestObject) (oapi.AdminPutCollectionResponseObject, error) {
	c := datasync.Collection{Name: r.Name, Policy: datasync.Policy(deref(r.Body.Policy)), Read: datasync.ReadRule(deref(r.Body.Read)),
		MaxDocBytes: deref(r.Body.MaxDocBytes), Notify: true}
	if r.Body.Notify != nil {
		c.Notify = *r.Body.Notify
	}
	if r.Body.Schema != nil {
		c.Schema, _ = json.Marshal(*r.Body.Schema) // a decoded JSON object always marshals
	}
	stored, err := s.cfg.Sync.PutCollection(ctx, c)
	if err != nil {
		return nil, err
	}
	return oapi.AdminPutCollection200JSONResponse(collectionOut(stored)), nil
}

func (s *Server) AdminDeleteCollection(ctx context.Context, r oapi.AdminDeleteCollectionRequestObject) (oapi.AdminDeleteCollectionResponseObject, error) {
	if err := s.cfg.Sync.DeleteCollection(ctx, r.Name); err != nil {
		return nil, err
	}
	return oapi.AdminDeleteCollection204Response{}, nil
}
