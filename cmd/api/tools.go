package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"

	"github.com/tideline-dev/tideline/app"
	"github.com/tideline-dev/tideline/auth"
)

// runTool runs the administrative commands `admin create`, `keys rotate` and `keys
// rotate-master`: each opens the store with the serve settings, does one thing and exits.
func runTool(ctx context.Context, cmd string, args []string, lookupEnv func(string) (string, bool), stdout, stderr io.Writer) int {
	sub := ""
	if len(args) > 0 {
		sub, args = args[0], args[1:]
	}
	switch sub {
	case "-h", "-help", "--help", "help":
		printUsage(stdout)
		return exitOK
	case "":
		fmt.Fprintf(stderr, "api: %s needs a subcommand: %s (run `api help`)\n", cmd, map[string]string{"admin": "create", "keys": "rotate or rotate-master"}[cmd])
		return exitUsage
	}
	var email, password, newKeyFile string
	var extra func(*flag.FlagSet)
	switch cmd + " " + sub {
	case "admin create":
		extra = func(fs *flag.FlagSet) {
			fs.StringVar(&email, "email", "", "the admin's email")
			fs.StringVar(&password, "password", "", "the admin's password (for a new account)")
		}
	case "keys rotate":
	case "keys rotate-master":
		extra = func(fs *flag.FlagSet) {
			fs.StringVar(&newKeyFile, "new-key-file", "", "the new master key's file (created, mode 0600, when it does not exist)")
		}
	default:
		fmt.Fprintf(stderr, "api: unknown command %q (run `api help`)\n", cmd+" "+sub)
		return exitUsage
	}
	cfg, err := loadConfig(args, lookupEnv, stdout, extra)
	if errors.Is(err, errHelp) {
		return exitOK
	}
	if err == nil && cmd == "admin" && email == "" {
		err = errors.New("admin create needs --email")
	}
	if err == nil && sub == "rotate-master" && newKeyFile == "" {
		err = errors.New("keys rotate-master needs --new-key-file: the file of the new master key (created when it does not exist)")
	}
	if err != nil {
		fmt.Fprintf(stderr, "api: %v\n", err)
		return exitUsage
	}
	log := newLogger(cfg, stderr)
	if sub == "rotate-master" {
		res, key, err := app.RotateMasterKey(ctx, cfg, newKeyFile, log)
		if err != nil {
			msg, cause := app.Explain(err)
			log.Error("keys rotate-master failed: "+msg, cause...)
			return exitFailed
		}
		fmt.Fprintf(stdout, "re-encrypted %d secrets with master key %s (%d were in plaintext, %d already used it); start the server with masterKeyFile=%s (or TIDELINE_MASTER_KEY set to its content)\n",
			res.Plaintext+res.Rekeyed, key.ID(), res.Plaintext, res.Current, newKeyFile)
		return exitOK
	}
	err = app.WithAuth(ctx, cfg, log, func(svc *auth.Service) error {
		if cmd == "keys" {
			kid, err := svc.RotateSigningKey(ctx, "cli", auth.Client{})
			if err == nil {
				fmt.Fprintf(stdout, "new signing key %s is active; tokens of the old keys work until they expire\n", kid)
			}
			return err
		}
		u, created, err := svc.CreateAdmin(ctx, email, password, "cli", true)
		switch {
		case err != nil:
		case created:
			fmt.Fprintf(stdout, "created admin %s (%s)\n", u.Email, u.ID)
		default:
			fmt.Fprintf(stdout, "%s (%s) has the admin role\n", u.Email, u.ID)
		}
		return err
	})
	if err != nil {
		msg, cause := app.Explain(err)
		log.Error(cmd+" "+sub+" failed: "+msg, cause...)
		return exitFailed
	}
	return exitOK
}
