package sync

import (
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"math/rand/v2"
	"slices"
	"time"

	"github.com/santhosh-tekuri/jsonschema/v6"
	"github.com/tideline-dev/tideline"
)

// maxCommitAttempts bounds how often a push re-reads documents that other writers
// changed between its read and its commit; between attempts it waits a random time that
// doubles each time (from 1 ms, at most 100 ms), so writers contending on one document
// spread out instead of colliding again.
const maxCommitAttempts = 16

// Push applies a client's batch of mutations for user and returns one receipt per
// mutation, in order. A rejected mutation never blocks the ones after it. Pushing the same
// batch again (or any part of it) applies nothing twice: a mutation the server processed
// before is answered with Duplicate. The batch itself is refused (an error, nothing
// applied) when it is empty, too large, its ids are not strictly increasing, or the client
// id belongs to another user.
func (s *Service) Push(ctx context.Context, caller Caller, clientID string, muts []Mutation) ([]Receipt, error) {
	user := caller.UserID
	if !clientIDForm.MatchString(clientID) {
		return nil, errBatch(tideline.CodeInvalid, "clientId", "The client id must be 1 to 64 letters, digits, _ or -.")
	}
	if len(muts) == 0 {
		return nil, errBatch(tideline.CodeInvalid, "mutations", "A push needs at least one mutation.")
	}
	if len(muts) > s.cfg.MaxBatch {
		return nil, errBatch(tideline.CodeTooLarge, "mutations", "A push carries at most %d mutations; split the batch.", s.cfg.MaxBatch)
	}
	for i, m := range muts {
		if m.ID < 1 || (i > 0 && m.ID <= muts[i-1].ID) {
			return nil, errBatch(tideline.CodeInvalid, "mutations", "Mutation ids must be positive and strictly increasing (mutation %d has id %d).", i, m.ID)
		}
	}
	mark, err := s.store.FindClient(ctx, clientID)
	switch {
	case tideline.ErrorCode(err) == tideline.CodeNotFound:
		mark = ClientMark{ClientID: clientID, UserID: user}
	case err != nil:
		return nil, err
	case mark.UserID != user:
		return nil, ErrClientTaken
	}
	all, err := s.collections(ctx)
	if err != nil {
		return nil, err
	}

	receipts := make([]Receipt, len(muts))
	groups := map[DocRef][]prepared{}
	var order []DocRef
	for i, m := range muts {
		p, rej := s.prepare(i, m, user, clientID, all)
		p.dup = m.ID <= mark.High // settled before: applied, reported with the document as it is
		switch {
		case rej != nil && p.dup:
			receipts[i] = Receipt{ID: m.ID, Status: Applied, Duplicate: true}
			continue
		case rej != nil:
			receipts[i] = Receipt{ID: m.ID, Status: Rejected, Code: rej.code, Field: rej.field, Message: rej.msg}
			continue
		}
		if _, seen := groups[p.ref]; !seen {
			order = append(order, p.ref)
		}
		groups[p.ref] = append(groups[p.ref], p)
	}

	// At least one commit, even with no writes, so that the client's mark is stored.
	who := &principals{caller: caller}
	pending := order
	for attempt := 0; attempt == 0 || len(pending) > 0; attempt++ {
		if attempt == maxCommitAttempts {
			return nil, tideline.Errorf(tideline.CodeUnavailable, "The documents of this push are changing too fast; retry the push (it is safe: nothing is applied twice).")
		}
		if attempt > 0 {
			if err := backoff(ctx, attempt); err != nil {
				return nil, err
			}
		}
		docs, err := s.load(ctx, pending)
		if err != nil {
			return nil, err
		}
		var writes []Write
		var refs []DocRef
		for _, ref := range pending {
			w, err := s.applyGroup(ctx, docs[ref], groups[ref], who, clientID, receipts)
			if err != nil {
				return nil, err
			}
			if w != nil {
				writes = append(writes, *w)
				refs = append(refs, ref)
			}
		}
		results, err := s.commit(ctx, Commit{Writes: writes, Client: &ClientMark{ClientID: clientID, UserID: user, High: muts[len(muts)-1].ID}})
		if err != nil {
			return nil, err
		}
		pending = pending[:0:0]
		for i, r := range results {
			if r.Conflict {
				pending = append(pending, refs[i])
				continue
			}
			s.settle(groups[refs[i]], writes[i].Doc, r.Seq, receipts)
		}
		if len(writes) > len(pending) && s.hub != nil {
			s.hub.kick() // this node's streams hear of the change now, not at the next tick
		}
	}
	s.noteClient(ctx, caller, clientID, false)
	return receipts, nil
}

