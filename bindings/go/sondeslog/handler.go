// Package sondeslog is a structured-logging (slog) handler that writes
// through a sonde Logger: the records of log/slog (Go 1.21 and later) or of
// golang.org/x/exp/slog (older Go) land in sonde's per-thread rings and are
// formatted by sonde's backend thread with its sinks, profiles and trace
// context, beside the records of the C code and of the other bindings.
//
//	lg, _ := sonde.NewLogger(sonde.LoggerOpts{Name: "api", Sinks: ...})
//	log := slog.New(sondeslog.New(lg, nil))
//	log.Info("order placed", "order_id", 42, slog.Group("user", "id", 7))
//
// Attributes become sonde fields: strings, integers, floats and booleans
// keep their type; a time.Duration is written as integer nanoseconds and a
// time.Time as RFC 3339 text (as slog's JSONHandler does); errors, Stringers
// and other values as their text. Groups flatten to dotted keys
// ("user.id"). Levels map by range: below Debug to trace, Debug to debug,
// Info to info, Warn to warn, Error to error, and Error+4 and above to fatal
// (which only labels the record: sonde never exits). A trace context
// carried by the record's context.Context (sonde.NewContext) is stamped on
// the record; without one, the thread's current sonde context is used.
//
// sonde writes at most 15 fields a record with unique keys: a key given
// twice keeps its last value, and past 15 fields the first 14 are written
// plus "sonde.dropped_fields" with the count of the others, so a record is
// never lost for its shape. sonde interns each (level, keys, types) shape
// of record once, so keep attribute keys out of the dynamic data.
package sondeslog

import (
	"context"
	"fmt"
	"strconv"
	"time"

	sonde "github.com/sonde-sdk/sonde/bindings/go"
)

// Options configures a Handler.
type Options struct {
	// AddSource adds a "source" field "file:line" of the logging call.
	AddSource bool
}

// Handler is a slog handler over a sonde Logger. It is safe for concurrent
// use; WithAttrs and WithGroup return new handlers sharing the Logger.
type Handler struct {
	lg     *sonde.Logger
	opts   Options
	prefix string        // open groups, as "a.b."
	attrs  []sonde.Field // from WithAttrs, already flattened
}

// maxFields is sonde's limit on the fields of one record.
const maxFields = 15

// New returns a handler writing through lg (nil opts: the defaults). It
// returns nil when lg is nil.
func New(lg *sonde.Logger, opts *Options) *Handler {
	if lg == nil {
		return nil
	}
	h := &Handler{lg: lg}
	if opts != nil {
		h.opts = *opts
	}
	return h
}

// level maps a slog level (an int: Debug -4, Info 0, Warn 4, Error 8) to
// sonde's.
func level(l int) sonde.Level {
	switch {
	case l < -4:
		return sonde.LevelTrace
	case l < 0:
		return sonde.LevelDebug
	case l < 4:
		return sonde.LevelInfo
	case l < 8:
		return sonde.LevelWarn
	case l < 12:
		return sonde.LevelError
	}
	return sonde.LevelFatal
}

func (h *Handler) enabled(l int) bool { return h.lg.Enabled(level(l)) }

// clone copies h with room for more attributes (the slice is never shared
// for appending).
func (h *Handler) clone() *Handler {
	c := *h
	c.attrs = append([]sonde.Field(nil), h.attrs...)
	return &c
}

func (h *Handler) withAttrs(as []attr) *Handler {
	if len(as) == 0 {
		return h
	}
	c := h.clone()
	for _, a := range as {
		c.attrs = appendAttr(c.attrs, c.prefix, a)
	}
	return c
}

func (h *Handler) withGroup(name string) *Handler {
	if name == "" {
		return h
	}
	c := h.clone()
	c.prefix += name + "."
	return c
}

// handle writes one record; each(f) calls f for each of its attributes.
func (h *Handler) handle(ctx context.Context, l int, msg string, file string, line int,
	each func(func(attr))) error {
	fields := append([]sonde.Field(nil), h.attrs...)
	if h.opts.AddSource && file != "" {
		fields = append(fields, sonde.String("source", file+":"+strconv.Itoa(line)))
	}
	each(func(a attr) { fields = appendAttr(fields, h.prefix, a) })
	fields = fit(fields)
	lv := level(l)
	if ctx != nil {
		if sc, ok := sonde.FromContext(ctx); ok && sc.Valid() {
			var err error
			if werr := sonde.WithContext(sc, func() { err = h.lg.LogErr(lv, msg, fields...) }); werr != nil {
				return werr
			}
			return err
		}
	}
	return h.lg.LogErr(lv, msg, fields...)
}

// fit makes fields acceptable to sonde: unique keys (the last value wins,
// in the place of the first) and at most maxFields of them.
func fit(fields []sonde.Field) []sonde.Field {
	if len(fields) > 1 {
		at := make(map[string]int, len(fields))
		out := fields[:0]
		for _, f := range fields {
			if i, ok := at[f.Key()]; ok {
				out[i] = f
				continue
			}
			at[f.Key()] = len(out)
			out = append(out, f)
		}
		fields = out
	}
	if len(fields) > maxFields {
		n := len(fields) - (maxFields - 1)
		fields = append(fields[:maxFields-1], sonde.Int("sonde.dropped_fields", n))
	}
	return fields
}

// appendAttr flattens a into fields under prefix, by slog's rules: an
// attribute with an empty key and no value is ignored, an empty group is
// ignored, and a group with an empty key inlines its members.
func appendAttr(fields []sonde.Field, prefix string, a attr) []sonde.Field {
	v := a.Value.Resolve()
	if a.Key == "" && v.Any() == nil {
		return fields
	}
	if v.Kind() == kindGroup {
		g := v.Group()
		if len(g) == 0 {
			return fields
		}
		p := prefix
		if a.Key != "" {
			p += a.Key + "."
		}
		for _, m := range g {
			fields = appendAttr(fields, p, m)
		}
		return fields
	}
	k := prefix + a.Key
	switch v.Kind() {
	case kindString:
		return append(fields, sonde.String(k, v.String()))
	case kindInt64:
		return append(fields, sonde.Int64(k, v.Int64()))
	case kindUint64:
		return append(fields, sonde.Uint64(k, v.Uint64()))
	case kindFloat64:
		return append(fields, sonde.Float64(k, v.Float64()))
	case kindBool:
		return append(fields, sonde.Bool(k, v.Bool()))
	case kindDuration:
		return append(fields, sonde.Int64(k, int64(v.Duration())))
	case kindTime:
		return append(fields, sonde.String(k, v.Time().Format(time.RFC3339Nano)))
	}
	switch x := v.Any().(type) {
	case nil:
		return append(fields, sonde.Null(k))
	case error:
		return append(fields, sonde.String(k, x.Error()))
	case fmt.Stringer:
		return append(fields, sonde.String(k, x.String()))
	case []byte:
		return append(fields, sonde.Bytes(k, x))
	default:
		return append(fields, sonde.String(k, fmt.Sprintf("%+v", x)))
	}
}
