//go:build !go1.21

// Before Go 1.21 the handler implements golang.org/x/exp/slog (the
// 2022-10 API Debian 12 ships: Enabled(Level), Handle(Record)).

package sondeslog

import "golang.org/x/exp/slog"

type attr = slog.Attr

const (
	kindString   = slog.StringKind
	kindInt64    = slog.Int64Kind
	kindUint64   = slog.Uint64Kind
	kindFloat64  = slog.Float64Kind
	kindBool     = slog.BoolKind
	kindDuration = slog.DurationKind
	kindTime     = slog.TimeKind
	kindGroup    = slog.GroupKind
)

var _ slog.Handler = (*Handler)(nil)

// Enabled reports whether the sonde Logger writes records of level l.
func (h *Handler) Enabled(l slog.Level) bool { return h.enabled(int(l)) }

// Handle writes r through the sonde Logger, with the trace context of
// r.Context if it carries one (sonde.NewContext).
func (h *Handler) Handle(r slog.Record) error {
	file, line := "", 0
	if h.opts.AddSource {
		file, line = r.SourceLine()
	}
	return h.handle(r.Context, int(r.Level), r.Message, file, line, r.Attrs)
}

// WithAttrs returns a handler whose records all carry as.
func (h *Handler) WithAttrs(as []slog.Attr) slog.Handler { return h.withAttrs(as) }

// WithGroup returns a handler that puts later attributes under name.
func (h *Handler) WithGroup(name string) slog.Handler { return h.withGroup(name) }
