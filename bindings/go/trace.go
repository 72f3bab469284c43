package sonde

/*
#include <stdlib.h>
#include <string.h>
#include <sonde.h>

static size_t sgo_span_size(void) { return sizeof(sonde_span); }
*/
import "C"

import (
	"context"
	"encoding/hex"
	"runtime"
	"unsafe"
)

// Trace flags.
const (
	FlagSampled = 0x01
	FlagRandom  = 0x02
)

// SpanContext is a plain copy of a sonde_span_context: safe to pass
// between goroutines.
type SpanContext struct {
	TraceID       [16]byte
	SpanID        [8]byte
	Flags         uint8
	Remote        bool
	CorrelationID string
}

func fromC(c *C.sonde_span_context) SpanContext {
	var s SpanContext
	if c == nil {
		return s
	}
	C.memcpy(unsafe.Pointer(&s.TraceID[0]), unsafe.Pointer(&c.trace_id[0]), 16)
	C.memcpy(unsafe.Pointer(&s.SpanID[0]), unsafe.Pointer(&c.span_id[0]), 8)
	s.Flags = uint8(c.trace_flags)
	s.Remote = c.is_remote != 0
	s.CorrelationID = C.GoStringN(&c.correlation_id[0], C.int(c.correlation_len))
	return s
}

func (s *SpanContext) toC(c *C.sonde_span_context) {
	C.memset(unsafe.Pointer(c), 0, C.sizeof_sonde_span_context)
	C.memcpy(unsafe.Pointer(&c.trace_id[0]), unsafe.Pointer(&s.TraceID[0]), 16)
	C.memcpy(unsafe.Pointer(&c.span_id[0]), unsafe.Pointer(&s.SpanID[0]), 8)
	c.trace_flags = C.uint8_t(s.Flags)
	if s.Remote {
		c.is_remote = 1
	}
	n := len(s.CorrelationID)
	if n > C.SONDE_CORRELATION_ID_MAX {
		n = C.SONDE_CORRELATION_ID_MAX
	}
	for i := 0; i < n; i++ {
		c.correlation_id[i] = C.char(s.CorrelationID[i])
	}
	c.correlation_len = C.uint8_t(n)
}

// Valid reports whether the context holds a trace.
func (s SpanContext) Valid() bool { return s.TraceID != [16]byte{} }

// Sampled reports the sampled flag.
func (s SpanContext) Sampled() bool { return s.Flags&FlagSampled != 0 }

func (s SpanContext) TraceIDHex() string { return hex.EncodeToString(s.TraceID[:]) }
func (s SpanContext) SpanIDHex() string  { return hex.EncodeToString(s.SpanID[:]) }

// Traceparent formats the header for an outgoing request in this context.
func (s SpanContext) Traceparent() (string, error) {
	var c C.sonde_span_context
	s.toC(&c)
	var out [C.SONDE_TRACEPARENT_BUFSZ]C.char
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	n := C.sonde_span_context_format_traceparent(&c, &out[0], C.SONDE_TRACEPARENT_BUFSZ)
	if n == 0 {
		return "", lastError(0)
	}
	return C.GoStringN(&out[0], C.int(n)), nil
}

// CurrentContext is the calling thread's current context. Goroutines move
// between threads: it is meaningful inside a span of this goroutine (which
// locks it to its thread) or under WithContext.
func CurrentContext() SpanContext { return fromC(C.sonde_context_current()) }

// WithContext runs fn with ctx as the current context of the thread it
// runs on (the goroutine is locked to it for the call).
func WithContext(ctx SpanContext, fn func()) error {
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	scope := (*C.sonde_context_scope)(C.calloc(1, C.sizeof_sonde_context_scope))
	defer C.free(unsafe.Pointer(scope))
	c := (*C.sonde_span_context)(C.calloc(1, C.sizeof_sonde_span_context))
	defer C.free(unsafe.Pointer(c))
	ctx.toC(c)
	C.sonde_context_attach(scope, c)
	defer func() {
		C.sonde_context_detach(scope)
	}()
	fn()
	return nil
}

