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
// lost) is CodeConflict, a document over 16 MiB is CodeTooLarge, a network error, timeout
// or disconnected client is CodeUnavailable.
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
	case isTooLarge(err):
		// The service refuses documents past sync.MaxStoredBytes before they get here; this
		// keeps any that slip through from being a 500 that a client retries forever.
		return tideline.Wrap(err, tideline.CodeTooLarge, "The document is larger than MongoDB allows (16 MiB).")
	case mongo.IsNetworkError(err) || mongo.IsTimeout(err) || errors.Is(err, mongo.ErrClientDisconnected):
		return tideline.Wrap(err, tideline.CodeUnavailable, "MongoDB is not reachable.")
	}
	return tideline.Wrap(err, tideline.CodeInternal, "")
}

// isTooLarge reports MongoDB's refusals of a document over 16 MiB: BSONObjectTooLarge
// (10334) for an insert or a replacement, 17419 and 17420 for an update's result.
func isTooLarge(err error) bool {
	var se mongo.ServerError
	return errors.As(err, &se) && (se.HasErrorCode(10334) || se.HasErrorCode(17419) || se.HasErrorCode(17420))
}
