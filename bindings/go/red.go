package sonde

/*
#include <stdlib.h>
#include <sonde.h>
*/
import "C"

import (
	"net/http"
	"runtime"
	"unsafe"
)

// HTTPMetricsOpts configure NewHTTPMetrics (sonde_http_server_opts): empty
// names and labels mean sonde's defaults (http_requests_total,
// http_request_duration_seconds, http_requests_in_flight; method, route,
// status), the size histograms are off unless named.
type HTTPMetricsOpts struct {
	Registry         *Registry
	RequestsName     string
	DurationName     string
	InFlightName     string
	NoInFlight       bool
	RequestSizeName  string
	ResponseSizeName string
	MethodLabel      string
	RouteLabel       string
	StatusLabel      string
	ConstLabels      map[string]string
	Buckets          []float64 // nil: prom-client's defaults
	Logger           *Logger   // one access-log record per request; nil: none
	NoTrace          bool      // no span: metrics, request id and log only
}

// HTTPMetrics is RED for an HTTP server in one call pair, over libsonde's
// request instrumentation: a SERVER span continuing the caller's trace,
// the request id (x-request-id or x-correlation-id, else a UUID v4),
// http_requests_total, http_request_duration_seconds (with exemplars),
// http_requests_in_flight and an access-log record.
type HTTPMetrics struct {
	p      *C.sonde_http_server
	logger *Logger // kept alive: C points at it
}

// NewHTTPMetrics makes the instrument's families (two instruments with the
// same options share them).
func NewHTTPMetrics(o HTTPMetricsOpts) (*HTTPMetrics, error) {
	var co C.sonde_http_server_opts
	C.sonde_http_server_opts_init(&co)
	var mem cmem
	defer mem.free()
	cs := func(s string) *C.char { // "" is sonde's default: NULL
		if s == "" {
			return nil
		}
		return mem.str(s)
	}
	names := []string{o.RequestsName, o.DurationName, o.InFlightName, o.RequestSizeName,
		o.ResponseSizeName, o.MethodLabel, o.RouteLabel, o.StatusLabel}
	if err := noNUL("metric or label name", names...); err != nil {
		return nil, err
	}
	co.registry = o.Registry.cp()
	co.requests_name, co.duration_name = cs(o.RequestsName), cs(o.DurationName)
	co.in_flight_name = cs(o.InFlightName)
	if o.NoInFlight { // "" is "off" for sonde: a C string of length 0
		co.in_flight_name = mem.str("")
	}
	co.request_size_name, co.response_size_name = cs(o.RequestSizeName), cs(o.ResponseSizeName)
	co.method_label, co.route_label, co.status_label = cs(o.MethodLabel), cs(o.RouteLabel), cs(o.StatusLabel)
	pairs := sortedPairs(o.ConstLabels)
	if err := noNUL("constant label", pairs...); err != nil {
		return nil, err
	}
	arr, free := cStrings(pairs)
	defer free()
	co.const_labels, co.nconst = arr, C.size_t(len(pairs)/2)
	if len(o.Buckets) > 0 {
		b := (*[1 << 20]C.double)(C.malloc(C.size_t(len(o.Buckets)) * 8))[:len(o.Buckets):len(o.Buckets)]
		defer C.free(unsafe.Pointer(&b[0]))
		for i, x := range o.Buckets {
			b[i] = C.double(x)
		}
		co.duration_buckets, co.duration_bucket_count = &b[0], C.size_t(len(o.Buckets))
	}
	if o.Logger != nil {
		co.access_log = o.Logger.p
	}
	if o.NoTrace {
		co.flags = C.SONDE_HTTP_NO_TRACE
	}
	p, err := lockedPtr(func() unsafe.Pointer { return unsafe.Pointer(C.sonde_http_server_new(&co)) })
	if err != nil {
		return nil, err
	}
	return &HTTPMetrics{p: (*C.sonde_http_server)(p), logger: o.Logger}, nil
}

// Close frees the instrument (its families stay registered). Call it only
// when no request is being served.
func (m *HTTPMetrics) Close() {
	if m != nil && m.p != nil {
		C.sonde_http_server_free(m.p)
		m.p = nil
	}
}

// countingWriter records the status and the bytes of the response.
type countingWriter struct {
	statusWriter
	bytes int64
}

func (w *countingWriter) Write(b []byte) (int, error) {
	n, err := w.statusWriter.Write(b)
	w.bytes += int64(n)
	return n, err
}

// Handler wraps next: each request is begun under route (the route
// template, e.g. "/users/{id}": the route label) with its method, path and
// headers, served with x-request-id set on the response and the request's
// SpanContext in r.Context() (FromContext), and ended with the status and
// the bytes written. The goroutine is locked to its thread for the
// request (sonde's current context is per thread).
func (m *HTTPMetrics) Handler(route string, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		runtime.LockOSThread()
		defer runtime.UnlockOSThread()
		var mem cmem
		defer mem.free()
		cs := mem.str
		rq := (*C.sonde_http_request)(mem.calloc(1, C.sizeof_sonde_http_request))
		var in C.sonde_http_request_info
		C.sonde_http_request_info_init(&in, cs(r.Method), cs(route))
		in.path = cs(r.URL.Path)
		in.path_len = C.size_t(len(r.URL.Path))
		in.request_bytes = C.int64_t(r.ContentLength)
		n := 0
		for _, vs := range r.Header {
			n += len(vs)
		}
		if n > 0 {
			hs := (*[1 << 20]C.sonde_header)(mem.calloc(n, C.sizeof_sonde_header))[:n:n]
			i := 0
			for k, vs := range r.Header {
				for _, v := range vs {
					hs[i].name, hs[i].name_len = cs(k), C.size_t(len(k))
					hs[i].value, hs[i].value_len = cs(v), C.size_t(len(v))
					i++
				}
			}
			in.headers, in.nheaders = &hs[0], C.size_t(n)
		}
		if C.sonde_http_request_begin(m.p, rq, &in) != 0 {
			next.ServeHTTP(w, r) // unreachable with these arguments; serve anyway
			return
		}
		id := C.GoString(C.sonde_http_request_id(rq))
		w.Header().Set("X-Request-Id", id)
		cw := &countingWriter{statusWriter: statusWriter{ResponseWriter: w, code: http.StatusOK}}
		ended := false
		defer func() {
			if !ended { // next panicked: a 500, then the panic goes on
				C.sonde_http_request_end(rq, 500, C.int64_t(cw.bytes))
			}
		}()
		ctx := NewContext(r.Context(), CurrentContext())
		next.ServeHTTP(cw, r.WithContext(ctx))
		ended = true
		C.sonde_http_request_end(rq, C.int(cw.code), C.int64_t(cw.bytes))
	})
}
