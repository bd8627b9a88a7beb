package auth

import (
	"context"
	"testing"
)

// BenchmarkArgon2idHash measures one password hash with the default parameters (the cost
// of a sign-up, and of a login's verification).
func BenchmarkArgon2idHash(b *testing.B) {
	h, err := newHasher(DefaultArgon2, 1)
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := h.Hash(context.Background(), "correct horse battery staple"); err != nil {
			b.Fatal(err)
		}
	}
}
