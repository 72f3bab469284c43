package sonde

/*
#include <stdlib.h>
#include <string.h>
#include <sonde.h>
#include <sonde/log.h>

// The fields packed as in sgo_log_write (log.go): keys one after another,
// NUL-terminated; types; raw 64-bit words; lengths ((size_t)-1: null);
// string values at buf + raw[i].
static void sgo_unpack(sonde_log_field *f, const char *keys, const unsigned char *types,
                       const uint64_t *raw, const size_t *lens, const char *buf, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		f[i].key = keys;
		keys += strlen(keys) + 1;
		f[i].type = types[i];
		if (types[i] == SONDE_LOG_T_STR) {
			f[i].v.s = lens[i] == (size_t)-1 ? NULL : buf + raw[i];
			f[i].len = lens[i] == (size_t)-1 ? 0 : lens[i];
		} else {
			f[i].v.u = raw[i];
			f[i].len = 0;
		}
	}
}

// One record with scoped fields: the scoped fields (sn, already
// deduplicated: the last of a key kept) pushed as scopes of at most
// SONDE_LOG_SCOPE_FIELDS on this thread, the record written, the scopes
// popped; all in one call, so the goroutine cannot move in between.
static int sgo_log_write_scoped(sonde_logger *l, int level, const char *msg, size_t msg_len,
                                const char *keys, const unsigned char *types,
                                const uint64_t *raw, const size_t *lens, const char *buf,
                                size_t n, const char *skeys, const unsigned char *stypes,
                                const uint64_t *sraw, const size_t *slens, const char *sbuf,
                                size_t sn)
{
	sonde_log_field f[15], sf[SONDE_LOG_SCOPE_TOTAL + 1];
	sonde_log_scope sc[3];
	size_t pushed = 0, at = 0;
	int rc = SONDE_OK;

	if (n > 15)
		return sonde_log_write(l, level, msg, msg_len, NULL, n); // EINVAL
	if (sn > SONDE_LOG_SCOPE_TOTAL)
		sn = SONDE_LOG_SCOPE_TOTAL + 1; // the third push fails: SONDE_ELIMIT, C's message
	sgo_unpack(f, keys, types, raw, lens, buf, n);
	sgo_unpack(sf, skeys, stypes, sraw, slens, sbuf, sn);
	while (rc == SONDE_OK && at < sn) {
		size_t k = sn - at > SONDE_LOG_SCOPE_FIELDS ? SONDE_LOG_SCOPE_FIELDS : sn - at;
		rc = sonde_log_scope_push(&sc[pushed], sf + at, k);
		if (rc == SONDE_OK)
			pushed++;
		at += k;
	}
	if (rc == SONDE_OK)
		rc = sonde_log_write(l, level, msg, msg_len, f, n);
	while (pushed)
		(void)!sonde_log_scope_pop(&sc[--pushed]);
	return rc;
}

// A thread scope in C memory: the scope, then copies of the keys and the
// strings (C keeps pointers to them until the pop).
typedef struct sgo_scope {
	sonde_log_scope sc;
	size_t bytes;
} sgo_scope;

static sgo_scope *sgo_scope_push(const char *keys, size_t keys_len, const unsigned char *types,
                                 const uint64_t *raw, const size_t *lens, const char *buf,
                                 size_t buf_len, size_t n, int *rc)
{
	sonde_log_field f[SONDE_LOG_SCOPE_FIELDS];
	sgo_scope *s;
	char *k, *b;

	if (n > SONDE_LOG_SCOPE_FIELDS) {
		*rc = sonde_log_scope_push(NULL, NULL, n); // the message says why
		return NULL;
	}
	s = malloc(sizeof(*s) + keys_len + buf_len + 1);
	if (!s) {
		*rc = SONDE_ENOMEM;
		return NULL;
	}
	k = (char *)(s + 1);
	b = k + keys_len;
	memcpy(k, keys, keys_len);
	memcpy(b, buf, buf_len);
	b[buf_len] = '\0';
	sgo_unpack(f, k, types, raw, lens, b, n);
	*rc = sonde_log_scope_push(&s->sc, f, n);
	if (*rc != SONDE_OK) {
		free(s);
		return NULL;
	}
	return s;
}

static int sgo_scope_pop(sgo_scope *s)
{
	int rc = sonde_log_scope_pop(&s->sc);
	free(s);
	return rc;
}
*/
import "C"