// Traceparent is a parsed traceparent header.
type Traceparent struct {
	Version  uint8
	Flags    uint8
	TraceID  [16]byte
	ParentID [8]byte
}

// ParseTraceparent parses per W3C Trace Context (ErrInvalid otherwise,
// with sonde's reason).
func ParseTraceparent(s string) (Traceparent, error) {
	var tp C.sonde_traceparent
	var out Traceparent
	b := []byte(s + "\x00")
	err := lockedStatus(func() C.int {
		return C.sonde_traceparent_parse((*C.char)(unsafe.Pointer(&b[0])), C.size_t(len(s)), &tp)
	})
	if err != nil {
		return out, err
	}
	out.Version, out.Flags = uint8(tp.version), uint8(tp.flags)
	C.memcpy(unsafe.Pointer(&out.TraceID[0]), unsafe.Pointer(&tp.trace_id[0]), 16)
	C.memcpy(unsafe.Pointer(&out.ParentID[0]), unsafe.Pointer(&tp.parent_id[0]), 8)
	return out, nil
}

// String formats the header (version 00, unknown flag bits cleared).
func (t Traceparent) Format() (string, error) {
	var tp C.sonde_traceparent
	tp.version, tp.flags = C.uint8_t(t.Version), C.uint8_t(t.Flags)
	C.memcpy(unsafe.Pointer(&tp.trace_id[0]), unsafe.Pointer(&t.TraceID[0]), 16)
	C.memcpy(unsafe.Pointer(&tp.parent_id[0]), unsafe.Pointer(&t.ParentID[0]), 8)
	var out [C.SONDE_TRACEPARENT_BUFSZ]C.char
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	n := C.sonde_traceparent_format(&tp, &out[0], C.SONDE_TRACEPARENT_BUFSZ)
	if n == 0 {
		return "", lastError(0)
	}
	return C.GoStringN(&out[0], C.int(n)), nil
}

// Context is the remote parent context the header describes.
func (t Traceparent) Context() SpanContext {
	return SpanContext{TraceID: t.TraceID, SpanID: t.ParentID, Flags: t.Flags & 0x03, Remote: true}
}

// ---- tracestate and baggage --------------------------------------------------------

// TraceState is a W3C tracestate list (C memory; call Close).
type TraceState struct{ p *C.sonde_tracestate }

func NewTraceState() (*TraceState, error) {
	p, err := lockedPtr(func() unsafe.Pointer { return unsafe.Pointer(C.sonde_tracestate_new()) })
	if err != nil {
		return nil, err
	}
	return &TraceState{(*C.sonde_tracestate)(p)}, nil
}

func (t *TraceState) Close() {
	if t != nil && t.p != nil {
		C.sonde_tracestate_free(t.p)
		t.p = nil
	}
}

func bytesArg(s string) (*C.char, C.size_t, []byte) {
	b := []byte(s + "\x00")
	return (*C.char)(unsafe.Pointer(&b[0])), C.size_t(len(s)), b
}

func (t *TraceState) Parse(header string) error {
	p, n, keep := bytesArg(header)
	defer runtime.KeepAlive(keep)
	return lockedStatus(func() C.int { return C.sonde_tracestate_parse(t.cp(), p, n) })
}

func (t *TraceState) cp() *C.sonde_tracestate {
	if t == nil {
		return nil
	}
	return t.p
}

// Set adds or updates key and moves it to the front.
func (t *TraceState) Set(key, value string) error {
	k, kn, kk := bytesArg(key)
	v, vn, vk := bytesArg(value)
	defer runtime.KeepAlive(kk)
	defer runtime.KeepAlive(vk)
	return lockedStatus(func() C.int { return C.sonde_tracestate_set(t.cp(), k, kn, v, vn) })
}

func (t *TraceState) Get(key string) (string, bool) {
	k, kn, kk := bytesArg(key)
	defer runtime.KeepAlive(kk)
	var v *C.char
	var vn C.size_t
	if !C.sonde_tracestate_get(t.cp(), k, kn, &v, &vn) {
		return "", false
	}
	return C.GoStringN(v, C.int(vn)), true
}

