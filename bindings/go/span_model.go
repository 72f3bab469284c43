package sonde

/*
#include <stdlib.h>
#include <string.h>
#include <sonde.h>

static void sgo_attr_set(sonde_span_attr *a, const char *k, int type, size_t n, const void *p,
                         int64_t i, double d, int b)
{
	a->key = k;
	a->type = (sonde_attr_type)type;
	a->str_len = n;
	switch (type) {
	case SONDE_ATTR_INT: a->v.i = i; break;
	case SONDE_ATTR_DOUBLE: a->v.d = d; break;
	case SONDE_ATTR_BOOL: a->v.b = b != 0; break;
	default: a->v.str = (const char *)p; break;
	}
}
static const char *sgo_attr_key(const sonde_span_attr *a) { return a->key; }
static int sgo_attr_type(const sonde_span_attr *a) { return (int)a->type; }
static size_t sgo_attr_n(const sonde_span_attr *a) { return a->str_len; }
static const char *sgo_attr_str(const sonde_span_attr *a) { return a->v.str; }
static int64_t sgo_attr_int(const sonde_span_attr *a) { return a->v.i; }
static double sgo_attr_dbl(const sonde_span_attr *a) { return a->v.d; }
static int sgo_attr_bool(const sonde_span_attr *a) { return a->v.b; }
static const char *sgo_attr_strs_at(const sonde_span_attr *a, size_t i)
{
	return a->v.strs[i] ? a->v.strs[i] : "";
}
static int64_t sgo_attr_ints_at(const sonde_span_attr *a, size_t i) { return a->v.ints[i]; }
static double sgo_attr_dbls_at(const sonde_span_attr *a, size_t i) { return a->v.dbls[i]; }
static int sgo_attr_bools_at(const sonde_span_attr *a, size_t i) { return a->v.bools[i]; }
static const sonde_span_attr *sgo_attr_at(const sonde_span_attr *a, size_t i) { return &a[i]; }
static const sonde_span_event *sgo_event_at(const sonde_span_event *e, size_t i) { return &e[i]; }
static const sonde_span_link *sgo_link_at(const sonde_span_link *l, size_t i) { return &l[i]; }
*/
import "C"

import (
	"errors"
	"fmt"
	"sort"
	"strings"
	"time"
	"unsafe"
)

// SpanKind is OpenTelemetry's span kind.
type SpanKind int

const (
	SpanKindInternal SpanKind = C.SONDE_SPAN_KIND_INTERNAL
	SpanKindServer   SpanKind = C.SONDE_SPAN_KIND_SERVER
	SpanKindClient   SpanKind = C.SONDE_SPAN_KIND_CLIENT
	SpanKindProducer SpanKind = C.SONDE_SPAN_KIND_PRODUCER
	SpanKindConsumer SpanKind = C.SONDE_SPAN_KIND_CONSUMER
)

// SetKind sets the span's kind (internal by default).
func (s *Span) SetKind(k SpanKind) {
	if s != nil && s.p != nil {
		C.sonde_span_set_kind(s.p, C.sonde_span_kind(k))
	}
}

// Kind is the span's kind.
func (s *Span) Kind() SpanKind {
	if s == nil || s.p == nil {
		return SpanKindInternal
	}
	return SpanKind(s.p.kind)
}

// setArray handles the array attribute values ([]string, []int, []int64,
// []float64, []bool); ok false for any other type.
func (s *Span) setArray(k *C.char, value interface{}) (bool, error) {
	switch v := value.(type) {
	case []string:
		arr := (*[1 << 20]*C.char)(s.calloc(len(v), int(unsafe.Sizeof((*C.char)(nil)))))
		for i, x := range v {
			arr[i] = s.cstr(x)
		}
		C.sonde_span_set_str_array(s.p, k, (**C.char)(unsafe.Pointer(arr)), C.size_t(len(v)))
	case []int:
		w := make([]int64, len(v))
		for i, x := range v {
			w[i] = int64(x)
		}
		return s.setArray(k, w)
	case []int64:
		arr := (*[1 << 20]C.int64_t)(s.calloc(len(v), 8))
		for i, x := range v {
			arr[i] = C.int64_t(x)
		}
		C.sonde_span_set_int_array(s.p, k, (*C.int64_t)(unsafe.Pointer(arr)), C.size_t(len(v)))
	case []float64:
		arr := (*[1 << 20]C.double)(s.calloc(len(v), 8))
		for i, x := range v {
			arr[i] = C.double(x)
		}
		C.sonde_span_set_double_array(s.p, k, (*C.double)(unsafe.Pointer(arr)), C.size_t(len(v)))
	case []bool:
		arr := (*[1 << 20]C.bool)(s.calloc(len(v), 1))
		for i, x := range v {
			arr[i] = C.bool(x)
		}
		C.sonde_span_set_bool_array(s.p, k, (*C.bool)(unsafe.Pointer(arr)), C.size_t(len(v)))
	default:
		return false, nil
	}
	return true, nil
}

