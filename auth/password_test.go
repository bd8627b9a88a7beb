package auth

import (
	"context"
	"strings"
	"testing"
	"time"
)

func TestHasher(t *testing.T) {
	t.Parallel()
	h, err := newHasher(Argon2Params{MemoryKiB: 64, Iterations: 1, Parallelism: 1}, 2)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	enc, err := h.Hash(ctx, "pässwörd ✓")
	if err != nil {
		t.Fatal(err)
	}
	if ok, rehash, err := h.Verify(ctx, "pässwörd ✓", enc); !ok || rehash || err != nil {
		t.Fatalf("verify own hash: %v %v %v", ok, rehash, err)
	}
	if ok, _, _ := h.Verify(ctx, "passwörd ✓", enc); ok {
		t.Fatal("a wrong password verified")
	}
	again, _ := h.Hash(ctx, "pässwörd ✓")
	if again == enc {
		t.Fatal("two hashes of one password are equal: no salt")
	}
	stronger, _ := newHasher(Argon2Params{MemoryKiB: 128, Iterations: 1, Parallelism: 1}, 1)
	if ok, rehash, _ := stronger.Verify(ctx, "pässwörd ✓", enc); !ok || !rehash {
		t.Fatalf("old parameters: ok=%v rehash=%v, want true true", ok, rehash)
	}
	if ok, _, err := h.Verify(ctx, "", ""); ok || err != nil {
		t.Fatalf("an empty stored hash matched (%v, %v)", ok, err)
	}
	for _, bad := range []string{"x", "$argon2i$v=19$m=64,t=1,p=1$c2FsdA$aGFzaA", "$argon2id$v=18$m=64,t=1,p=1$c2FsdA$aGFzaA", "$argon2id$v=19$m=64$c2FsdA$aGFzaA", "$argon2id$v=19$m=64,t=1,p=1$!!$aGFzaA", "$argon2id$v=19$m=64,t=1,p=1$c2FsdA$"} {
		if _, _, err := h.Verify(ctx, "x", bad); err == nil {
			t.Errorf("Verify accepted the malformed hash %q", bad)
		}
	}
	if _, err := newHasher(Argon2Params{MemoryKiB: 4, Iterations: 1, Parallelism: 1}, 1); err == nil {
		t.Fatal("too little memory accepted")
	}
}

func TestHasherBoundsConcurrency(t *testing.T) {
	t.Parallel()
	h, _ := newHasher(Argon2Params{MemoryKiB: 64, Iterations: 1, Parallelism: 1}, 1)
	h.slots <- struct{}{} // the only slot is busy
	ctx, cancel := context.WithCancel(context.Background())
	cancel() // a caller that gives up: it must not get the busy slot
	if _, err := h.Hash(ctx, "x"); err == nil {
		t.Fatal("hashed beyond the concurrency bound")
	}
	<-h.slots
	if _, err := h.Hash(context.Background(), "x"); err != nil {
		t.Fatal(err)
	}
}

func TestNormalizeEmail(t *testing.T) {
	t.Parallel()
	for in, want := range map[string]string{
		" Ada.Lovelace+tag@Example.COM ": "ada.lovelace+tag@example.com",
		"ada@sub.example.co.uk":          "ada@sub.example.co.uk",
	} {
		if got, err := NormalizeEmail(in); got != want || err != nil {
			t.Errorf("NormalizeEmail(%q) = %q, %v", in, got, err)
		}
	}
	for _, in := range []string{"", "ada", "@example.com", "ada@", "ada@example", "ada@.example.com", "ada@example.com.", "a b@example.com", "<ada@example.com>", "ada@example.com (Ada)", "\"ada\"@example.com\x00", "ada@exa\nmple.com", strings.Repeat("a", 255) + "@x.io"} {
		if got, err := NormalizeEmail(in); err == nil {
			t.Errorf("NormalizeEmail(%q) accepted as %q", in, got)
		}
	}
}

func TestCommonPasswords(t *testing.T) {
	t.Parallel()
	if n := len(commonPasswords()); n < 10000 {
		t.Fatalf("only %d common passwords", n)
	}
	for _, p := range []string{"password", "12345678", "qwertyuiop", "Sunshine", "football1"} {
		if checkPassword(p, "", 8) == nil && len(p) >= 8 {
			t.Errorf("%q passed the policy", p)
		}
	}
	if err := checkPassword("correct horse battery staple", "", 8); err != nil {
		t.Fatal(err)
	}
}

func TestParseRate(t *testing.T) {
	t.Parallel()
	r, err := ParseRate("20/1m")
	if err != nil || r != (Rate{Burst: 20, Per: time.Minute}) || r.String() != "20/1m0s" {
		t.Fatalf("%+v %v", r, err)
	}
	if r, err := ParseRate("off"); err != nil || r.Burst != 0 || r.String() != "off" {
		t.Fatalf("off: %+v %v", r, err)
	}
	for _, bad := range []string{"", "20", "0/1m", "-1/1m", "x/1m", "20/", "20/0s", "20/soon"} {
		if _, err := ParseRate(bad); err == nil {
			t.Errorf("ParseRate(%q) accepted", bad)
		}
	}
}
