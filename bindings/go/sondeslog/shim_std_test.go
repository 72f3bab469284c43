//go:build go1.21

package sondeslog_test

import (
	"context"
	"log/slog"

	"github.com/sonde-sdk/sonde/bindings/go/sondeslog"
)

// The tests are written once over these few names, which differ between
// golang.org/x/exp/slog and log/slog.

type attr = slog.Attr

const (
	levelDebug = int(slog.LevelDebug)
	levelInfo  = int(slog.LevelInfo)
	levelWarn  = int(slog.LevelWarn)
	levelError = int(slog.LevelError)
)

func newSlog(h slog.Handler) *slog.Logger { return slog.New(h) }

func logAttrs(ctx context.Context, l *slog.Logger, lv int, msg string, as ...slog.Attr) {
	l.LogAttrs(ctx, slog.Level(lv), msg, as...)
}

func enabled(h *sondeslog.Handler, lv int) bool {
	return h.Enabled(context.Background(), slog.Level(lv))
}

func attrGroup(key string, as ...slog.Attr) slog.Attr {
	args := make([]any, len(as))
	for i, a := range as {
		args[i] = a
	}
	return slog.Group(key, args...)
}

var (
	attrString   = slog.String
	attrInt      = slog.Int64
	attrUint     = slog.Uint64
	attrFloat    = slog.Float64
	attrBool     = slog.Bool
	attrDuration = slog.Duration
	attrTime     = slog.Time
	attrAny      = slog.Any
)
