package auth

import (
	"fmt"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/tideline-dev/tideline"
	"golang.org/x/time/rate"
)

// Rate is a token bucket: Burst requests at once, refilled at Burst per Per. The zero Rate
// means no limit.
type Rate struct {
	Burst int
	Per   time.Duration
}

// ParseRate reads a rate written "N/duration", such as "20/1m" (20 at once, 20 a minute),
// or "off" for no limit.
func ParseRate(s string) (Rate, error) {
	if s == "off" {
		return Rate{}, nil
	}
	n, per, ok := strings.Cut(s, "/")
	burst, err := strconv.Atoi(n)
	if !ok || err != nil || burst < 1 {
		return Rate{}, fmt.Errorf("%q is not a rate such as 20/1m or off", s)
	}
	d, err := time.ParseDuration(per)
	if err != nil || d <= 0 {
		return Rate{}, fmt.Errorf("%q is not a rate such as 20/1m or off", s)
	}
	return Rate{Burst: burst, Per: d}, nil
}

func (r Rate) String() string {
	if r.Burst == 0 {
		return "off"
	}
	return fmt.Sprintf("%d/%s", r.Burst, r.Per)
}

// Limits are the rate limits of the auth endpoints. Limits per account are keyed by the
// email as sent (normalised), whether or not an account has it, so they reveal nothing.
type Limits struct {
	Signup        Rate // sign-ups and anonymous sign-ins, per IP
	Login         Rate // login attempts, per IP
	LoginFailures Rate // failed logins, per account: refills, so it never locks anyone out for good
	Refresh       Rate // refreshes and token exchanges, per IP
	Email         Rate // emails sent (reset, verification), per IP and per account
}

// DefaultLimits are the limits unless configured otherwise.
var DefaultLimits = Limits{
	Signup:        Rate{Burst: 10, Per: time.Hour},
	Login:         Rate{Burst: 30, Per: time.Minute},
	LoginFailures: Rate{Burst: 10, Per: 15 * time.Minute},
	Refresh:       Rate{Burst: 60, Per: time.Minute},
	Email:         Rate{Burst: 5, Per: time.Hour},
}

// maxLimiterKeys bounds the memory of one limiter: past it, buckets that are full again
// (their client has been quiet) are dropped.
const maxLimiterKeys = 100_000

// limiter keeps one token bucket per key, in this process's memory.
type limiter struct {
	rate  Rate
	clock tideline.Clock
	mu    sync.Mutex
	keys  map[string]*rate.Limiter
}

func newLimiter(r Rate, clock tideline.Clock) *limiter {
	return &limiter{rate: r, clock: clock, keys: map[string]*rate.Limiter{}}
}

// take takes one token from key's bucket, or returns a rate_limited error that says when
// to retry.
func (l *limiter) take(key, what string) error {
	if l.rate.Burst == 0 {
		return nil
	}
	now := l.clock.Now()
	l.mu.Lock()
	defer l.mu.Unlock()
	lim, ok := l.keys[key]
	if !ok {
		if len(l.keys) >= maxLimiterKeys {
			l.prune(now)
		}
		lim = rate.NewLimiter(rate.Every(l.rate.Per/time.Duration(l.rate.Burst)), l.rate.Burst)
		l.keys[key] = lim
	}
	r := lim.ReserveN(now, 1)
	if delay := r.DelayFrom(now); delay > 0 {
		r.CancelAt(now)
		return limited(what, delay)
	}
	return nil
}

// limited is the rate_limited error for too many what, retryable after delay.
func limited(what string, delay time.Duration) error {
	return &tideline.Error{Code: tideline.CodeRateLimited, Message: "Too many " + what + "; try again later.", Err: retryAfter(delay)}
}

// blocked reports, without taking a token, whether key's bucket is empty now; the error
// says when to retry. It lets a caller count only failures yet refuse at once when they
// are spent.
func (l *limiter) blocked(key, what string) error {
	if l.rate.Burst == 0 {
		return nil
	}
	now := l.clock.Now()
	l.mu.Lock()
	defer l.mu.Unlock()
	lim, ok := l.keys[key]
	if !ok || lim.TokensAt(now) >= 1 {
		return nil
	}
	r := lim.ReserveN(now, 1)
	delay := r.DelayFrom(now)
	r.CancelAt(now)
	return limited(what, delay)
}

// prune drops full buckets; if none is full, it starts over (clients get a fresh bucket,
// which is the lesser harm than unbounded memory).
func (l *limiter) prune(now time.Time) {
	for k, lim := range l.keys {
		if lim.TokensAt(now) >= float64(l.rate.Burst) {
			delete(l.keys, k)
		}
	}
	if len(l.keys) >= maxLimiterKeys {
		l.keys = map[string]*rate.Limiter{}
	}
}

// retryAfter is the cause of a rate_limited error: how long until a retry can succeed.
// httpapi sends it as the Retry-After header.
type retryAfter time.Duration

func (r retryAfter) Error() string             { return "rate limited for " + time.Duration(r).String() }
func (r retryAfter) RetryAfter() time.Duration { return time.Duration(r) }
