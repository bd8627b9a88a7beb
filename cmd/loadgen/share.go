package main

import (
	"context"
	"fmt"
	"math/rand/v2"
	"net/http"
	"strings"
)

// otherUser is a random user other than u (there are at least two: parseFlags checks).
func (g *loadgen) otherUser(u *user) *user {
	i := rand.N(len(g.users) - 1)
	if i >= u.idx {
		i++
	}
	return g.users[i]
}

// shareDocID names the document that from shares with to. Document ids of an owner-shared
// collection are one namespace for all users, and a write to another user's document is
// refused, so the id carries the run and the owner.
func shareDocID(run string, from, to *user) string {
	return fmt.Sprintf("%s-u%d-u%d", run, from.idx, to.idx)
}

// shareSetupHint says how to configure a server for --share-rate.
func shareSetupHint(name string) string {
	return fmt.Sprintf("configure the collection as owner-shared on the server, for example "+
		`TIDELINE_SYNC_COLLECTIONS='[{"name":%q,"read":"owner-shared"}]' (or --sync-collections, or sync.collections in tideline.yaml; `+
		"keep the collections already listed there), or name one that is with --share-collection, or run with --share-rate 0", name)
}

// checkShareCollection makes sure shares can be measured before the load starts: the
// first user shares a document of the shared collection with the second through _acl,
// and the second must pull it. A server where the collection is not owner-shared refuses
// the _acl (invalid), or the collection (unknown_collection, on a strict server).
func (g *loadgen) checkShareCollection(ctx context.Context) error {
	name := g.cfg.shareCollection
	owner, reader := g.users[0], g.users[1]
	docID := shareDocID(g.cfg.run, owner, reader) + "-check"
	m := map[string]any{"id": 1, "collection": name, "docId": docID, "op": "put",
		"fields": map[string]any{"check": true, "_acl": map[string]any{"read": []string{reader.bucket}}}}
	var out pushResponse
	status, body, err := g.authPost(ctx, owner, "/v1/sync/push", map[string]any{"clientId": "lg-" + g.cfg.run + "-check", "mutations": []any{m}}, &out)
	switch {
	case err != nil:
		return fmt.Errorf("checking --share-collection %q: push: %w", name, err)
	case status != http.StatusOK:
		return fmt.Errorf("checking --share-collection %q: push: HTTP %d: %s", name, status, strings.TrimSpace(string(body)))
	case len(out.Receipts) != 1:
		return fmt.Errorf("checking --share-collection %q: push: %d receipts for one mutation", name, len(out.Receipts))
	case out.Receipts[0].Status == "rejected":
		r := out.Receipts[0]
		return fmt.Errorf("--share-rate needs an owner-shared collection, and the server refused to share a document of %q: %s (code %s, field %s). To fix it, %s",
			name, strings.TrimSuffix(r.Message, "."), r.Code, r.Field, shareSetupHint(name))
	}
	cursor := ""
	for {
		body := map[string]any{"collections": []string{name}, "limit": 500, "fresh": true}
		if cursor != "" {
			body["cursor"] = cursor
		}
		var p pullResponse
		status, raw, err := g.authPost(ctx, reader, "/v1/sync/pull", body, &p)
		if err != nil || status != http.StatusOK {
			return fmt.Errorf("checking --share-collection %q: pull: HTTP %d: %v %s", name, status, err, strings.TrimSpace(string(raw)))
		}
		for _, ch := range p.Changes {
			if ch.DocID == docID && ch.Op == "upsert" {
				return nil
			}
		}
		if !p.HasMore {
			return fmt.Errorf("--share-rate needs an owner-shared collection, and a document of %q shared through _acl did not reach the user it names. To fix it, %s",
				name, shareSetupHint(name))
		}
		cursor = p.Cursor
	}
}
