package sonde

/*
#include <stdlib.h>
#include <string.h>
#include <sonde.h>
#include <sonde/log.h>

// One record through sonde_log_write(): the message, the keys (each
// NUL-terminated, one after another), the types, and the values as raw
// 64-bit words with lengths, string values pointing into buf (Go memory
// passed to C must not hold pointers). More than 15 fields, a key given
// twice or a bad type: sonde refuses the record (the status is returned).
static int sgo_log_write(sonde_logger *l, int level, const char *msg, size_t msg_len,
                         const char *keys, const unsigned char *types, const uint64_t *raw,
                         const size_t *lens, const char *buf, size_t n)
{
	sonde_log_field f[15];
	if (n > 15)
		return sonde_log_write(l, level, msg, msg_len, NULL, n); // EINVAL
	for (size_t i = 0; i < n; i++) {
		f[i].key = keys;
		keys += strlen(keys) + 1;
		f[i].type = types[i];
		if (types[i] == SONDE_LOG_T_STR || types[i] == SONDE_LOG_T_TREE) {
			f[i].v.s = lens[i] == (size_t)-1 ? NULL : buf + raw[i];
			f[i].len = lens[i] == (size_t)-1 ? 0 : lens[i];
		} else {
			f[i].v.u = raw[i];
			f[i].len = 0;
		}
	}
	return sonde_log_write(l, level, msg, msg_len, f, n);
}

static sonde_log_field *sgo_fields(size_t n) { return calloc(n ? n : 1, sizeof(sonde_log_field)); }

// An error tree (sonde_log_tree_error) into out[0..cap): its length, or a
// negative status. stack_len (size_t)-1: no stack.
static long sgo_err_tree(char *out, size_t cap, const char *type, size_t type_len,
                         const char *msg, size_t msg_len, const char *stack, size_t stack_len)
{
	sonde_log_tree t;
	int rc;

	sonde_log_tree_init(&t, out, cap);
	rc = sonde_log_tree_error(&t, type, type_len, msg, msg_len,
	                          stack_len == (size_t)-1 ? NULL : stack, stack_len);
	return rc ? rc : (long)t.len;
}
*/
import "C"

import (
	"errors"
	"fmt"
	"math"
	"strings"
	"unsafe"
)

// Level is a log level.
type Level int

const (
	LevelTrace Level = iota
	LevelDebug
	LevelInfo
	LevelWarn
	LevelError
	LevelFatal
	LevelOff
)

// ParseLevel reads "trace" ... "fatal", "off" (any case, "warning" too).
func ParseLevel(s string) (Level, error) {
	var l C.sonde_log_level
	p, n, keep := bytesArg(s)
	err := lockedStatus(func() C.int { return C.sonde_log_level_parse(p, n, &l) })
	_ = keep
	return Level(l), err
}

func (l Level) String() string { return C.GoString(C.sonde_log_level_name(C.int(l))) }

const (
	tStr  = C.SONDE_LOG_T_STR
	tI64  = C.SONDE_LOG_T_I64
	tU64  = C.SONDE_LOG_T_U64
	tF64  = C.SONDE_LOG_T_F64
	tBool = C.SONDE_LOG_T_BOOL
	tTree = C.SONDE_LOG_T_TREE
)

// Field is one typed key/value of a record.
type Field struct {
	key  string
	typ  int
	bits uint64
	str  string
	null bool
}

// Key is the field's key.
func (f Field) Key() string { return f.key }

func String(k, v string) Field       { return Field{key: k, typ: tStr, str: v} }
func Bytes(k string, v []byte) Field { return Field{key: k, typ: tStr, str: string(v)} }
func Int(k string, v int) Field      { return Field{key: k, typ: tI64, bits: uint64(int64(v))} }
func Int64(k string, v int64) Field  { return Field{key: k, typ: tI64, bits: uint64(v)} }
func Uint64(k string, v uint64) Field {
	return Field{key: k, typ: tU64, bits: v}
}
func Float64(k string, v float64) Field { return Field{key: k, typ: tF64, bits: math.Float64bits(v)} }
func Bool(k string, v bool) Field {
	f := Field{key: k, typ: tBool}
	if v {
		f.bits = 1
	}
	return f
}

