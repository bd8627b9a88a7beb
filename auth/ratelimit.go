package auth

import (
	"context"
	"fmt"
	"log/slog"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/tideline-dev/tideline"
	"golang.org/x/time/rate"
)

// Rate is a limit of Burst requests per Per. In this process's memory it is a token bucket:
// Burst requests at once, refilled at Burst per Per. A RateStore may count it another way
// (the MongoDB engine's counts Burst per fixed window of Per). The zero Rate means no limit.
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

// RateStore counts requests against rate limits in storage that every node of a deployment
// shares, so that N nodes allow a limit once, not N times. The MongoDB engine implements it
// (store/mongo.RateStore). Without one the limits are token buckets in this process's
// memory, which is right for the embedded engine: one process owns its data.
type RateStore interface {
	// Take counts n requests for key against r at now, and reports whether they are within
	// the limit; when they are not, wait (> 0) is how long until one would be. n is 1 to
	// count a request, 0 to ask, counting nothing, whether one more would be allowed now,
	// or -1 to give back a request that Take counted (and allowed) at now: the caller
	// reserved it and it turned out not to count, such as a sign-in whose password was
	// right (ok is then true). Refused requests may be counted too: they never make a
	// later wait longer than r.Per.
	// key is any string (limit name, then an IP or an email as a client sent it): the store
	// keeps it safely whatever it holds. r has Burst > 0 and Per > 0. Errors are the
	// engine's (unavailable, internal); the limiter then counts in memory instead.
	Take(ctx context.Context, key string, r Rate, now time.Time, n int) (ok bool, wait time.Duration, err error)
}

// maxLimiterKeys bounds the memory of one limiter: past it, buckets that are full again
// (their client has been quiet) are dropped.
const maxLimiterKeys = 100_000

// storeWarnEvery is how often at most a limiter logs that its RateStore fails.
const storeWarnEvery = time.Minute

// limiter is one limit (Limits.Login, ...). It counts in its RateStore when it has one, and
// keeps one token bucket per key in this process's memory otherwise, and whenever the store
// fails: a store error neither locks anyone out nor lifts the limit, it makes it per node
// for as long as it lasts (logged at most once a storeWarnEvery).
type limiter struct {
	name   string // prefixes the store's keys: the limits that share a key ("ip:...") count apart
	rate   Rate
	clock  tideline.Clock
	store  RateStore // nil: memory only
	log    *slog.Logger
	warned atomic.Int64 // when a store failure was last logged, unix nanoseconds
	mu     sync.Mutex
	keys   map[string]*rate.Limiter
}

func newLimiter(name string, r Rate, clock tideline.Clock, store RateStore, log *slog.Logger) *limiter {
	return &limiter{name: name, rate: r, clock: clock, store: store, log: log, keys: map[string]*rate.Limiter{}}
}

// take counts one request for key, or returns a rate_limited error that says when to retry.
func (l *limiter) take(ctx context.Context, key, what string) error {
	if l.rate.Burst == 0 {
		return nil
	}
	now := l.clock.Now()
	if ok, err := l.fromStore(ctx, key, what, now, 1); ok {
		return err
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	r := l.bucket(key, now).ReserveN(now, 1)
	if delay := r.DelayFrom(now); delay > 0 {
		r.CancelAt(now)
		return l.limited(what, delay)
	}
	return nil
}

// bucket returns key's token bucket in memory, making it when there is none. l.mu is held.
func (l *limiter) bucket(key string, now time.Time) *rate.Limiter {
	lim, ok := l.keys[key]
	if !ok {
		if len(l.keys) >= maxLimiterKeys {
			l.prune(now)
		}
		lim = rate.NewLimiter(rate.Every(l.rate.Per/time.Duration(l.rate.Burst)), l.rate.Burst)
		l.keys[key] = lim
	}
	return lim
}

// fromStore asks the RateStore and returns its answer as take and blocked do; answered is
// false when there is no store or it failed, and the caller then counts in memory.
func (l *limiter) fromStore(ctx context.Context, key, what string, now time.Time, n int) (answered bool, err error) {
	if l.store == nil || l.rate.Per <= 0 {
		return false, nil
	}
	ok, wait, err := l.store.Take(ctx, l.name+":"+key, l.rate, now, n)
	switch {
	case err != nil:
		l.storeFailed(ctx, err, now)
		return false, nil
	case !ok:
		return true, l.limited(what, wait)
	}
	return true, nil
}

// storeFailed logs a store failure, at most once a storeWarnEvery, and not when the
// request was canceled (the client is gone: nothing is wrong with the store).
func (l *limiter) storeFailed(ctx context.Context, err error, now time.Time) {
	if ctx.Err() != nil {
		return
	}
	last := l.warned.Load()
	if now.UnixNano()-last < int64(storeWarnEvery) || !l.warned.CompareAndSwap(last, now.UnixNano()) {
		return
	}
	l.log.WarnContext(ctx, "the shared rate limit store failed: this node limits on its own until it answers",
		"limit", l.name, "err", err.Error())
}

// limited is the rate_limited error for too many what, retryable after delay; it names the
// limit's setting (auth.limits.<name>).
func (l *limiter) limited(what string, delay time.Duration) error {
	return tideline.Limited("Too many "+what+"; try again later.", delay, "auth.limits."+l.name)
}

// reserve counts one request for key before the caller knows whether it counts, or returns
// a rate_limited error that says when to retry. The caller calls release when it turns out
// not to count (the password was right): the count is given back. Reserving before the
// work, atomically, is what bounds concurrent attempts: of N requests racing, only the
// limit's worth get past reserve, whatever their interleaving and on however many nodes
// (with a RateStore).
func (l *limiter) reserve(ctx context.Context, key, what string) (release func(), err error) {
	if l.rate.Burst == 0 {
		return func() {}, nil
	}
	now := l.clock.Now()
	if ok, err := l.fromStore(ctx, key, what, now, 1); ok {
		if err != nil {
			return nil, err
		}
		return func() {
			ctx := context.WithoutCancel(ctx)
			if _, _, err := l.store.Take(ctx, l.name+":"+key, l.rate, now, -1); err != nil {
				l.storeFailed(ctx, err, l.clock.Now())
			}
		}, nil
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	r := l.bucket(key, now).ReserveN(now, 1)
	if delay := r.DelayFrom(now); delay > 0 {
		r.CancelAt(now)
		return nil, l.limited(what, delay)
	}
	return func() {
		l.mu.Lock()
		defer l.mu.Unlock()
		r.CancelAt(l.clock.Now())
	}, nil
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
