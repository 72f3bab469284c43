package sonde

/*
#include <stdint.h>
#include <stdlib.h>
#include <sonde.h>

// Defined in health_export.go (a file with //export may hold only
// declarations in its preamble, so the C glue lives here).
extern int sgoHealthCheck(uintptr_t h, char *msg, size_t cap);
extern void sgoHealthRelease(uintptr_t h);

static sonde_health_result sgo_health_fn(void *user, char *msg, size_t cap)
{
	return (sonde_health_result)sgoHealthCheck((uintptr_t)user, msg, cap);
}

static void sgo_health_release(void *user)
{
	sgoHealthRelease((uintptr_t)user);
}

static sonde_health *sgo_health_new(sonde_registry *r, const char *version, uint32_t free_wait_ms)
{
	sonde_health_opts o;
	sonde_health_opts_init(&o);
	o.registry = r;
	o.version = version;
	o.free_wait_ms = free_wait_ms;
	return sonde_health_new(&o);
}

static int sgo_health_add(sonde_health *h, const char *name, uintptr_t user, unsigned probes,
                          uint32_t timeout_ms, uint32_t cache_ms)
{
	sonde_health_check_opts o;
	sonde_health_check_opts_init(&o, name, sgo_health_fn, (void *)user);
	o.probes = probes;
	o.timeout_ms = timeout_ms;
	o.cache_ms = cache_ms;
	o.release = sgo_health_release;
	return sonde_health_add_check(h, &o);
}
*/
import "C"

import (
	"errors"
	"fmt"
	"math"
	"net/http"
	"runtime"
	"runtime/cgo"
	"time"
	"unsafe"
)

// Probe is a probe kind; CheckOpts.Probes takes an OR of them.
type Probe uint

const (
	Liveness  Probe = 1
	Readiness Probe = 2
	Startup   Probe = 4
)

// CheckFunc is a health check. nil passes; an error made by Warning()
// warns (the probe stays 200, "degraded"); any other error fails with its
// text. A panic is recovered and fails the check.
type CheckFunc func() error

// Warning returns an error that makes a check warn rather than fail.
func Warning(msg string) error { return &warning{msg} }

type warning struct{ msg string }

func (w *warning) Error() string { return w.msg }

// CheckOpts says where a check runs and how long it may take.
type CheckOpts struct {
	Probes  Probe         // OR of Liveness, Readiness, Startup; 0 = Readiness
	Timeout time.Duration // bound on one run; 0 = 1 s; at most one hour
	Cache   time.Duration // reuse a result (failures too) this long; 0 = never
}

// HealthOpts configures NewHealth.
type HealthOpts struct {
	Registry *Registry     // where the health metrics go; nil = default
	Version  string        // "version" in the JSON body; "" = "unknown"
	FreeWait time.Duration // how long Close waits for runs past their timeout
}

// Health holds named checks and answers liveness, readiness and startup
// probes over sonde_health: checks run on libsonde's threads with its
// timeouts and caching, and C (or Python, Rust) checks registered on the
// same object join the same probes. Safe for concurrent use, except Close.
type Health struct {
	p   *C.sonde_health
	reg *Registry
}

// NewHealth makes a health object without checks.
func NewHealth(o HealthOpts) (*Health, error) {
	var v *C.char
	if o.Version != "" {
		v = C.CString(o.Version)
		defer C.free(unsafe.Pointer(v))
	}
	p, err := lockedPtr(func() unsafe.Pointer {
		return unsafe.Pointer(C.sgo_health_new(o.Registry.cp(), v, C.uint32_t(millis(o.FreeWait))))
	})
	if err != nil {
		return nil, err
	}
	return &Health{p: (*C.sonde_health)(p), reg: o.Registry}, nil
}

func millis(d time.Duration) uint32 {
	if d <= 0 {
		return 0
	}
	ms := (d + time.Millisecond - 1) / time.Millisecond
	if ms > math.MaxUint32 {
		return math.MaxUint32
	}
	return uint32(ms)
}

// AddCheck registers fn as the check name (1..64 bytes of [a-zA-Z0-9_.-]).
// Errors: a bad name or option (ErrInvalid), a duplicate (ErrExists), a
// closed health object (ErrState).
func (h *Health) AddCheck(name string, o CheckOpts, fn CheckFunc) error {
	if h == nil || h.p == nil {
		return newError(-9, "sonde: the health object is nil or closed")
	}
	if fn == nil {
		return newError(-1, fmt.Sprintf("sonde: check %q: fn is nil", name))
	}
	cname := C.CString(name)
	defer C.free(unsafe.Pointer(cname))
	handle := cgo.NewHandle(fn)
	err := lockedStatus(func() C.int {
		return C.sgo_health_add(h.p, cname, C.uintptr_t(handle), C.uint(o.Probes),
			C.uint32_t(millis(o.Timeout)), C.uint32_t(millis(o.Cache)))
	})
	if err != nil {
		handle.Delete() // not added: the C side will not release it
	}
	return err
}

// Evaluate runs the probe's checks and returns the HTTP status (200 or
// 503) and the JSON body.
func (h *Health) Evaluate(p Probe) (int, []byte, error) {
	if h == nil || h.p == nil {
		return 0, nil, newError(-9, "sonde: the health object is nil or closed")
	}
	var b C.sonde_buf
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	code := C.sonde_health_evaluate(h.p, C.sonde_health_probe(p), &b, nil)
	body := takeBuf(&b)
	if code < 0 {
		return 0, nil, lastError(code)
	}
	return int(code), body, nil
}

// Len is the number of checks.
func (h *Health) Len() int {
	if h == nil || h.p == nil {
		return 0
	}
	return int(C.sonde_health_check_count(h.p))
}

// Handle is the C pointer (sonde_health *), for C code adding its checks.
func (h *Health) Handle() unsafe.Pointer { return unsafe.Pointer(h.p) }

// Handler answers a probe over net/http with its status and JSON body.
func (h *Health) Handler(p Probe) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		code, body, err := h.Evaluate(p)
		if err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("Cache-Control", "no-store")
		w.WriteHeader(code)
		w.Write(body)
	})
}

// Close frees the checks, waiting up to FreeWait for runs past their
// timeout. Call it once no goroutine evaluates; twice is harmless.
func (h *Health) Close() {
	if h != nil && h.p != nil {
		C.sonde_health_free(h.p)
		h.p = nil
	}
}

// runCheck turns a CheckFunc's outcome into a result code and message.
func runCheck(fn CheckFunc) (code int, msg string) {
	defer func() {
		if r := recover(); r != nil {
			code, msg = 2, fmt.Sprintf("check panicked: %v", r)
		}
	}()
	err := fn()
	var w *warning
	switch {
	case err == nil:
		return 0, ""
	case errors.As(err, &w):
		return 1, w.msg
	default:
		return 2, err.Error()
	}
}
