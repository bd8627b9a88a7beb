package mongo

import (
	"context"
	"time"

	datasync "github.com/tideline-dev/tideline/sync"
)

// roundRobin (sync_order_test.go) spreads the admin's reads over the nodes too.

func (r *roundRobin) CountDocuments(ctx context.Context) ([]datasync.DocumentCount, error) {
	return r.pick().CountDocuments(ctx)
}
func (r *roundRobin) ListDocuments(ctx context.Context, q datasync.DocumentQuery) ([]datasync.DocumentSummary, error) {
	return r.pick().ListDocuments(ctx, q)
}
func (r *roundRobin) RecordClient(ctx context.Context, a datasync.ClientActivity) error {
	return r.pick().RecordClient(ctx, a)
}
func (r *roundRobin) ListClients(ctx context.Context, userID string) ([]datasync.ClientActivity, error) {
	return r.pick().ListClients(ctx, userID)
}
func (r *roundRobin) ListQuietClients(ctx context.Context, before time.Time, limit int) ([]datasync.ClientActivity, int, error) {
	return r.pick().ListQuietClients(ctx, before, limit)
}
func (r *roundRobin) DeleteClients(ctx context.Context, userID string) error {
	return r.pick().DeleteClients(ctx, userID)
}
func (r *roundRobin) RecordNode(ctx context.Context, n datasync.NodeStreams) error {
	return r.pick().RecordNode(ctx, n)
}
func (r *roundRobin) ListNodes(ctx context.Context, since time.Time) ([]datasync.NodeStreams, error) {
	return r.pick().ListNodes(ctx, since)
}