// backoff waits before commit attempt n (n >= 1): a random time up to min(2^n ms, 100 ms).
func backoff(ctx context.Context, n int) error {
	ceiling := min(time.Duration(1<<min(n, 10))*time.Millisecond, 100*time.Millisecond)
	t := time.NewTimer(rand.N(ceiling) + time.Millisecond/10)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// load reads the documents of refs, normalised, by ref (absent ones are missing).
func (s *Service) load(ctx context.Context, refs []DocRef) (map[DocRef]*Document, error) {
	found, err := s.store.FindDocuments(ctx, refs)
	if err != nil {
		return nil, err
	}
	out := make(map[DocRef]*Document, len(found))
	for i := range found {
		d := found[i]
		if err := Normalize(&d); err != nil {
			return nil, tideline.Wrap(err, tideline.CodeInternal, "")
		}
		out[d.Ref] = &d
	}
	return out, nil
}

// Normalize converts the values of a document read from a store (numbers may come back
// as json.Number, int32 or float64) to the forms the service works with: int64 or float64.
func Normalize(d *Document) error {
	var err error
	if d.Meta, err = normalizeMeta(d.Meta); err != nil {
		return err
	}
	for k, v := range d.Fields {
		if d.Fields[k], err = normalizeStored(v); err != nil {
			return err
		}
	}
	return nil
}

// applyGroup applies one document's mutations, in order, to its stored state (nil: absent)
// and fills their receipts. It returns the write to commit, or nil when nothing changed.
func (s *Service) applyGroup(ctx context.Context, doc *Document, muts []prepared, who *principals, client string, receipts []Receipt) (*Write, error) {
	var base int64
	user := who.caller.UserID
	fields, meta, owner := map[string]any{}, Meta{}, user
	exists := doc != nil
	if exists {
		base, fields, meta, owner = doc.Version, doc.Fields, doc.Meta, doc.Owner
	}
	col := muts[0].col
	sch, err := s.schema(col)
	if err != nil {
		return nil, err
	}
	changed, deleted := false, exists && doc.Deleted
	for _, p := range muts {
		r := &receipts[p.index]
		*r = Receipt{ID: p.m.ID, Clamped: p.clamped}
		if p.dup || meta.Clients[client] >= p.m.ID {
			if meta.Clients[client] == p.m.ID && meta.Sums[client] != 0 && meta.Sums[client] != p.m.fingerprint() {
				*r = Receipt{ID: p.m.ID, Status: Rejected, Code: RejectIDReused, Field: "id", Message: fmt.Sprintf("Mutation id %d was applied to this document before, with other content: this client reused an id. Number each new mutation with a higher id than the last.", p.m.ID)}
				continue
			}
			r.Status, r.Duplicate = Applied, true
			continue
		}
		if (exists || changed) && owner != user {
			ok, err := s.mayWrite(ctx, col, fields, p, who)
			if err != nil {
				return nil, err
			}
			if !ok {
				*r = Receipt{ID: p.m.ID, Status: Rejected, Code: RejectForbidden, Message: "Only the document's owner, or someone its _acl lets write, may write it; only the owner shares or deletes it."}
				continue
			}
		}
		stale := p.m.BaseVersion != nil && *p.m.BaseVersion != base
		if stale && col.Policy == Optimistic {
			r.Status = Conflict
			continue
		}
		st := newState(fields, cloneMeta(meta))
		won := applyMutation(st, p, stale && col.Policy == ServerWins)
		next, del := st.visible()
		if rej := checkDocument(next, del, col, sch); rej != nil {
			*r = Receipt{ID: p.m.ID, Status: Rejected, Code: rej.code, Field: rej.field, Message: rej.msg}
			continue
		}
		st.markClient(client, p.m.ID, p.m.fingerprint())
		saved := st.save(s.horizon())
		if rej := checkStored(Document{Ref: p.ref, Owner: owner, Fields: next, Buckets: col.buckets(owner, next), Meta: saved}, doc); rej != nil {
			*r = Receipt{ID: p.m.ID, Status: Rejected, Code: rej.code, Field: rej.field, Message: rej.msg}
			continue
		}
		fields, meta, deleted, changed = next, saved, del, true
		r.Status = Applied
		if !won {
			r.Status = Merged
		}
	}
	if !changed {
		for _, p := range muts { // duplicates and conflicts report the stored document
			if doc != nil {
				fillDoc(&receipts[p.index], *doc, doc.Seq)
			}
		}
		return nil, nil
	}
	buckets := col.buckets(owner, fields)
	var evicted []string
	var evictSeq int64 // 0: this write evicts (the store sets its number)
	if exists {
		evictSeq = doc.EvictSeq
		for _, b := range append(slices.Clone(doc.Evicted), doc.Buckets...) {
			if !slices.Contains(buckets, b) && !slices.Contains(evicted, b) {
				evicted = append(evicted, b)
				if !slices.Contains(doc.Evicted, b) {
					evictSeq = 0
				}
			}
		}
	}
	return &Write{BaseVersion: base, Doc: Document{
		Ref: muts[0].ref, Owner: owner, Version: base + 1, Deleted: deleted, Fields: fields,
		Buckets: buckets, Evicted: evicted, EvictSeq: evictSeq, Meta: meta, UpdatedAt: s.clock.Now(),
	}}, nil
}

// mayWrite reports whether a user who does not own an owner-shared document may apply p
// to it: its _acl names them (or a group or role of theirs) as a writer, and p neither
// shares (sets _acl) nor deletes. Under other rules only the owner writes.
func (s *Service) mayWrite(ctx context.Context, col Collection, fields map[string]any, p prepared, who *principals) (bool, error) {
	if col.Read != OwnerShared || p.m.Op == "delete" || p.setsACL {
		return false, nil
	}
	mine, err := s.principals(ctx, who)
	if err != nil {
		return false, err
	}
	return intersects(aclOf(fields).Write, mine), nil
}

// settle fills the receipts of a committed document's mutations.
func (s *Service) settle(muts []prepared, doc Document, seq int64, receipts []Receipt) {
	for _, p := range muts {
		fillDoc(&receipts[p.index], doc, seq)
	}
}

// fillDoc gives a receipt its document's position, and the document itself where the
// client needs it: merged, conflict, and a duplicate (docs/sync-protocol.md: the client's
// copy may be older than its own write, whose first answer was lost, and without the
// document a page between the two stood for the server's state: a pending attachment
// reference was lost that way). Always the document as it is after the whole batch: a
// client does not apply again an applied mutation whose seq its copy already has.
func fillDoc(r *Receipt, doc Document, seq int64) {
	if r.Status == Rejected {
		return
	}
	r.Seq, r.Version = seq, doc.Version
	if r.Status == Merged || r.Status == Conflict || r.Duplicate {
		r.Doc, r.Deleted = doc.Fields, doc.Deleted
	}
}

// applyMutation applies p to st and reports whether all of it won. dropAssignments
// drops its assignments (server-wins with a stale base): only commutative ops apply.
func applyMutation(st *docState, p prepared, dropAssignments bool) bool {
	h := p.hlc
	switch p.m.Op {
	case "put":
		if dropAssignments {
			return false
		}
		return st.put(p.fields, h)
	case "delete":
		if dropAssignments {
			return false
		}
		return st.del(h)
	}
	won := st.touch(h) && !(dropAssignments && len(p.fields) > 0)
	if !dropAssignments {
		for name, v := range p.fields {
			won = st.assign(name, v, h) && won
		}
	}
	for name, op := range p.m.Ops {
		switch {
		case op.Inc != nil:
			won = st.numOp(name, "inc", mustNumber(op.Inc), h) && won
		case op.Max != nil:
			won = st.numOp(name, "max", mustNumber(op.Max), h) && won
		case op.Min != nil:
			won = st.numOp(name, "min", mustNumber(op.Min), h) && won
		case op.Add != nil:
			won = st.elemOps(name, mustScalars(op.Add), true, h) && won
		default:
			won = st.elemOps(name, mustScalars(op.Remove), false, h) && won
		}
	}
	return won
}

// mustNumber and mustScalars normalise operands that prepare has checked already.
func mustNumber(v any) any {
	n, _ := normalize(v, "", 1)
	return n
}

func mustScalars(vs []any) []any {
	out := make([]any, len(vs))
	for i, v := range vs {
		out[i], _ = normalize(v, "", 1)
	}
	return out
}

// checkDocument applies the collection's size limit and schema to a document's new
// visible fields.
func checkDocument(fields map[string]any, deleted bool, col Collection, sch *jsonschema.Schema) *rejection {
	if deleted {
		return nil
	}
	body, err := json.Marshal(fields)
	if err != nil {
		return reject(RejectInvalid, "fields", "The document cannot be encoded as JSON.")
	}
	if len(body) > col.MaxDocBytes {
		return reject(RejectTooLarge, "fields", "The document would be %d bytes; the collection allows %d.", len(body), col.MaxDocBytes)
	}
	if sch == nil {
		return nil
	}
	inst, err := jsonschema.UnmarshalJSON(bytesReader(body))
	if err != nil {
		return reject(RejectInvalid, "fields", "The document cannot be encoded as JSON.")
	}
	if err := sch.Validate(inst); err != nil {
		field, msg := schemaProblem(err)
		return reject(RejectSchema, field, "The document does not match the collection's schema: %s", msg)
	}
	return nil
}

// checkStored applies MaxStoredBytes to d, the document as it would be stored after a
// mutation (old: as it is, or nil), with its metadata: a write that MongoDB would refuse
// is rejected on both engines, finally, so the client's outbox moves on.
func checkStored(d Document, old *Document) *rejection {
	if old != nil {
		d.Evicted = append(slices.Clone(old.Buckets), old.Evicted...) // at most
	}
	if n := StoredSize(d); n > MaxStoredBytes {
		return reject(RejectTooLarge, "fields", "The document would be %d bytes as stored, with the history that merges concurrent changes; the limit is %d.", n, MaxStoredBytes)
	}
	return nil
}

// horizon is the retention horizon as a clock: operations older than it are folded into
// their fields' bases (docState.save).
func (s *Service) horizon() HLC {
	return MakeHLC(s.clock.Now().Add(-s.cfg.Retention), 0, "")
}

func cloneMeta(m Meta) Meta {
	m.Fields = maps.Clone(m.Fields)
	m.Clients = maps.Clone(m.Clients)
	m.Sums = maps.Clone(m.Sums)
	return m
}
