package storetest

import (
	"fmt"
	"sync"
	"testing"

	"github.com/tideline-dev/tideline"
)

// runSecrets checks the engine's one tideline.SecretStore: a secret is created once and
// every caller gets the first candidate, listing and conditional replacement (what sealing
// with the master key, and its rotation, do).
func runSecrets(t *testing.T, h Harness) {
	t.Run("FirstCandidateWins", func(t *testing.T) {
		s := open(t, h, h.NewLocation(t), tideline.NewManualClock(Epoch)).Secrets()
		first, err := s.Secret(t.Context(), "refresh", []byte("candidate-1"))
		must(t, err, "Secret")
		again, err := s.Secret(t.Context(), "refresh", []byte("candidate-2"))
		must(t, err, "Secret again")
		if string(first) != "candidate-1" || string(again) != "candidate-1" {
			t.Fatalf("Secret gave %q then %q, want the first candidate both times", first, again)
		}
		other, _ := s.Secret(t.Context(), "other", []byte("x"))
		if string(other) != "x" {
			t.Fatalf("another secret's name gave %q", other)
		}
		results := make([]string, 8)
		var wg sync.WaitGroup
		for i := range results {
			wg.Go(func() {
				b, err := s.Secret(t.Context(), "raced", []byte(fmt.Sprint("c", i)))
				if err != nil {
					t.Errorf("Secret: %v", err)
				}
				results[i] = string(b)
			})
		}
		wg.Wait()
		for _, r := range results {
			if r != results[0] || r == "" {
				t.Fatalf("concurrent callers got different secrets: %q", results)
			}
		}
	})

	t.Run("ListAndReplace", func(t *testing.T) {
		s := open(t, h, h.NewLocation(t), tideline.NewManualClock(Epoch)).Secrets()
		_, err := s.Secret(t.Context(), "a", []byte("plain-a"))
		must(t, err, "Secret a")
		_, err = s.Secret(t.Context(), "b", []byte("plain-b"))
		must(t, err, "Secret b")
		all, err := s.ListSecrets(t.Context())
		must(t, err, "ListSecrets")
		if len(all) != 2 || string(all["a"]) != "plain-a" || string(all["b"]) != "plain-b" {
			t.Fatalf("ListSecrets = %q", all)
		}
		must(t, s.ReplaceSecret(t.Context(), "a", []byte("plain-a"), []byte("sealed-a")), "ReplaceSecret")
		wantCode(t, s.ReplaceSecret(t.Context(), "a", []byte("plain-a"), []byte("other")), tideline.CodeConflict, "ReplaceSecret with a stale old value")
		wantCode(t, s.ReplaceSecret(t.Context(), "none", nil, []byte("x")), tideline.CodeNotFound, "ReplaceSecret of an absent secret")
		if got, _ := s.Secret(t.Context(), "a", []byte("candidate")); string(got) != "sealed-a" {
			t.Fatalf("Secret after ReplaceSecret = %q", got)
		}
	})

	t.Run("KeptAcrossReopen", func(t *testing.T) {
		loc := h.NewLocation(t)
		e, err := h.Open(t.Context(), loc, tideline.NewManualClock(Epoch))
		must(t, err, "Open")
		_, err = e.Secrets().Secret(t.Context(), "kept", []byte("one"))
		must(t, err, "Secret")
		must(t, e.Close(), "Close")
		got, err := open(t, h, loc, tideline.NewManualClock(Epoch)).Secrets().Secret(t.Context(), "kept", []byte("two"))
		must(t, err, "Secret after reopening")
		if string(got) != "one" {
			t.Fatalf("after reopening, Secret = %q, want the first value", got)
		}
	})
}
