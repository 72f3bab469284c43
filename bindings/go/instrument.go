package sonde

// HTTP server middleware in the manner of client_golang's promhttp
// (InstrumentHandlerCounter, InstrumentHandlerDuration,
// InstrumentHandlerInFlight), writing sonde's own counters, histograms and
// gauges, so the series land in the registry the C side of the process
// exposes too. The label names a vec may carry are "code" (the response
// status as three digits) and "method" (the request method, upper case,
// as promhttp reports it); a vec with any other label name is refused
// with an error instead of a panic.

import (
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// statusWriter records the status a handler answered with (200 when it
// wrote without calling WriteHeader).
type statusWriter struct {
	http.ResponseWriter
	code        int
	wroteHeader bool
}

func (w *statusWriter) WriteHeader(code int) {
	if !w.wroteHeader {
		w.code, w.wroteHeader = code, true
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusWriter) Write(b []byte) (int, error) {
	if !w.wroteHeader {
		w.code, w.wroteHeader = http.StatusOK, true
	}
	return w.ResponseWriter.Write(b)
}

// Flush passes through to the underlying writer when it can flush.
func (w *statusWriter) Flush() {
	if f, ok := w.ResponseWriter.(http.Flusher); ok {
		if !w.wroteHeader {
			w.code, w.wroteHeader = http.StatusOK, true
		}
		f.Flush()
	}
}

// Unwrap gives http.ResponseController (Go 1.20+) the writer underneath.
func (w *statusWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// requestLabels says which of "code" and "method" a vec has, in order.
func requestLabels(names []string) ([]string, error) {
	for _, n := range names {
		if n != "code" && n != "method" {
			return nil, newError(-1, fmt.Sprintf(
				"sonde: label %q: an instrumented handler's metric may only have the labels \"code\" and \"method\"", n))
		}
	}
	return names, nil
}

func labelValues(names []string, code int, method string) []string {
	vals := make([]string, len(names))
	for i, n := range names {
		if n == "code" {
			vals[i] = strconv.Itoa(code)
		} else {
			vals[i] = sanitizeMethod(method)
		}
	}
	return vals
}

// sanitizeMethod upper-cases the standard methods; any other method is
// reported as is when it is a valid token of at most 16 bytes, else as
// "other", so a client cannot mint unbounded series.
func sanitizeMethod(m string) string {
	switch u := strings.ToUpper(m); u {
	case "GET", "HEAD", "POST", "PUT", "DELETE", "CONNECT", "OPTIONS", "TRACE", "PATCH":
		return u
	}
	if len(m) == 0 || len(m) > 16 {
		return "other"
	}
	for i := 0; i < len(m); i++ {
		c := m[i]
		if !(c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-' || c == '_') {
			return "other"
		}
	}
	return m
}

func serve(next http.Handler, w http.ResponseWriter, r *http.Request) int {
	sw := &statusWriter{ResponseWriter: w, code: http.StatusOK}
	next.ServeHTTP(sw, r)
	return sw.code
}

// InstrumentHandlerCounter counts each request next served in c, by the
// labels c has of "code" and "method". Errors: nil c or next, or another
// label name.
func InstrumentHandlerCounter(c *CounterVec, next http.Handler) (http.Handler, error) {
	if c == nil || c.v == nil || next == nil {
		return nil, newError(-1, "sonde: InstrumentHandlerCounter: nil counter vec or handler")
	}
	names, err := requestLabels(c.v.names)
	if err != nil {
		return nil, err
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		code := serve(next, w, r)
		c.WithLabelValues(labelValues(names, code, r.Method)...).Inc()
	}), nil
}

// InstrumentHandlerDuration observes in h the seconds each request took
// next, up to its return, by the labels h has of "code" and "method".
func InstrumentHandlerDuration(h *HistogramVec, next http.Handler) (http.Handler, error) {
	if h == nil || h.v == nil || next == nil {
		return nil, newError(-1, "sonde: InstrumentHandlerDuration: nil histogram vec or handler")
	}
	names, err := requestLabels(h.v.names)
	if err != nil {
		return nil, err
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		code := serve(next, w, r)
		h.WithLabelValues(labelValues(names, code, r.Method)...).Observe(time.Since(start).Seconds())
	}), nil
}

// InstrumentHandlerInFlight keeps g at the number of requests next is
// serving.
func InstrumentHandlerInFlight(g *Gauge, next http.Handler) (http.Handler, error) {
	if g == nil || next == nil {
		return nil, newError(-1, "sonde: InstrumentHandlerInFlight: nil gauge or handler")
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		g.Inc()
		defer g.Dec()
		next.ServeHTTP(w, r)
	}), nil
}

// InstrumentHandler wraps next in all three, with the names client_golang's
// examples use, in reg (nil: the default registry), each with a "handler"
// label set to handler:
//
//	http_requests_total{handler,code,method}             counter
//	http_request_duration_seconds{handler,code,method}   histogram (default buckets)
//	http_requests_in_flight{handler}                     gauge
//
// Calling it for several handlers shares the three families (sonde returns
// the family already registered under an identical definition). Errors:
// nil next, an empty handler name, or a family of one of those names
// registered with another definition (*Error, EEXIST).
func InstrumentHandler(reg *Registry, handler string, next http.Handler) (http.Handler, error) {
	if next == nil || handler == "" {
		return nil, newError(-1, "sonde: InstrumentHandler: nil handler or empty handler name")
	}
	labels := []string{"handler", "code", "method"}
	reqs, err := NewCounterVec(CounterOpts{Registry: reg, Name: "http_requests_total",
		Help: "HTTP requests served, by handler, status code and method."}, labels)
	if err != nil {
		return nil, err
	}
	dur, err := NewHistogramVec(HistogramOpts{Opts: Opts{Registry: reg, Name: "http_request_duration_seconds",
		Help: "Time spent serving HTTP requests, by handler, status code and method."}}, labels)
	if err != nil {
		return nil, err
	}
	infl, err := NewGaugeVec(GaugeOpts{Registry: reg, Name: "http_requests_in_flight",
		Help: "HTTP requests being served, by handler."}, []string{"handler"})
	if err != nil {
		return nil, err
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		// looked up per request (a cached child), so a Reset elsewhere
		// never leaves a removed child in use
		inflight := infl.WithLabelValues(handler)
		inflight.Inc()
		defer inflight.Dec()
		start := time.Now()
		code := serve(next, w, r)
		vals := []string{handler, strconv.Itoa(code), sanitizeMethod(r.Method)}
		dur.WithLabelValues(vals...).Observe(time.Since(start).Seconds())
		reqs.WithLabelValues(vals...).Inc()
	}), nil
}