func (t *TraceState) Delete(key string) error {
	k, kn, kk := bytesArg(key)
	defer runtime.KeepAlive(kk)
	return lockedStatus(func() C.int { return C.sonde_tracestate_remove(t.cp(), k, kn) })
}

func (t *TraceState) Len() int { return int(C.sonde_tracestate_count(t.cp())) }

// String formats "k1=v1,k2=v2" (truncated to 512 characters as the spec says).
func (t *TraceState) String() string {
	var out [4096]C.char
	n := C.sonde_tracestate_format(t.cp(), 0, &out[0], 4096)
	return C.GoStringN(&out[0], C.int(n))
}

// Baggage is a W3C baggage list (C memory; call Close).
type Baggage struct{ p *C.sonde_baggage }

func NewBaggage() (*Baggage, error) {
	p, err := lockedPtr(func() unsafe.Pointer { return unsafe.Pointer(C.sonde_baggage_new()) })
	if err != nil {
		return nil, err
	}
	return &Baggage{(*C.sonde_baggage)(p)}, nil
}

func (b *Baggage) Close() {
	if b != nil && b.p != nil {
		C.sonde_baggage_free(b.p)
		b.p = nil
	}
}

func (b *Baggage) cp() *C.sonde_baggage {
	if b == nil {
		return nil
	}
	return b.p
}

func (b *Baggage) Parse(header string) error {
	p, n, keep := bytesArg(header)
	defer runtime.KeepAlive(keep)
	return lockedStatus(func() C.int { return C.sonde_baggage_parse(b.cp(), p, n) })
}

// Set sets key to value (any bytes), with properties in header syntax ("" for none).
func (b *Baggage) Set(key, value, properties string) error {
	k, kn, kk := bytesArg(key)
	v, vn, vk := bytesArg(value)
	p, pn, pk := bytesArg(properties)
	defer runtime.KeepAlive(kk)
	defer runtime.KeepAlive(vk)
	defer runtime.KeepAlive(pk)
	return lockedStatus(func() C.int { return C.sonde_baggage_set(b.cp(), k, kn, v, vn, p, pn) })
}

func (b *Baggage) Get(key string) (string, bool) {
	k, kn, kk := bytesArg(key)
	defer runtime.KeepAlive(kk)
	var v *C.char
	var vn C.size_t
	if !C.sonde_baggage_get(b.cp(), k, kn, &v, &vn) {
		return "", false
	}
	return C.GoStringN(v, C.int(vn)), true
}

func (b *Baggage) Len() int { return int(C.sonde_baggage_count(b.cp())) }

func (b *Baggage) String() string {
	var buf C.sonde_buf
	if C.sonde_baggage_format(b.cp(), &buf) != 0 {
		C.sonde_buf_destroy(&buf)
		return ""
	}
	return string(takeBuf(&buf))
}

// ---- spans --------------------------------------------------------------------------

// Span is a sonde span in C memory. StartSpan locks the goroutine to its
// OS thread until End (sonde's current context is per thread); always
// end it in the goroutine that started it: `defer span.End()`.
type Span struct {
	p    *C.sonde_span
	name *C.char
	keep []*C.char // attribute keys and values: must outlive the span
}

// StartSpan starts a child of the current context (or a new trace) and
// makes it current on this goroutine's (now locked) thread.
func StartSpan(name string) *Span {
	runtime.LockOSThread()
	s := &Span{p: (*C.sonde_span)(C.calloc(1, C.sgo_span_size())), name: C.CString(name)}
	C.sonde_span_start(s.p, s.name)
	return s
}

// StartSpanChildOf starts a span with an explicit parent (for example a
// context received from another goroutine or from Extract).
func StartSpanChildOf(name string, parent SpanContext) *Span {
	runtime.LockOSThread()
	s := &Span{p: (*C.sonde_span)(C.calloc(1, C.sgo_span_size())), name: C.CString(name)}
	var c C.sonde_span_context
	parent.toC(&c)
	C.sonde_span_start_child_of(s.p, s.name, &c)
	return s
}