// Null writes key: null.
func Null(k string) Field { return Field{key: k, typ: tStr, null: true} }

// Err writes err's message under "error" (null for a nil error).
func Err(err error) Field {
	if err == nil {
		return Null("error")
	}
	return String("error", err.Error())
}

// ErrorField writes err as an error field under k (issue 15): its type
// (%T of err), its message, and as the stack its chain of wrapped errors
// (errors.Unwrap, and each error of an errors.Join), one "%T: message"
// line each. In json: "k":{"type","message","stack"}; in ecs the first
// error field of a record is error.type, error.message, error.stack_trace;
// in otel the attributes exception.type, exception.message,
// exception.stacktrace. A nil err is null.
func ErrorField(k string, err error) Field {
	if err == nil {
		return Null(k)
	}
	typ := fmt.Sprintf("%T", err)
	msg := err.Error()
	var chain []string
	var walk func(e error, depth int)
	walk = func(e error, depth int) {
		if depth > 32 || len(chain) > 64 {
			return
		}
		if j, ok := e.(interface{ Unwrap() []error }); ok {
			for _, c := range j.Unwrap() {
				if c != nil {
					chain = append(chain, fmt.Sprintf("%T: %s", c, c.Error()))
					walk(c, depth+1)
				}
			}
			return
		}
		if c := errors.Unwrap(e); c != nil {
			chain = append(chain, fmt.Sprintf("%T: %s", c, c.Error()))
			walk(c, depth+1)
		}
	}
	walk(err, 0)
	const max = 60000 // under SONDE_LOG_TREE_BYTES_MAX with the encoding's bytes
	if len(typ) > 255 {
		typ = typ[:255]
	}
	if len(msg) > max/4 {
		msg = msg[:max/4]
	}
	stack := strings.Join(chain, "\n")
	if len(stack) > max-len(msg)-len(typ) {
		stack = stack[:max-len(msg)-len(typ)]
	}
	out := make([]byte, 32+len(typ)+len(msg)+len(stack))
	tb := append([]byte(typ), 0)
	mb := append([]byte(msg), 0)
	sb := append([]byte(stack), 0)
	slen := C.size_t(len(stack))
	if len(chain) == 0 {
		slen = ^C.size_t(0)
	}
	n := C.sgo_err_tree((*C.char)(unsafe.Pointer(&out[0])), C.size_t(len(out)),
		(*C.char)(unsafe.Pointer(&tb[0])), C.size_t(len(typ)),
		(*C.char)(unsafe.Pointer(&mb[0])), C.size_t(len(msg)),
		(*C.char)(unsafe.Pointer(&sb[0])), slen)
	if n < 0 {
		return String(k, msg) // cannot happen within the sizes above
	}
	return Field{key: k, typ: tTree, str: string(out[:n])}
}

// Sink is a log destination; loggers keep their own reference, so Close
// it once the loggers that use it are created.
type Sink struct{ p *C.sonde_log_sink }

// SinkOpts: Format "json" (default), "logfmt", "ecs", "otel" or "console"
// (SONDE_LOG_FORMAT overrides it); Level the sink's minimum;
// MaxBytes/MaxFiles rotate file sinks.
type SinkOpts struct {
	Format   string
	Level    Level
	Name     string
	MaxBytes uint64
	MaxFiles uint
}

