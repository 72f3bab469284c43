// Package sonde is the Go binding of libsonde, the sonde instrumentation
// SDK: metrics, exposition, the structured logger and W3C trace context,
// shared with the C/C++ (or Python, Rust) code of the same process.
//
// It is a thin cgo layer: every value lives in libsonde. By default it
// links the installed shared library, found through `#cgo pkg-config: sonde`
// (link_shared.go; PKG_CONFIG_PATH=PREFIX/lib/pkgconfig for a prefix
// pkg-config does not search), so that a Go component loaded into a process
// that already runs libsonde (Python, C, Rust) shares its one registry,
// logger and trace context. Inside the source tree, `-tags sonde_intree`
// links ../../build/libsonde.so instead (with that directory as rpath;
// link_intree.go), and `-tags sonde_static` links ../../build/libsonde.a
// with -lz (link_static.go; add sonde_nozlib for a `make ZLIB=0` build),
// for a self-contained Go program that is the only user of sonde in its
// process.
// InstanceCheck reports a second copy in the process.
//
// Threads and goroutines: sonde's current trace context is per OS thread,
// and goroutines move between threads. StartSpan therefore locks the
// calling goroutine to its thread (runtime.LockOSThread) until the span's
// End, so `defer span.End()` in one goroutine is correct, and C code and
// log calls made by that goroutine inside the span see it. To carry a
// context to another goroutine, pass span.Context() (a plain value) and
// start a child there with StartSpanChildOf, or run code under it with
// WithContext.
package sonde

/*
#cgo CFLAGS: -DSONDE_NO_INLINE
#cgo LDFLAGS: -lpthread -lm
#include <stdlib.h>
#include <string.h>
#include <sonde.h>

// Label values arrive as one Go byte buffer plus lengths (Go memory may not
// hold pointers into Go memory when passed to C): point into it here.
static const char **sgo_split(const char *buf, const size_t *lens, size_t n, const char **vals)
{
	size_t off = 0;
	for (size_t i = 0; i < n; i++) {
		vals[i] = buf + off;
		off += lens[i];
	}
	return vals;
}

void *sgo_labels(int type, sonde_family *f, size_t n, const char *buf, const size_t *lens)
{
	const char *vals[SONDE_LABELS_MAX];
	if (n > SONDE_LABELS_MAX) // more than any family has: sonde rejects the count
		return sonde_counter_labels(f, n, NULL, NULL);
	sgo_split(buf ? buf : "", lens, n, vals);
	switch (type) {
	case SONDE_TYPE_COUNTER: return sonde_counter_labels(f, n, vals, lens);
	case SONDE_TYPE_GAUGE: return sonde_gauge_labels(f, n, vals, lens);
	case SONDE_TYPE_HISTOGRAM: return sonde_histogram_labels(f, n, vals, lens);
	default: return sonde_summary_labels(f, n, vals, lens);
	}
}

int sgo_remove(sonde_family *f, size_t n, const char *buf, const size_t *lens)
{
	const char *vals[SONDE_LABELS_MAX];
	if (n > SONDE_LABELS_MAX)
		return sonde_family_remove(f, n, NULL, NULL);
	sgo_split(buf ? buf : "", lens, n, vals);
	return sonde_family_remove(f, n, vals, lens);
}
*/
import "C"

import (
	"errors"
	"fmt"
	"runtime"
	"sort"
	"strings"
	"unsafe"
)

// Error is a failed sonde call: the C status code, its symbol and the
// calling thread's last-error message (what was wrong, with which name).
type Error struct {
	Code    int    // negative sonde_status
	Name    string // "EINVAL"
	Message string // sonde_last_error()
}

func (e *Error) Error() string { return e.Message + " (" + e.Name + ")" }

// Is makes errors.Is(err, sonde.ErrInvalid) work: same code.
func (e *Error) Is(target error) bool {
	t, ok := target.(*Error)
	return ok && t.Message == "" && t.Code == e.Code
}

// Sentinels for errors.Is.
var (
	ErrInvalid  = &Error{Code: -1, Name: "EINVAL"}
	ErrNoMemory = &Error{Code: -2, Name: "ENOMEM"}
	ErrExists   = &Error{Code: -3, Name: "EEXIST"}
	ErrNotFound = &Error{Code: -4, Name: "ENOENT"}
	ErrLimit    = &Error{Code: -5, Name: "ELIMIT"}
	ErrType     = &Error{Code: -6, Name: "ETYPE"}
	ErrState    = &Error{Code: -9, Name: "ESTATE"}
	ErrTimeout  = &Error{Code: -10, Name: "ETIMEDOUT"}
	ErrIO       = &Error{Code: -8, Name: "EIO"}
)

