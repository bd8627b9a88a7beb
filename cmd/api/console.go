package main

import (
	"context"
	"crypto/rand"
	"fmt"
	"log/slog"

	"github.com/tideline-dev/tideline/auth"
	"github.com/tideline-dev/tideline/console"
	"github.com/tideline-dev/tideline/push"
	datasync "github.com/tideline-dev/tideline/sync"
)

// newConsole builds the admin console (/console) on the auth and push capabilities. Its
// CSRF key is a server secret kept in the store, so every node of a deployment signs and
// checks the same tokens.
func newConsole(ctx context.Context, cfg *Config, store engine, authSvc *auth.Service, pushSvc *push.Service, syncSvc *datasync.Service, hub *datasync.Hub, log *slog.Logger) (*console.Console, error) {
	candidate := make([]byte, 32)
	_, _ = rand.Read(candidate)
	secret, err := store.Auth().Secret(ctx, "console-csrf", candidate)
	if err != nil {
		return nil, fmt.Errorf("load the console's secret: %w", err)
	}
	confirm := cfg.ConsoleConfirmAbove
	if confirm == 0 {
		confirm = -1 // console.Config: negative asks before every campaign, 0 is the default
	}
	return console.New(console.Config{Auth: authSvc, Push: pushSvc, Sync: syncSvc, Hub: hub, Secret: secret, ConfirmAbove: confirm, Logger: log})
}