func sinkOpts(o SinkOpts, co *C.sonde_log_sink_opts) (*C.char, error) {
	C.sonde_log_sink_opts_init(co)
	switch o.Format {
	case "", "json":
	case "logfmt":
		co.format = C.SONDE_LOG_FORMAT_LOGFMT
	case "ecs":
		co.format = C.SONDE_LOG_FORMAT_ECS
	case "otel":
		co.format = C.SONDE_LOG_FORMAT_OTEL
	case "console":
		co.format = C.SONDE_LOG_FORMAT_CONSOLE
	default:
		return nil, fmtErr("sonde: log format %q: want json, logfmt, ecs, otel or console", o.Format)
	}
	co.level = C.sonde_log_level(o.Level)
	co.max_bytes = C.uint64_t(o.MaxBytes)
	co.max_files = C.uint(o.MaxFiles)
	name := cstrOrNil(o.Name)
	co.name = name
	return name, nil
}

func newSink(o SinkOpts, mk func(*C.sonde_log_sink_opts) *C.sonde_log_sink) (*Sink, error) {
	var co C.sonde_log_sink_opts
	name, err := sinkOpts(o, &co)
	if err != nil {
		return nil, err
	}
	defer freeAll(name)
	p, err := lockedPtr(func() unsafe.Pointer { return unsafe.Pointer(mk(&co)) })
	if err != nil {
		return nil, err
	}
	return &Sink{(*C.sonde_log_sink)(p)}, nil
}

func StdoutSink(o SinkOpts) (*Sink, error) {
	return newSink(o, func(co *C.sonde_log_sink_opts) *C.sonde_log_sink { return C.sonde_log_sink_stdout(co) })
}

func StderrSink(o SinkOpts) (*Sink, error) {
	return newSink(o, func(co *C.sonde_log_sink_opts) *C.sonde_log_sink { return C.sonde_log_sink_stderr(co) })
}

// FileSink appends to path (rotating by size with MaxBytes).
func FileSink(path string, o SinkOpts) (*Sink, error) {
	if err := noNUL("path", path); err != nil {
		return nil, err
	}
	p := C.CString(path)
	defer freeAll(p)
	return newSink(o, func(co *C.sonde_log_sink_opts) *C.sonde_log_sink { return C.sonde_log_sink_file(p, co) })
}

func (s *Sink) Close() {
	if s != nil && s.p != nil {
		C.sonde_log_sink_free(s.p)
		s.p = nil
	}
}

// Reopen asks a file sink to reopen its path (after logrotate moved it).
func (s *Sink) Reopen() error {
	if s == nil {
		return errNilFamily
	}
	return lockedStatus(func() C.int { return C.sonde_log_sink_reopen(s.p) })
}

// LoggerOpts configure a root logger. LevelEnv nil means "LOG_LEVEL";
// point it at "" to ignore the environment. No sinks = JSON on stdout.
type LoggerOpts struct {
	Service  string
	Level    Level
	LevelEnv *string
	Block    bool // wait for room instead of dropping when a ring is full
	Redact   []string
	Sinks    []*Sink
	// The flight recorder: records below Level, down to FlightLevel, are
	// kept in memory per thread and written (marked "_replayed") before
	// the next record at FlightTrigger or above. A zero FlightLevel keeps
	// everything (TRACE); a zero FlightTrigger means ERROR.
	FlightRecorder bool
	FlightLevel    Level
	FlightTrigger  Level
	FlightScope    FlightScope
	// Sampling per call site (off when Sampling.First is 0).
	Sampling Sampling
}

// FlightScope says whose kept records a trigger writes.
type FlightScope int

const (
	FlightThread FlightScope = 0 // the triggering thread's
	FlightTrace  FlightScope = 1 // and other threads' of the same trace
	FlightAll    FlightScope = 2 // every thread's
)

// Logger is a sonde logger; a nil *Logger is a no-op.
type Logger struct{ p *C.sonde_logger }

