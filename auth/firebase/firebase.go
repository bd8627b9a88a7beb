// Package firebase verifies Firebase Auth ID tokens with the Firebase Admin SDK, so that
// apps moving from Firebase can sign their users in to Tideline with the tokens they
// already have (POST /v1/auth/token with provider "firebase"). It is the only package,
// with push/fcm, that links the Firebase SDK.
package firebase

import (
	"context"
	"errors"
	"fmt"
	"os"

	fb "firebase.google.com/go/v4"
	fbauth "firebase.google.com/go/v4/auth"
	"github.com/tideline-dev/tideline"
	"github.com/tideline-dev/tideline/auth"
	"google.golang.org/api/option"
)

// EmulatorHostEnv is the variable that puts the Firebase SDK in emulator mode, in which it
// accepts unsigned ID tokens. It must never be set in production.
const EmulatorHostEnv = "FIREBASE_AUTH_EMULATOR_HOST"

// Verifier verifies Firebase ID tokens of one Firebase project.
type Verifier struct {
	client *fbauth.Client
}

// NewVerifier returns the verifier of projectID's ID tokens. Verifying needs no
// credentials: the SDK fetches Google's public certificates. It refuses to start when
// FIREBASE_AUTH_EMULATOR_HOST is set, unless allowEmulator is (for development and tests),
// because emulator mode accepts tokens that nobody signed.
func NewVerifier(ctx context.Context, projectID string, allowEmulator bool) (*Verifier, error) {
	if projectID == "" {
		return nil, errors.New("firebase: a project id is required")
	}
	if host := os.Getenv(EmulatorHostEnv); host != "" && !allowEmulator {
		return nil, fmt.Errorf("firebase: %s is set (%s), which makes the Firebase SDK accept unsigned ID tokens; unset it, or allow it for development with auth.firebase.allowEmulator", EmulatorHostEnv, host)
	}
	app, err := fb.NewApp(ctx, &fb.Config{ProjectID: projectID}, option.WithoutAuthentication())
	if err != nil {
		return nil, fmt.Errorf("firebase: %w", err)
	}
	client, err := app.Auth(ctx)
	if err != nil {
		return nil, fmt.Errorf("firebase auth: %w", err)
	}
	return &Verifier{client: client}, nil
}

// Verify checks a Firebase ID token: its signature by Google (except in emulator mode), its
// issuer and audience (the project), and its times; it returns the Firebase uid as the
// subject with the token's email.
func (v *Verifier) Verify(ctx context.Context, token string) (auth.ExternalIdentity, error) {
	t, err := v.client.VerifyIDToken(ctx, token)
	if err != nil {
		return auth.ExternalIdentity{}, tideline.Wrap(err, tideline.CodeUnauthenticated, "The Firebase ID token is invalid or expired.")
	}
	email, _ := t.Claims["email"].(string)
	verified, _ := t.Claims["email_verified"].(bool)
	return auth.ExternalIdentity{Subject: t.UID, Email: email, EmailVerified: verified}, nil
}