// lastError builds the error of the call that just failed on this thread.
// Callers hold runtime.LockOSThread around the call and this read, since
// sonde's last error is per OS thread.
func lastError(status C.int) error {
	if status == 0 {
		status = C.int(C.sonde_last_status())
	}
	if status == 0 {
		status = -1
	}
	msg := C.GoString(C.sonde_last_error())
	if msg == "" {
		msg = C.GoString(C.sonde_strerror(status))
	}
	return &Error{Code: int(status), Name: C.GoString(C.sonde_status_name(status)), Message: msg}
}

// InstanceCheck returns nil when the libsonde this package uses found no
// other copy of libsonde loaded in the process when it initialized, and an
// *Error (ErrState) naming both copies' objects otherwise: each copy has
// its own registry, so one copy's series never reach the other's
// exposition (issue 13.17; sonde_instance_check in sonde/common.h). Link
// every component against libsonde.so (the default; see link_shared.go).
func InstanceCheck() error {
	return lockedStatus(func() C.int { return C.sonde_instance_check() })
}

func newError(code int, msg string) error {
	return &Error{Code: code, Name: C.GoString(C.sonde_status_name(C.int(code))), Message: msg}
}

// lockedPtr runs fn (one C call returning a pointer) on a locked thread and
// turns NULL into the error sonde recorded.
func lockedPtr(fn func() unsafe.Pointer) (unsafe.Pointer, error) {
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	p := fn()
	if p == nil {
		return nil, lastError(0)
	}
	return p, nil
}

// cmem collects the C allocations of one call (strings and arrays that C
// reads during it); free releases them all.
type cmem struct{ ps []unsafe.Pointer }

func (m *cmem) str(s string) *C.char {
	p := C.CString(s)
	m.ps = append(m.ps, unsafe.Pointer(p))
	return p
}

// calloc is zeroed C memory for n elements of size bytes (at least one).
func (m *cmem) calloc(n, size int) unsafe.Pointer {
	if n == 0 {
		n = 1
	}
	p := C.calloc(C.size_t(n), C.size_t(size))
	m.ps = append(m.ps, p)
	return p
}

func (m *cmem) free() {
	for _, p := range m.ps {
		C.free(p)
	}
	m.ps = nil
}

// cStrings lays ss out as a C array of C strings (nil for none); free
// releases the array and the strings.
func cStrings(ss []string) (**C.char, func()) {
	if len(ss) == 0 {
		return nil, func() {}
	}
	arr := (*[1 << 20]*C.char)(C.malloc(C.size_t(len(ss)) * C.size_t(unsafe.Sizeof((*C.char)(nil)))))[:len(ss):len(ss)]
	for i, x := range ss {
		arr[i] = C.CString(x)
	}
	return &arr[0], func() {
		freeAll(arr...)
		C.free(unsafe.Pointer(&arr[0]))
	}
}

// sortedPairs is m as name, value, ... in name order (one definition
// whatever the map's order).
func sortedPairs(m map[string]string) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	out := make([]string, 0, 2*len(keys))
	for _, k := range keys {
		out = append(out, k, m[k])
	}
	return out
}

func lockedStatus(fn func() C.int) error {
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	if st := fn(); st < 0 {
		return lastError(st)
	}
	return nil
}

// Version is the version string of the linked libsonde.
func Version() string { return C.GoString(C.sonde_version()) }

// packValues lays label values out as one buffer plus lengths.
func packValues(vals []string) ([]byte, []C.size_t) {
	total := 0
	for _, v := range vals {
		total += len(v)
	}
	buf := make([]byte, 0, total+1)
	lens := make([]C.size_t, len(vals)+1)
	for i, v := range vals {
		buf = append(buf, v...)
		lens[i] = C.size_t(len(v))
	}
	buf = append(buf, 0)
	return buf, lens
}

func cstrOrNil(s string) *C.char {
	if s == "" {
		return nil
	}
	return C.CString(s)
}

func freeAll(ps ...*C.char) {
	for _, p := range ps {
		if p != nil {
			C.free(unsafe.Pointer(p))
		}
	}
}

// noNUL refuses strings that go to C NUL-terminated and hold a NUL (C
// would silently see a shorter string).
func noNUL(what string, ss ...string) error {
	for _, s := range ss {
		if strings.IndexByte(s, 0) >= 0 {
			return fmtErr("sonde: %s %q contains a NUL byte", what, s)
		}
	}
	return nil
}

var errNilFamily = errors.New("sonde: nil metric family")

func fmtErr(format string, a ...interface{}) error { return newError(-1, fmt.Sprintf(format, a...)) }
