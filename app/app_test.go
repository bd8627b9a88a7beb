package app_test

import (
	"errors"
	"fmt"
	"reflect"
	"strings"
	"testing"

	"github.com/tideline-dev/tideline"
	"github.com/tideline-dev/tideline/app"
	"github.com/tideline-dev/tideline/app/apptest"
)

// TestStartLogHasNoEmptyFields: what the app logs as it starts carries no empty fields
// (cause="", also_reads=[]), which only make an operator wonder what is missing.
func TestStartLogHasNoEmptyFields(t *testing.T) {
	a := apptest.New(t, apptest.Options{})
	lines := strings.Split(strings.TrimSpace(a.Logs.String()), "\n")
	if len(lines) < 2 {
		t.Fatalf("the start logged %d lines:\n%s", len(lines), a.Logs)
	}
	for _, msg := range []string{"generated a master key to encrypt secrets at rest: back up this file apart from the data, since without it the stored secrets cannot be read"} {
		if len(a.Logs.Records(msg)) != 1 {
			t.Fatalf("no %q in the start's log:\n%s", msg, a.Logs)
		}
	}
	for _, rec := range append(a.Logs.Records("secrets at rest are encrypted with the master key file"), a.Logs.Records("push notifications are written to this log, not sent: set fcm.credentialsFile to send them through Firebase Cloud Messaging")...) {
		for k, v := range rec {
			if v == "" || v == nil || (reflect.ValueOf(v).Kind() == reflect.Slice && reflect.ValueOf(v).Len() == 0) {
				t.Errorf("%q has the empty field %s", rec["msg"], k)
			}
		}
	}
}

func TestExplain(t *testing.T) {
	for _, tt := range []struct {
		err   error
		msg   string
		cause []any
	}{
		{tideline.Wrap(errors.New("EADDRINUSE"), tideline.CodeUnavailable, "Cannot listen."), "Cannot listen.", []any{"cause", "EADDRINUSE"}},
		{tideline.Errorf(tideline.CodeInvalid, "Bad setting."), "Bad setting.", nil},
		{fmt.Errorf("open: %w", errors.New("disk full")), "open: disk full", nil},
	} {
		msg, cause := app.Explain(tt.err)
		if msg != tt.msg || !reflect.DeepEqual(cause, tt.cause) {
			t.Errorf("Explain(%v) = %q, %v; want %q, %v", tt.err, msg, cause, tt.msg, tt.cause)
		}
	}
}