func NewLogger(o LoggerOpts) (*Logger, error) {
	if err := noNUL("service or redact key", append([]string{o.Service}, o.Redact...)...); err != nil {
		return nil, err
	}
	var co C.sonde_log_opts
	svc := C.CString(o.Service)
	defer freeAll(svc)
	C.sonde_log_opts_init(&co, svc)
	co.level = C.sonde_log_level(o.Level)
	if o.LevelEnv != nil {
		env := C.CString(*o.LevelEnv)
		defer freeAll(env)
		co.level_env = env
	}
	if o.Block {
		co.overflow = C.SONDE_LOG_OVERFLOW_BLOCK
	}
	if o.FlightRecorder {
		co.flight_recorder = 1
		co.flight_level = C.sonde_log_level(o.FlightLevel)
		co.flight_trigger = C.sonde_log_level(o.FlightTrigger)
		co.flight_scope = C.int(o.FlightScope)
	}
	o.Sampling.toC(&co)
	if n := len(o.Redact); n > 0 {
		arr := (*[1 << 16]*C.char)(C.calloc(C.size_t(n), C.size_t(unsafe.Sizeof((*C.char)(nil)))))[:n:n]
		for i, k := range o.Redact {
			arr[i] = C.CString(k)
		}
		defer func() { freeAll(arr...); C.free(unsafe.Pointer(&arr[0])) }()
		co.redact_keys, co.redact_count = &arr[0], C.size_t(n)
	}
	if n := len(o.Sinks); n > 0 {
		arr := (*[1 << 16]*C.sonde_log_sink)(C.calloc(C.size_t(n), C.size_t(unsafe.Sizeof((*C.char)(nil)))))[:n:n]
		for i, s := range o.Sinks {
			if s != nil {
				arr[i] = s.p
			}
		}
		defer C.free(unsafe.Pointer(&arr[0]))
		co.sinks, co.sink_count = &arr[0], C.size_t(n)
	}
	p, err := lockedPtr(func() unsafe.Pointer { return unsafe.Pointer(C.sonde_logger_new(&co)) })
	if err != nil {
		return nil, err
	}
	return &Logger{(*C.sonde_logger)(p)}, nil
}

// With returns a child logger with these fields bound to every record.
func (l *Logger) With(fields ...Field) (*Logger, error) {
	if l == nil {
		return nil, newError(-1, "sonde: nil logger")
	}
	n := len(fields)
	arr := (*[1 << 10]C.sonde_log_field)(unsafe.Pointer(C.sgo_fields(C.size_t(n))))[: n+1 : n+1]
	var strs []*C.char
	defer func() { freeAll(strs...); C.free(unsafe.Pointer(&arr[0])) }()
	for i, f := range fields {
		if err := noNUL("field key", f.key); err != nil {
			return nil, err
		}
		k := C.CString(f.key)
		strs = append(strs, k)
		arr[i].key = k
		arr[i]._type = C.int(f.typ)
		if f.typ == tStr {
			if !f.null {
				s := C.CString(f.str)
				strs = append(strs, s)
				*(**C.char)(unsafe.Pointer(&arr[i].v)) = s
				arr[i].len = C.size_t(len(f.str))
			}
		} else {
			*(*uint64)(unsafe.Pointer(&arr[i].v)) = f.bits
		}
	}
	p, err := lockedPtr(func() unsafe.Pointer { return unsafe.Pointer(C.sonde_logger_child(l.p, &arr[0], C.size_t(n))) })
	if err != nil {
		return nil, err
	}
	return &Logger{(*C.sonde_logger)(p)}, nil
}

// Close releases the logger (its records already emitted are written).
func (l *Logger) Close() {
	if l != nil && l.p != nil {
		C.sonde_logger_free(l.p)
		l.p = nil
	}
}

func (l *Logger) SetLevel(lv Level) {
	if l != nil {
		C.sonde_logger_set_level(l.p, C.sonde_log_level(lv))
	}
}

func (l *Logger) Level() Level {
	if l == nil {
		return LevelOff
	}
	return Level(C.sonde_logger_level(l.p))
}

// Enabled reports whether a record at lv would be emitted (written, or
// kept by the flight recorder).
func (l *Logger) Enabled(lv Level) bool {
	return l != nil && l.p != nil && lv >= Level(C.sonde_logger_min_level(l.p))
}

