package auth

import (
	"context"
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"strings"

	"golang.org/x/crypto/argon2"
)

// Argon2Params are the argon2id cost parameters for new password hashes. Hashes store their
// own parameters, so changing these never breaks existing passwords; a user's hash is
// upgraded to the current parameters at their next login.
type Argon2Params struct {
	MemoryKiB   uint32
	Iterations  uint32
	Parallelism uint8
}

// DefaultArgon2 follows the OWASP Password Storage Cheat Sheet's first recommendation for
// argon2id: 46 MiB of memory, one iteration, one lane. See docs/benchmarks.md for the cost
// of one hash on our machines.
var DefaultArgon2 = Argon2Params{MemoryKiB: 46 * 1024, Iterations: 1, Parallelism: 1}

const (
	saltLen = 16
	hashLen = 32
)

// hasher hashes and verifies passwords with argon2id. Each hash takes MemoryKiB of memory,
// so at most slots hashes run at once: a burst of logins queues instead of exhausting
// memory.
type hasher struct {
	params Argon2Params
	slots  chan struct{}
	// dummy is a hash of a random password with the current parameters, verified when a
	// login names no account, so that it takes as long as one that does.
	dummy string
	// derived, when set (by tests), is told the cost of every argon2id derivation: the
	// work a login does, compared without a stopwatch.
	derived func(p Argon2Params, saltLen, keyLen int)
	// onVerify, when set (only by tests), runs at the start of every Verify.
	onVerify func()
}

// derive runs argon2id, the hasher's only costly step.
func (h *hasher) derive(password string, salt []byte, p Argon2Params, keyLen uint32) []byte {
	if h.derived != nil {
		h.derived(p, len(salt), int(keyLen))
	}
	return argon2.IDKey([]byte(password), salt, p.Iterations, p.MemoryKiB, p.Parallelism, keyLen)
}

func newHasher(p Argon2Params, concurrency int) (*hasher, error) {
	if p.MemoryKiB < 8*uint32(p.Parallelism) || p.Iterations < 1 || p.Parallelism < 1 {
		return nil, fmt.Errorf("argon2id parameters %+v: want memory >= 8 KiB per lane, iterations >= 1, parallelism >= 1", p)
	}
	h := &hasher{params: p, slots: make(chan struct{}, max(1, concurrency))}
	var random [32]byte
	_, _ = rand.Read(random[:])
	h.dummy = h.hash(string(random[:]))
	return h, nil
}

// acquire waits for a hashing slot or for ctx.
func (h *hasher) acquire(ctx context.Context) error {
	select {
	case h.slots <- struct{}{}:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

func (h *hasher) release() { <-h.slots }

// Hash returns the PHC string of password: $argon2id$v=19$m=..,t=..,p=..$salt$hash.
func (h *hasher) Hash(ctx context.Context, password string) (string, error) {
	if err := h.acquire(ctx); err != nil {
		return "", err
	}
	defer h.release()
	return h.hash(password), nil
}

func (h *hasher) hash(password string) string {
	salt := make([]byte, saltLen)
	_, _ = rand.Read(salt)
	p := h.params
	key := h.derive(password, salt, p, hashLen)
	b64 := base64.RawStdEncoding
	return fmt.Sprintf("$argon2id$v=%d$m=%d,t=%d,p=%d$%s$%s", argon2.Version, p.MemoryKiB, p.Iterations, p.Parallelism, b64.EncodeToString(salt), b64.EncodeToString(key))
}

// Verify reports whether password matches the PHC string encoded, and whether encoded
// should be replaced by a hash with the current parameters. An empty encoded (a user
// without a password) is checked against the dummy hash and never matches.
func (h *hasher) Verify(ctx context.Context, password, encoded string) (ok, rehash bool, err error) {
	if h.onVerify != nil {
		h.onVerify()
	}
	target, matchable := encoded, true
	if target == "" {
		target, matchable = h.dummy, false
	}
	p, salt, want, err := parsePHC(target)
	if err != nil {
		return false, false, err
	}
	if err := h.acquire(ctx); err != nil {
		return false, false, err
	}
	got := h.derive(password, salt, p, uint32(len(want)))
	h.release()
	ok = subtle.ConstantTimeCompare(got, want) == 1 && matchable
	return ok, ok && p != h.params, nil
}

// VerifyNobody spends the time of one verification without an account to check, so that a
// login naming no account takes as long as one that does.
func (h *hasher) VerifyNobody(ctx context.Context, password string) error {
	_, _, err := h.Verify(ctx, password, "")
	return err
}

var errBadHash = errors.New("not an argon2id PHC string")

func parsePHC(s string) (p Argon2Params, salt, key []byte, err error) {
	parts := strings.Split(s, "$")
	if len(parts) != 6 || parts[1] != "argon2id" {
		return p, nil, nil, errBadHash
	}
	var version int
	if _, err := fmt.Sscanf(parts[2], "v=%d", &version); err != nil || version != argon2.Version {
		return p, nil, nil, errBadHash
	}
	if _, err := fmt.Sscanf(parts[3], "m=%d,t=%d,p=%d", &p.MemoryKiB, &p.Iterations, &p.Parallelism); err != nil {
		return p, nil, nil, errBadHash
	}
	if salt, err = base64.RawStdEncoding.DecodeString(parts[4]); err != nil {
		return p, nil, nil, errBadHash
	}
	if key, err = base64.RawStdEncoding.DecodeString(parts[5]); err != nil || len(key) == 0 {
		return p, nil, nil, errBadHash
	}
	return p, salt, key, nil
}
