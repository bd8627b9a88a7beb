package main

import (
	"context"
	"errors"
	"log/slog"

	"github.com/tideline-dev/tideline/app"
)

// serve runs the server configured by cfg until ctx is canceled, then shuts it down
// gracefully and closes it (app.Run and app.Close).
func serve(ctx context.Context, cfg *app.Config, log *slog.Logger) error {
	cfg.Logger = log
	a, err := app.New(ctx, *cfg)
	if err != nil {
		return err
	}
	return errors.Join(a.Run(ctx), a.Close())
}
