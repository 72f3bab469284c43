//go:build go1.21

// From Go 1.21 the handler implements the standard library's log/slog.

package sondeslog

import (
	"context"
	"log/slog"
	"runtime"
)

type attr = slog.Attr

const (
	kindString   = slog.KindString
	kindInt64    = slog.KindInt64
	kindUint64   = slog.KindUint64
	kindFloat64  = slog.KindFloat64
	kindBool     = slog.KindBool
	kindDuration = slog.KindDuration
	kindTime     = slog.KindTime
	kindGroup    = slog.KindGroup
)

var _ slog.Handler = (*Handler)(nil)

// Enabled reports whether the sonde Logger writes records of level l.
func (h *Handler) Enabled(_ context.Context, l slog.Level) bool { return h.enabled(int(l)) }

// Handle writes r through the sonde Logger, with the trace context of ctx
// if it carries one (sonde.NewContext).
func (h *Handler) Handle(ctx context.Context, r slog.Record) error {
	file, line := "", 0
	if h.opts.AddSource && r.PC != 0 {
		f, _ := runtime.CallersFrames([]uintptr{r.PC}).Next()
		file, line = f.File, f.Line
	}
	return h.handle(ctx, int(r.Level), r.Message, file, line, func(f func(slog.Attr)) {
		r.Attrs(func(a slog.Attr) bool { f(a); return true })
	})
}

// WithAttrs returns a handler whose records all carry as.
func (h *Handler) WithAttrs(as []slog.Attr) slog.Handler { return h.withAttrs(as) }

// WithGroup returns a handler that puts later attributes under name.
func (h *Handler) WithGroup(name string) slog.Handler { return h.withGroup(name) }
