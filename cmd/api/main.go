// Command api is the Tideline server: `go run ./cmd/api` starts it on the embedded engine
// with data in ./data; `api --help` lists every setting. See docs/configuration.md.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"runtime"
	"strings"
	"syscall"

	_ "time/tzdata" // device time zones validate on machines without a zoneinfo database

	"github.com/tideline-dev/tideline"
	"github.com/tideline-dev/tideline/app"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	os.Exit(run(ctx, os.Args[1:], os.LookupEnv, os.Stdout, os.Stderr))
}

// Exit codes of run.
const (
	exitOK     = 0
	exitFailed = 1 // the server could not start or failed while running
	exitUsage  = 2 // bad command line or configuration
)

// run runs the command in args and returns the process's exit code. ctx is canceled by
// SIGINT or SIGTERM; the serve command then shuts down gracefully.
func run(ctx context.Context, args []string, lookupEnv func(string) (string, bool), stdout, stderr io.Writer) int {
	cmd := "serve"
	if len(args) > 0 && !strings.HasPrefix(args[0], "-") {
		cmd, args = args[0], args[1:]
	}
	switch cmd {
	case "serve":
		cfg, err := loadConfig(args, lookupEnv, stdout, nil)
		if errors.Is(err, errHelp) {
			return exitOK
		}
		if err != nil {
			fmt.Fprintf(stderr, "api: %v\n", err)
			return exitUsage
		}
		log := newLogger(cfg, stderr)
		if err := serve(ctx, cfg, log); err != nil {
			msg, cause := app.Explain(err)
			log.Error("cannot serve: "+msg, cause...)
			return exitFailed
		}
		return exitOK
	case "admin", "keys":
		return runTool(ctx, cmd, args, lookupEnv, stdout, stderr)
	case "backup":
		return runBackup(ctx, args, lookupEnv, stdout, stderr)
	case "restore":
		return runRestore(ctx, args, lookupEnv, stdout, stderr)
	case "version":
		fmt.Fprintf(stdout, "tideline %s (%s, %s/%s)\n", tideline.Version, runtime.Version(), runtime.GOOS, runtime.GOARCH)
		return exitOK
	case "help":
		printUsage(stdout)
		return exitOK
	default:
		fmt.Fprintf(stderr, "api: unknown command %q (run `api help`)\n", cmd)
		return exitUsage
	}
}

// newLogger returns the process's logger: JSON lines unless the format is text, or auto
// and stderr is a terminal.
func newLogger(cfg *app.Config, w io.Writer) *slog.Logger {
	opts := &slog.HandlerOptions{Level: cfg.LogLevel}
	text := cfg.LogFormat == "text"
	if cfg.LogFormat == "auto" {
		if f, ok := w.(*os.File); ok {
			if st, err := f.Stat(); err == nil && st.Mode()&os.ModeCharDevice != 0 {
				text = true
			}
		}
	}
	if text {
		return slog.New(slog.NewTextHandler(w, opts))
	}
	return slog.New(slog.NewJSONHandler(w, opts))
}
