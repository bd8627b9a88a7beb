package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"

	"github.com/tideline-dev/tideline"
	"modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"
)

// mapError turns a driver error into a tideline.Error with the code a feature can act on:
// no rows is CodeNotFound, a unique or primary key violation is CodeConflict, a busy or
// full database is CodeUnavailable. Context errors keep their identity. Everything else is
// CodeInternal. what names the operation for logs.
func mapError(err error, what string) error {
	if err == nil {
		return nil
	}
	if _, ok := errors.AsType[*tideline.Error](err); ok {
		return err
	}
	err = fmt.Errorf("%s: %w", what, err)
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return err
	}
	if errors.Is(err, sql.ErrNoRows) {
		return tideline.Wrap(err, tideline.CodeNotFound, "Not found.")
	}
	if se, ok := errors.AsType[*sqlite.Error](err); ok {
		switch se.Code() {
		case sqlite3.SQLITE_CONSTRAINT_UNIQUE, sqlite3.SQLITE_CONSTRAINT_PRIMARYKEY:
			return tideline.Wrap(err, tideline.CodeConflict, "Already exists.")
		case sqlite3.SQLITE_CONSTRAINT_FOREIGNKEY:
			return tideline.Wrap(err, tideline.CodeConflict, "Refers to something that does not exist.")
		case sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED:
			return tideline.Wrap(err, tideline.CodeUnavailable, "The embedded database is busy.")
		case sqlite3.SQLITE_FULL:
			return tideline.Wrap(err, tideline.CodeUnavailable, "The disk is full.")
		case sqlite3.SQLITE_READONLY:
			return tideline.Wrap(err, tideline.CodeUnavailable, "The embedded database is read-only.")
		}
	}
	return tideline.Wrap(err, tideline.CodeInternal, "")
}
