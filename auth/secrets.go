package auth

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"strings"
)

// Opaque secrets carry a prefix, so that secret scanners (and people) recognise them.
const (
	refreshPrefix  = "tlrt_"
	adminKeyPrefix = "tladm_"
	actionPrefix   = "tlact_"
	secretBytes    = 32 // 256 bits
)

func newSecret(prefix string) string {
	b := make([]byte, secretBytes)
	_, _ = rand.Read(b)
	return prefix + base64.RawURLEncoding.EncodeToString(b)
}

func newRefreshToken() string { return newSecret(refreshPrefix) }

// wellFormed reports whether s looks like a secret with prefix, before any store lookup.
func wellFormed(s, prefix string) bool {
	body, ok := strings.CutPrefix(s, prefix)
	if !ok || len(body) != base64.RawURLEncoding.EncodedLen(secretBytes) {
		return false
	}
	_, err := base64.RawURLEncoding.DecodeString(body)
	return err == nil
}

// hashToken is the stored form of an opaque secret: hex SHA-256. The secrets are 256-bit
// random, so a fast hash is enough: there is nothing to brute-force.
func hashToken(raw string) string {
	sum := sha256.Sum256([]byte(raw))
	return hex.EncodeToString(sum[:])
}

// successor is the refresh token that replaces raw: HMAC-SHA256 of raw under the server's
// rotation secret. Being a function of raw, the same spent token always has the same
// successor, so a retry after a lost response or a crash gets the token it should have had,
// with nothing stored in the clear; without the secret, nobody can compute it.
func (s *Service) successor(raw string) string {
	mac := hmac.New(sha256.New, s.rotation)
	mac.Write([]byte(raw))
	return refreshPrefix + base64.RawURLEncoding.EncodeToString(mac.Sum(nil))
}