import (
	"context"
	"runtime"
	"time"
	"unsafe"
)

// packed is a field list laid out for C (see sgo_unpack).
type packed struct {
	keys  []byte
	types []byte
	raw   []uint64
	lens  []C.size_t
	buf   []byte
	n     int
}

func pack(fields []Field, buf []byte) packed {
	n := len(fields)
	p := packed{raw: make([]uint64, n+1), lens: make([]C.size_t, n+1), types: make([]byte, n+1),
		buf: buf, n: n}
	for i, f := range fields {
		p.keys = append(p.keys, f.key...)
		p.keys = append(p.keys, 0)
		p.types[i] = byte(f.typ)
		if f.typ == tStr {
			if f.null {
				p.lens[i] = ^C.size_t(0)
				continue
			}
			p.raw[i] = uint64(len(p.buf))
			p.lens[i] = C.size_t(len(f.str))
			p.buf = append(p.buf, f.str...)
		} else {
			p.raw[i] = f.bits
		}
	}
	p.keys = append(p.keys, 0)
	p.buf = append(p.buf, 0)
	return p
}

// WithLogFields runs fn with fields stamped on every record that code
// running on fn's goroutine logs, through any sonde logger, Go or C (a C
// scope, sonde_log_scope_push). Goroutines move between OS threads and
// the scope is the thread's: the goroutine is locked to its thread for the
// call (runtime.LockOSThread), so fn must not hand its logging to other
// goroutines (they do not carry the fields: use ContextWithLogFields and
// the *Ctx methods for code that spans goroutines). Nested calls nest:
// an inner field beats an outer one of the same key, a record's own field
// beats both. Errors (fn not run): more than 8 fields, an empty key or one
// over 64 bytes, a key twice, keys and strings over 1024 bytes, more than
// 16 scoped fields or 64 scopes on the thread; a NUL in a key.
func WithLogFields(fields []Field, fn func()) error {
	for _, f := range fields {
		if err := noNUL("field key", f.key); err != nil {
			return err
		}
	}
	p := pack(fields, nil)
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	var rc C.int
	s := C.sgo_scope_push((*C.char)(unsafe.Pointer(&p.keys[0])), C.size_t(len(p.keys)),
		(*C.uchar)(unsafe.Pointer(&p.types[0])), (*C.uint64_t)(unsafe.Pointer(&p.raw[0])),
		&p.lens[0], (*C.char)(unsafe.Pointer(&p.buf[0])), C.size_t(len(p.buf)), C.size_t(p.n), &rc)
	if s == nil {
		return lastError(rc)
	}
	// the pop fails only when C code inside fn popped this scope already
	// (out of order): it is unlinked then, and freeing it is safe
	defer C.sgo_scope_pop(s)
	fn()
	return nil
}

type logFieldsKey struct{}

// ContextWithLogFields returns a context carrying fields for the *Ctx log
// methods (LogCtx, InfoCtx, ...): the way to carry scoped fields across
// goroutines, since the context travels with the work and not with the
// thread. Fields added later (a derived context) win over earlier ones of
// the same key; at most 16 distinct keys reach a record (C's limit; more
// make the *Ctx call fail with LimitReached).
func ContextWithLogFields(ctx context.Context, fields ...Field) context.Context {
	prev, _ := ctx.Value(logFieldsKey{}).([]Field)
	all := make([]Field, 0, len(prev)+len(fields))
	all = append(all, prev...)
	all = append(all, fields...)
	return context.WithValue(ctx, logFieldsKey{}, all)
}

// LogFields are the fields ctx carries (ContextWithLogFields), the last
// of each key kept, in the order they are written.
func LogFields(ctx context.Context) []Field {
	all, _ := ctx.Value(logFieldsKey{}).([]Field)
	return dedupLast(all)
}

func dedupLast(all []Field) []Field {
	if len(all) < 2 {
		return all
	}
	out := make([]Field, 0, len(all))
	for i, f := range all {
		later := false
		for _, g := range all[i+1:] {
			if g.key == f.key {
				later = true
				break
			}
		}
		if !later {
			out = append(out, f)
		}
	}
	return out
}

