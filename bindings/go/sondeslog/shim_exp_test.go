//go:build !go1.21

package sondeslog_test

import (
	"context"

	"github.com/sonde-sdk/sonde/bindings/go/sondeslog"
	"golang.org/x/exp/slog"
)

// The tests are written once over these few names, which differ between
// golang.org/x/exp/slog and log/slog.

type attr = slog.Attr

const (
	levelDebug = int(slog.DebugLevel)
	levelInfo  = int(slog.InfoLevel)
	levelWarn  = int(slog.WarnLevel)
	levelError = int(slog.ErrorLevel)
)

func newSlog(h slog.Handler) slog.Logger { return slog.New(h) }

func logAttrs(ctx context.Context, l slog.Logger, lv int, msg string, as ...slog.Attr) {
	l.WithContext(ctx).LogAttrs(slog.Level(lv), msg, as...)
}

func enabled(h *sondeslog.Handler, lv int) bool { return h.Enabled(slog.Level(lv)) }

var (
	attrString   = slog.String
	attrInt      = slog.Int64
	attrUint     = slog.Uint64
	attrFloat    = slog.Float64
	attrBool     = slog.Bool
	attrDuration = slog.Duration
	attrTime     = slog.Time
	attrAny      = slog.Any
	attrGroup    = slog.Group
)
