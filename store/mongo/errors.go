package mongo

import (
	"context"
	"errors"
	"fmt"

	"github.com/tideline-dev/tideline"
	"go.mongodb.org/mongo-driver/v2/mongo"
)

// mapError turns a driver error into a tideline.Error with the code a feature can act on:
// no document is CodeNotFound, a duplicate key (a unique index, or a conditional upsert that
// lost) is CodeConflict, a network error, timeout or disconnected client is CodeUnavailable.
// Context errors keep their identity. Everything else is CodeInternal. what names the
// operation for logs.
func mapError(err error, what string) error {
	if err == nil {
		return nil
	}
	if _, ok := errors.AsType[*tideline.Error](err); ok {
		return err
	}
	err = fmt.Errorf("%s: %w", what, err)
	switch {
	case errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded):
		return err
	case errors.Is(err, mongo.ErrNoDocuments):
		return tideline.Wrap(err, tideline.CodeNotFound, "Not found.")
	case mongo.IsDuplicateKeyError(err):
		return tideline.Wrap(err, tideline.CodeConflict, "Already exists.")
	case mongo.IsNetworkError(err) || mongo.IsTimeout(err) || errors.Is(err, mongo.ErrClientDisconnected):
		return tideline.Wrap(err, tideline.CodeUnavailable, "MongoDB is not reachable.")
	}
	return tideline.Wrap(err, tideline.CodeInternal, "")
}