// End ends the span, restores the previous context and unlocks the
// thread. Ending twice or a nil span does nothing.
func (s *Span) End() {
	if s == nil || s.p == nil {
		return
	}
	C.sonde_span_end(s.p)
	C.free(unsafe.Pointer(s.p))
	s.p = nil
	freeAll(s.name)
	freeAll(s.keep...)
	s.keep = nil
	runtime.UnlockOSThread()
}

func (s *Span) cstr(v string) *C.char {
	p := C.CString(v)
	s.keep = append(s.keep, p)
	return p
}

// SetAttribute records key=value: string, bool, integer or float values,
// or a []string, []int, []int64, []float64 or []bool (an OpenTelemetry
// array); anything else is dropped and reported as ErrInvalid.
func (s *Span) SetAttribute(key string, value interface{}) error {
	if s == nil || s.p == nil {
		return newError(-9, "sonde: span not started or already ended")
	}
	k := s.cstr(key)
	switch v := value.(type) {
	case string:
		C.sonde_span_set_str(s.p, k, s.cstr(v))
	case bool:
		C.sonde_span_set_bool(s.p, k, C.bool(v))
	case int:
		C.sonde_span_set_int(s.p, k, C.int64_t(v))
	case int64:
		C.sonde_span_set_int(s.p, k, C.int64_t(v))
	case int32:
		C.sonde_span_set_int(s.p, k, C.int64_t(v))
	case uint32:
		C.sonde_span_set_int(s.p, k, C.int64_t(v))
	case float64:
		C.sonde_span_set_double(s.p, k, C.double(v))
	case float32:
		C.sonde_span_set_double(s.p, k, C.double(v))
	default:
		if ok, err := s.setArray(k, value); ok || err != nil {
			return err
		}
		return fmtErr("sonde: attribute %q: unsupported type %T", key, value)
	}
	return nil
}

// SetError marks the span failed with msg.
func (s *Span) SetError(msg string) {
	if s != nil && s.p != nil {
		C.sonde_span_set_error(s.p, s.cstr(msg))
	}
}

// SetOK marks the span successful (an earlier error is kept).
func (s *Span) SetOK() {
	if s != nil && s.p != nil {
		C.sonde_span_set_status(s.p, C.SONDE_SPAN_STATUS_OK, nil)
	}
}

// Context is the span's context (copy it to other goroutines freely).
func (s *Span) Context() SpanContext {
	if s == nil || s.p == nil {
		return SpanContext{}
	}
	return fromC(C.sonde_span_get_context(s.p))
}

// ParentSpanID is all zero for a root span.
func (s *Span) ParentSpanID() [8]byte {
	var out [8]byte
	if s != nil && s.p != nil {
		C.memcpy(unsafe.Pointer(&out[0]), unsafe.Pointer(&s.p.parent_span_id[0]), 8)
	}
	return out
}

// SetSamplerRatio sets the process-wide root sampler ratio.
func SetSamplerRatio(r float64) { C.sonde_trace_set_sampler_ratio(C.double(r)) }

// EnableSpanMetrics observes every span's duration in metric{name=...}
// (metric "" = span_duration_seconds) in r.
func EnableSpanMetrics(r *Registry, metric string) error {
	m := cstrOrNil(metric)
	defer freeAll(m)
	return lockedStatus(func() C.int { return C.sonde_trace_enable_span_metrics(r.cp(), m) })
}

// DisableSpanMetrics turns the span histogram off.
func DisableSpanMetrics() { _ = C.sonde_trace_set_span_histogram(nil) }

type ctxKey struct{}

// NewContext returns a context.Context carrying sc, and FromContext reads
// it back: the Go way to hand a trace to other goroutines.
func NewContext(ctx context.Context, sc SpanContext) context.Context {
	return context.WithValue(ctx, ctxKey{}, sc)
}

func FromContext(ctx context.Context) (SpanContext, bool) {
	sc, ok := ctx.Value(ctxKey{}).(SpanContext)
	return sc, ok
}