// CrashFlushEnable installs sonde's crash handlers (SIGSEGV, SIGBUS,
// SIGILL, SIGFPE, SIGABRT): they write what the rings and the flight
// recorder hold, and a "crash" record, to the file and stdout/stderr
// sinks, then hand the signal on. The Go runtime's own handlers are the
// ones sonde hands on to, so Go's panics and tracebacks still work; call
// it after the runtime started (any time in main).
func CrashFlushEnable() error {
	return lockedStatus(func() C.int { return C.sonde_log_crash_flush_enable() })
}

// CrashFlushDisable puts the previous handlers back.
func CrashFlushDisable() error {
	return lockedStatus(func() C.int { return C.sonde_log_crash_flush_disable() })
}

// Log emits one record if lv is enabled, through sonde_log_write(): the
// message is copied with the record, so it may vary freely; keys are
// interned once per (level, keys, types) in C, so keep them constant. A
// record with more than 15 fields or a key given twice is not written
// (LogErr says why). The goroutine's current trace context is stamped when
// it runs inside a span (see StartSpan).
func (l *Logger) Log(lv Level, msg string, fields ...Field) {
	_ = l.LogErr(lv, msg, fields...)
}

// LogErr is Log returning sonde's error for a record it refused.
func (l *Logger) LogErr(lv Level, msg string, fields ...Field) error {
	if !l.Enabled(lv) {
		return nil
	}
	n := len(fields)
	raw := make([]uint64, n+1)
	lens := make([]C.size_t, n+1)
	types := make([]byte, n+1)
	var keys, buf []byte
	buf = append(buf, msg...)
	for i, f := range fields {
		keys = append(keys, f.key...)
		keys = append(keys, 0)
		types[i] = byte(f.typ)
		if f.typ == tStr || f.typ == tTree {
			if f.null {
				lens[i] = ^C.size_t(0)
				continue
			}
			raw[i] = uint64(len(buf))
			lens[i] = C.size_t(len(f.str))
			buf = append(buf, f.str...)
		} else {
			raw[i] = f.bits
		}
	}
	keys = append(keys, 0)
	buf = append(buf, 0)
	return lockedStatus(func() C.int {
		return C.sgo_log_write(l.p, C.int(lv), (*C.char)(unsafe.Pointer(&buf[0])), C.size_t(len(msg)),
			(*C.char)(unsafe.Pointer(&keys[0])), (*C.uchar)(unsafe.Pointer(&types[0])),
			(*C.uint64_t)(unsafe.Pointer(&raw[0])), &lens[0], (*C.char)(unsafe.Pointer(&buf[0])),
			C.size_t(n))
	})
}

func (l *Logger) Trace(msg string, f ...Field) { l.Log(LevelTrace, msg, f...) }
func (l *Logger) Debug(msg string, f ...Field) { l.Log(LevelDebug, msg, f...) }
func (l *Logger) Info(msg string, f ...Field)  { l.Log(LevelInfo, msg, f...) }
func (l *Logger) Warn(msg string, f ...Field)  { l.Log(LevelWarn, msg, f...) }
func (l *Logger) Error(msg string, f ...Field) { l.Log(LevelError, msg, f...) }
func (l *Logger) Fatal(msg string, f ...Field) { l.Log(LevelFatal, msg, f...) }

// LogFlush returns once every record emitted before the call is written.
func LogFlush() error { return lockedStatus(func() C.int { return C.sonde_log_flush() }) }

// LogShutdown drains the rings and stops the backend thread.
func LogShutdown() error { return lockedStatus(func() C.int { return C.sonde_log_shutdown() }) }

// Handle is the C sonde_logger pointer, for handing the logger to C code.
func (l *Logger) Handle() unsafe.Pointer {
	if l == nil {
		return nil
	}
	return unsafe.Pointer(l.p)
}
