package tideline

import (
	"context"
	"log/slog"
)

// A request's scope travels in its context.Context: the HTTP layer puts it there before
// any handler runs, and every feature, store and log record under the request sees it.
// (Who the caller is, auth.Principal, travels the same way: auth.WithPrincipal.)

type requestIDKey struct{}

// WithRequestID returns ctx carrying the request id id.
func WithRequestID(ctx context.Context, id string) context.Context {
	return context.WithValue(ctx, requestIDKey{}, id)
}

// RequestID returns the id of the request ctx belongs to, or "" outside a request.
func RequestID(ctx context.Context) string {
	id, _ := ctx.Value(requestIDKey{}).(string)
	return id
}

// LogHandler returns a slog.Handler that adds request_id to every record logged with the
// context of a request (slog's *Context methods), then hands it to next: the features
// log with their request's context, and every line of a request can be found by its id.
// A record that has a request_id already keeps its own.
func LogHandler(next slog.Handler) slog.Handler { return requestLogHandler{next} }

type requestLogHandler struct{ next slog.Handler }

func (h requestLogHandler) Enabled(ctx context.Context, l slog.Level) bool {
	return h.next.Enabled(ctx, l)
}

func (h requestLogHandler) Handle(ctx context.Context, r slog.Record) error {
	if id := RequestID(ctx); id != "" {
		has := false
		r.Attrs(func(a slog.Attr) bool {
			has = a.Key == "request_id"
			return !has
		})
		if !has {
			r = r.Clone()
			r.AddAttrs(slog.String("request_id", id))
		}
	}
	return h.next.Handle(ctx, r)
}

func (h requestLogHandler) WithAttrs(attrs []slog.Attr) slog.Handler {
	return requestLogHandler{h.next.WithAttrs(attrs)}
}

func (h requestLogHandler) WithGroup(name string) slog.Handler {
	return requestLogHandler{h.next.WithGroup(name)}
}