// calloc is C memory kept until End (the inline attributes point at it).
func (s *Span) calloc(n, size int) unsafe.Pointer {
	if n == 0 {
		n = 1
	}
	p := C.calloc(C.size_t(n), C.size_t(size))
	s.keep = append(s.keep, (*C.char)(p))
	return p
}

// attrArray lays attrs out as C sonde_span_attr in mem (keys sorted, so the
// same map gives the same order); sonde copies event and link attributes
// during the call, so mem is freed after it.
func attrArray(mem *cmem, attrs map[string]interface{}) (*C.sonde_span_attr, C.size_t, error) {
	if len(attrs) == 0 {
		return nil, 0, nil
	}
	cs := mem.str
	keys := make([]string, 0, len(attrs))
	for k := range attrs {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	arr := (*C.sonde_span_attr)(mem.calloc(len(keys), C.sizeof_sonde_span_attr))
	for i, k := range keys {
		a := (*C.sonde_span_attr)(unsafe.Pointer(uintptr(unsafe.Pointer(arr)) + uintptr(i)*C.sizeof_sonde_span_attr))
		ck := cs(k)
		switch v := attrs[k].(type) {
		case string:
			C.sgo_attr_set(a, ck, C.SONDE_ATTR_STRING, C.size_t(len(v)), unsafe.Pointer(cs(v)), 0, 0, 0)
		case bool:
			b := 0
			if v {
				b = 1
			}
			C.sgo_attr_set(a, ck, C.SONDE_ATTR_BOOL, 0, nil, 0, 0, C.int(b))
		case int:
			C.sgo_attr_set(a, ck, C.SONDE_ATTR_INT, 0, nil, C.int64_t(v), 0, 0)
		case int64:
			C.sgo_attr_set(a, ck, C.SONDE_ATTR_INT, 0, nil, C.int64_t(v), 0, 0)
		case float64:
			C.sgo_attr_set(a, ck, C.SONDE_ATTR_DOUBLE, 0, nil, 0, C.double(v), 0)
		case []string:
			p := (*[1 << 20]*C.char)(mem.calloc(len(v), int(unsafe.Sizeof((*C.char)(nil)))))
			for j, x := range v {
				p[j] = cs(x)
			}
			C.sgo_attr_set(a, ck, C.SONDE_ATTR_STRING_ARRAY, C.size_t(len(v)), unsafe.Pointer(p), 0, 0, 0)
		case []int64:
			p := (*[1 << 20]C.int64_t)(mem.calloc(len(v), 8))
			for j, x := range v {
				p[j] = C.int64_t(x)
			}
			C.sgo_attr_set(a, ck, C.SONDE_ATTR_INT_ARRAY, C.size_t(len(v)), unsafe.Pointer(p), 0, 0, 0)
		case []float64:
			p := (*[1 << 20]C.double)(mem.calloc(len(v), 8))
			for j, x := range v {
				p[j] = C.double(x)
			}
			C.sgo_attr_set(a, ck, C.SONDE_ATTR_DOUBLE_ARRAY, C.size_t(len(v)), unsafe.Pointer(p), 0, 0, 0)
		default:
			return nil, 0, fmtErr("sonde: attribute %q: unsupported type %T", k, attrs[k])
		}
	}
	return arr, C.size_t(len(keys)), nil
}

// AddEvent adds an event named name, now, with attrs (string, bool, int,
// int64, float64 and []string, []int64, []float64 values). Ignored on a
// span that is not sampled. sonde copies everything.
func (s *Span) AddEvent(name string, attrs map[string]interface{}) error {
	return s.AddEventAt(name, time.Time{}, attrs)
}

// AddEventAt is AddEvent at time t (the zero time: now).
func (s *Span) AddEventAt(name string, t time.Time, attrs map[string]interface{}) error {
	if s == nil || s.p == nil {
		return newError(-9, "sonde: span not started or already ended")
	}
	var mem cmem
	defer mem.free()
	arr, n, err := attrArray(&mem, attrs)
	if err != nil {
		return err
	}
	cn := C.CString(name)
	defer C.free(unsafe.Pointer(cn))
	var ns int64
	if !t.IsZero() {
		ns = t.UnixNano()
	}
	C.sonde_span_add_event_at(s.p, cn, C.int64_t(ns), arr, n)
	return nil
}

// RecordError records err as OpenTelemetry's "exception" event:
// exception.type is the error's Go type, exception.message its text, and
// exception.stacktrace the chain of wrapped errors (Go errors carry no
// stack), one "type: message" line each. The status is not changed: call
// SetError when err failed the operation.
func (s *Span) RecordError(err error) {
	if s == nil || s.p == nil || err == nil {
		return
	}
	var chain strings.Builder
	for e := err; e != nil; e = errors.Unwrap(e) {
		fmt.Fprintf(&chain, "%T: %s\n", e, e.Error())
	}
	t, m, st := C.CString(fmt.Sprintf("%T", err)), C.CString(err.Error()), C.CString(chain.String())
	defer freeAll(t, m, st)
	C.sonde_span_record_exception(s.p, t, m, st)
}

// AddLink links the span to another span's context, with attrs.
func (s *Span) AddLink(ctx SpanContext, attrs map[string]interface{}) error {
	if s == nil || s.p == nil {
		return newError(-9, "sonde: span not started or already ended")
	}
	var mem cmem
	defer mem.free()
	arr, n, err := attrArray(&mem, attrs)
	if err != nil {
		return err
	}
	var c C.sonde_span_context
	ctx.toC(&c)
	C.sonde_span_add_link(s.p, &c, arr, n)
	return nil
}

// SpanEvent is an event as sonde recorded it.
type SpanEvent struct {
	Name       string
	Time       time.Time
	Attributes map[string]interface{}
}

// SpanLink is a link as sonde recorded it.
type SpanLink struct {
	TraceID    [16]byte
	SpanID     [8]byte
	Attributes map[string]interface{}
}

func readAttrs(p *C.sonde_span_attr, n int) map[string]interface{} {
	out := make(map[string]interface{}, n)
	for i := 0; i < n; i++ {
		a := C.sgo_attr_at(p, C.size_t(i))
		k := C.GoString(C.sgo_attr_key(a))
		cnt := int(C.sgo_attr_n(a))
		switch C.sgo_attr_type(a) {
		case C.SONDE_ATTR_STRING:
			out[k] = C.GoStringN(C.sgo_attr_str(a), C.int(cnt))
		case C.SONDE_ATTR_INT:
			out[k] = int64(C.sgo_attr_int(a))
		case C.SONDE_ATTR_DOUBLE:
			out[k] = float64(C.sgo_attr_dbl(a))
		case C.SONDE_ATTR_BOOL:
			out[k] = C.sgo_attr_bool(a) != 0
		case C.SONDE_ATTR_STRING_ARRAY:
			v := make([]string, cnt)
			for j := range v {
				v[j] = C.GoString(C.sgo_attr_strs_at(a, C.size_t(j)))
			}
			out[k] = v
		case C.SONDE_ATTR_INT_ARRAY:
			v := make([]int64, cnt)
			for j := range v {
				v[j] = int64(C.sgo_attr_ints_at(a, C.size_t(j)))
			}
			out[k] = v
		case C.SONDE_ATTR_DOUBLE_ARRAY:
			v := make([]float64, cnt)
			for j := range v {
				v[j] = float64(C.sgo_attr_dbls_at(a, C.size_t(j)))
			}
			out[k] = v
		case C.SONDE_ATTR_BOOL_ARRAY:
			v := make([]bool, cnt)
			for j := range v {
				v[j] = C.sgo_attr_bools_at(a, C.size_t(j)) != 0
			}
			out[k] = v
		}
	}
	return out
}

// Attributes are the span's attributes as sonde holds them (before End).
func (s *Span) Attributes() map[string]interface{} {
	if s == nil || s.p == nil {
		return nil
	}
	var p *C.sonde_span_attr
	n := C.sonde_span_get_attrs(s.p, &p)
	return readAttrs(p, int(n))
}

// Events are the events of a recorded (sampled) span, before End.
func (s *Span) Events() []SpanEvent {
	if s == nil || s.p == nil {
		return nil
	}
	var p *C.sonde_span_event
	n := int(C.sonde_span_get_events(s.p, &p))
	out := make([]SpanEvent, n)
	for i := range out {
		e := C.sgo_event_at(p, C.size_t(i))
		out[i] = SpanEvent{Name: C.GoStringN(e.name, C.int(e.name_len)),
			Time:       time.Unix(0, int64(e.time_unix_ns)),
			Attributes: readAttrs(e.attrs, int(e.attr_count))}
	}
	return out
}

// Links are the links of a recorded (sampled) span, before End.
func (s *Span) Links() []SpanLink {
	if s == nil || s.p == nil {
		return nil
	}
	var p *C.sonde_span_link
	n := int(C.sonde_span_get_links(s.p, &p))
	out := make([]SpanLink, n)
	for i := range out {
		l := C.sgo_link_at(p, C.size_t(i))
		C.memcpy(unsafe.Pointer(&out[i].TraceID[0]), unsafe.Pointer(&l.trace_id[0]), 16)
		C.memcpy(unsafe.Pointer(&out[i].SpanID[0]), unsafe.Pointer(&l.span_id[0]), 8)
		out[i].Attributes = readAttrs(l.attrs, int(l.attr_count))
	}
	return out
}