// LogCtx is Log with the fields ctx carries (ContextWithLogFields) stamped
// as scoped fields: pushed as a C scope on the calling thread around the
// write, in one cgo call, so they land in the record wherever the
// goroutine runs. They follow the same key rules as WithLogFields (the
// record's own fields win).
func (l *Logger) LogCtx(ctx context.Context, lv Level, msg string, fields ...Field) {
	_ = l.LogCtxErr(ctx, lv, msg, fields...)
}

// LogCtxErr is LogCtx returning sonde's error for a record it refused.
func (l *Logger) LogCtxErr(ctx context.Context, lv Level, msg string, fields ...Field) error {
	if !l.Enabled(lv) {
		return nil
	}
	sf := LogFields(ctx)
	if len(sf) == 0 {
		return l.LogErr(lv, msg, fields...)
	}
	for _, f := range sf {
		if err := noNUL("field key", f.key); err != nil {
			return err
		}
	}
	r := pack(fields, append([]byte(nil), msg...))
	s := pack(sf, nil)
	return lockedStatus(func() C.int {
		return C.sgo_log_write_scoped(l.p, C.int(lv), (*C.char)(unsafe.Pointer(&r.buf[0])), C.size_t(len(msg)),
			(*C.char)(unsafe.Pointer(&r.keys[0])), (*C.uchar)(unsafe.Pointer(&r.types[0])),
			(*C.uint64_t)(unsafe.Pointer(&r.raw[0])), &r.lens[0], (*C.char)(unsafe.Pointer(&r.buf[0])),
			C.size_t(r.n),
			(*C.char)(unsafe.Pointer(&s.keys[0])), (*C.uchar)(unsafe.Pointer(&s.types[0])),
			(*C.uint64_t)(unsafe.Pointer(&s.raw[0])), &s.lens[0], (*C.char)(unsafe.Pointer(&s.buf[0])),
			C.size_t(s.n))
	})
}

func (l *Logger) TraceCtx(ctx context.Context, msg string, f ...Field) {
	l.LogCtx(ctx, LevelTrace, msg, f...)
}
func (l *Logger) DebugCtx(ctx context.Context, msg string, f ...Field) {
	l.LogCtx(ctx, LevelDebug, msg, f...)
}
func (l *Logger) InfoCtx(ctx context.Context, msg string, f ...Field) {
	l.LogCtx(ctx, LevelInfo, msg, f...)
}
func (l *Logger) WarnCtx(ctx context.Context, msg string, f ...Field) {
	l.LogCtx(ctx, LevelWarn, msg, f...)
}
func (l *Logger) ErrorCtx(ctx context.Context, msg string, f ...Field) {
	l.LogCtx(ctx, LevelError, msg, f...)
}
func (l *Logger) FatalCtx(ctx context.Context, msg string, f ...Field) {
	l.LogCtx(ctx, LevelFatal, msg, f...)
}

// Sampling is per call site sampling (LoggerOpts.Sampling): in each
// Interval (0: one second) a (level, field keys) combination writes its
// First records, then one in Thereafter (0: none) of the rest. First 0
// turns it off. Error and fatal records are sampled only with Errors.
type Sampling struct {
	First      uint32
	Thereafter uint32
	Interval   time.Duration
	Errors     bool
}

func (s Sampling) toC(co *C.sonde_log_opts) {
	co.sample_first = C.uint(s.First)
	co.sample_thereafter = C.uint(s.Thereafter)
	ms := s.Interval / time.Millisecond
	if ms > 0xffffffff {
		ms = 0xffffffff
	}
	if s.Interval > 0 && ms == 0 {
		ms = 1
	}
	co.sample_interval_ms = C.uint(ms)
	if s.Errors {
		co.sample_errors = 1
	}
}

// LogSampledTotal counts the records sampling left out at lv (all
// loggers, the process's life; also sonde_log_sampled_total{level}).
func LogSampledTotal(lv Level) uint64 { return uint64(C.sonde_log_sampled_total(C.int(lv))) }
