package sonde

/*
#include <stdlib.h>
#include <sonde.h>
void *sgo_labels(int type, sonde_family *f, size_t n, const char *buf, const size_t *lens);
int sgo_remove(sonde_family *f, size_t n, const char *buf, const size_t *lens);
*/
import "C"

import (
	"math"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
	"unsafe"
)

// Registry is a sonde registry. A nil *Registry means the process-wide
// default registry, the one C code reaches with NULL.
type Registry struct {
	p *C.sonde_registry
}

// DefaultRegistry is the process-wide default registry (nil works too).
var DefaultRegistry *Registry

// NewRegistry returns a new, empty registry. Close it when no goroutine
// uses its metrics any more.
func NewRegistry() (*Registry, error) {
	p, err := lockedPtr(func() unsafe.Pointer { return unsafe.Pointer(C.sonde_registry_new()) })
	if err != nil {
		return nil, err
	}
	return &Registry{p: (*C.sonde_registry)(p)}, nil
}

func (r *Registry) cp() *C.sonde_registry {
	if r == nil {
		return nil
	}
	return r.p
}

// Close frees the registry and every metric handle taken from it: call it
// only when nothing uses them any more. Closing nil or the default
// registry does nothing; closing twice does nothing.
func (r *Registry) Close() {
	if r != nil && r.p != nil {
		C.sonde_registry_free(r.p)
		r.p = nil
	}
}

// Unregister removes a metric family from the registry's exposition; its
// handles stay safe to use (their writes are discarded).
func (r *Registry) Unregister(f Family) error {
	fp := f.family()
	if fp == nil {
		return errNilFamily
	}
	return lockedStatus(func() C.int { return C.sonde_registry_unregister(r.cp(), fp) })
}

// SetLabels sets the registry's default labels, written on every series
// it exposes (prom-client's setDefaultLabels); nil or empty removes them.
// A name that a registered family uses as a label is refused.
func (r *Registry) SetLabels(labels map[string]string) error {
	pairs := sortedPairs(labels)
	if err := noNUL("default label", pairs...); err != nil {
		return err
	}
	arr, free := cStrings(pairs)
	defer free()
	return lockedStatus(func() C.int {
		return C.sonde_registry_set_labels(r.cp(), arr, C.size_t(len(pairs)/2))
	})
}

// Opts name a metric. The full name is Namespace_Subsystem_Name, as in
// client_golang. Help may be empty. MaxChildren 0 means sonde's default
// cardinality limit (10 000).
type Opts struct {
	Registry    *Registry
	Namespace   string
	Subsystem   string
	Name        string
	Help        string
	Unit        string
	MaxChildren int
	// ConstLabels are written on every series of the family, after its
	// own labels (client_golang's ConstLabels); part of the definition.
	ConstLabels map[string]string
}

type CounterOpts = Opts
type GaugeOpts = Opts

// HistogramOpts adds the bucket upper bounds (nil = Prometheus' defaults);
// +Inf is implicit.
//
// Native (sparse exponential) histograms, as client_golang's options:
// NativeHistogramBucketFactor > 1 turns them on (each bucket at most that
// factor wider than the last; schema -4..8). With native buckets on, nil
// Buckets means no classic buckets (native only) and given Buckets mean
// both, as in client_golang. Only the protobuf exposition (FormatProtobuf)
// carries the native buckets.
type HistogramOpts struct {
	Opts
	Buckets []float64

	NativeHistogramBucketFactor     float64       // > 1: native buckets on
	NativeHistogramZeroThreshold    float64       // 0 = 2^-128; < 0 = exact zeros only
	NativeHistogramMaxBucketNumber  uint32        // per sign, 1..255; 0 = 160
	NativeHistogramMinResetDuration time.Duration // 0 = never reset at the limit
	NativeHistogramMaxZeroThreshold float64       // 0 = never widen the zero bucket
}

func (o *HistogramOpts) def() familyDef {
	d := familyDef{opts: &o.Opts, buckets: o.Buckets}
	if o.NativeHistogramBucketFactor > 1 {
		d.native = C.SONDE_NATIVE_AND_CLASSIC
		if o.Buckets == nil {
			d.native = C.SONDE_NATIVE_ONLY
		}
		d.nFactor = o.NativeHistogramBucketFactor
		d.nZero = o.NativeHistogramZeroThreshold
		d.nMax = o.NativeHistogramMaxBucketNumber
		d.nReset = o.NativeHistogramMinResetDuration
		d.nMaxZero = o.NativeHistogramMaxZeroThreshold
	}
	return d
}

// SummaryOpts adds the quantiles (nil = 0.5, 0.9, 0.99) and the sliding
// window (MaxAge 0 = 10 minutes, AgeBuckets 0 = 5).
type SummaryOpts struct {
	Opts
	Quantiles  []float64
	MaxAge     time.Duration
	AgeBuckets uint32
}

func fullName(o *Opts) string {
	parts := make([]string, 0, 3)
	for _, p := range []string{o.Namespace, o.Subsystem, o.Name} {
		if p != "" {
			parts = append(parts, p)
		}
	}
	return strings.Join(parts, "_")
}

type familyDef struct {
	typ       C.sonde_metric_type
	opts      *Opts
	labels    []string
	buckets   []float64
	quantiles []float64
	maxAge    time.Duration
	ageBkts   uint32
	native    C.sonde_native_mode
	nFactor   float64
	nZero     float64
	nMax      uint32
	nReset    time.Duration
	nMaxZero  float64
}

// newFamily registers the family with sonde_family_new (every string and
// array in C memory for the call).
func newFamily(d familyDef) (*C.sonde_family, error) {
	o := d.opts
	if o == nil {
		return nil, newError(-1, "sonde: nil opts")
	}
	if err := noNUL("metric name, help, unit or label name", append([]string{fullName(o), o.Help, o.Unit}, d.labels...)...); err != nil {
		return nil, err
	}
	name, help, unit := C.CString(fullName(o)), C.CString(o.Help), cstrOrNil(o.Unit)
	defer freeAll(name, help, unit)
	var co C.sonde_metric_opts
	C.sonde_metric_opts_init(&co, d.typ, name, help)
	co.unit = unit
	if n := len(d.labels); n > 0 {
		arr := (*[1 << 20]*C.char)(C.malloc(C.size_t(n) * C.size_t(unsafe.Sizeof((*C.char)(nil)))))[:n:n]
		for i, l := range d.labels {
			arr[i] = C.CString(l)
		}
		defer func() {
			freeAll(arr...)
			C.free(unsafe.Pointer(&arr[0]))
		}()
		co.label_names = &arr[0]
		co.label_count = C.size_t(n)
	}
	if len(o.ConstLabels) > 0 {
		pairs := sortedPairs(o.ConstLabels)
		if err := noNUL("constant label", pairs...); err != nil {
			return nil, err
		}
		arr, free := cStrings(pairs)
		defer free()
		co.const_labels = arr
		co.const_label_count = C.size_t(len(pairs) / 2)
	}
	cdoubles := func(v []float64) (*C.double, func()) {
		if len(v) == 0 {
			return nil, func() {}
		}
		p := (*[1 << 20]C.double)(C.malloc(C.size_t(len(v)) * 8))[:len(v):len(v)]
		for i, x := range v {
			p[i] = C.double(x)
		}
		return &p[0], func() { C.free(unsafe.Pointer(&p[0])) }
	}
	b := d.buckets
	if len(b) > 0 && math.IsInf(b[len(b)-1], 1) {
		b = b[:len(b)-1]
	}
	bp, bfree := cdoubles(b)
	defer bfree()
	co.buckets, co.bucket_count = bp, C.size_t(len(b))
	qp, qfree := cdoubles(d.quantiles)
	defer qfree()
	co.quantiles, co.quantile_count = qp, C.size_t(len(d.quantiles))
	co.max_age_seconds = C.double(d.maxAge.Seconds())
	co.age_buckets = C.uint(d.ageBkts)
	if o.MaxChildren < 0 {
		return nil, newError(-1, "sonde: negative MaxChildren")
	}
	co.max_children = C.size_t(o.MaxChildren)
	co.native = d.native
	co.native_bucket_factor = C.double(d.nFactor)
	co.native_zero_threshold = C.double(d.nZero)
	co.native_max_buckets = C.uint32_t(d.nMax)
	co.native_min_reset_seconds = C.double(d.nReset.Seconds())
	co.native_max_zero_threshold = C.double(d.nMaxZero)
	p, err := lockedPtr(func() unsafe.Pointer { return unsafe.Pointer(C.sonde_family_new(o.Registry.cp(), &co)) })
	return (*C.sonde_family)(p), err
}

// Family is any metric family (for Registry.Unregister).
type Family interface{ family() *C.sonde_family }

// vec is the part shared by the *Vec types: the family and a cache of
// children by label values.
type vec struct {
	f     *C.sonde_family
	typ   C.int
	names []string
	cache sync.Map // packed label values -> *cachedChild
}

// cachedChild is a cache entry: valid only while libsonde's removal
// generation still equals gen (read before the lookup that found w).
type cachedChild struct {
	w   interface{}
	gen uint64
}

// removalGen reads libsonde's removal generation, sonde__static_gen: the
// C side bumps it (release) after every child removal anywhere
// (sonde_family_remove, sonde_family_clear, unregistering), and the C
// macros' call-site caches check it the same way. An atomic load of C
// memory, not a cgo call.
func removalGen() uint64 {
	return atomic.LoadUint64((*uint64)(unsafe.Pointer(&C.sonde__static_gen)))
}

func (v *vec) family() *C.sonde_family {
	if v == nil {
		return nil
	}
	return v.f
}

func cacheKey(vals []string) string {
	var b strings.Builder
	for _, s := range vals {
		b.WriteString(strconv.Itoa(len(s)))
		b.WriteByte(':')
		b.WriteString(s)
	}
	return b.String()
}

// child returns the cached wrapper for these values, or looks the child up
// in sonde (lock-free for an existing one) and caches wrap(pointer).
//
// A cached child is served only if no child was removed anywhere since it
// was looked up (issue 13.5): another vec of the same definition, C code
// or a concurrent Delete may have removed it, and a removed child discards
// its writes. The generation is read before the lookup, so a child removed
// while this call looks it up is cached under a generation that has
// already moved, and the next call looks it up again.
func (v *vec) child(vals []string, wrap func(unsafe.Pointer) interface{}) (interface{}, error) {
	if v == nil || v.f == nil {
		return nil, errNilFamily
	}
	key := cacheKey(vals)
	gen := removalGen()
	if e, ok := v.cache.Load(key); ok {
		if c := e.(*cachedChild); c.gen == gen {
			return c.w, nil
		}
	}
	buf, lens := packValues(vals)
	p, err := lockedPtr(func() unsafe.Pointer {
		return C.sgo_labels(v.typ, v.f, C.size_t(len(vals)), (*C.char)(unsafe.Pointer(&buf[0])), &lens[0])
	})
	if err != nil {
		return nil, err
	}
	w := wrap(p)
	v.cache.Store(key, &cachedChild{w: w, gen: gen})
	return w, nil
}

// Delete removes the child with these label values (old handles stay safe:
// their writes are discarded). ErrNotFound if there is none.
func (v *vec) Delete(vals ...string) error {
	if v == nil || v.f == nil {
		return errNilFamily
	}
	buf, lens := packValues(vals)
	err := lockedStatus(func() C.int {
		return C.sgo_remove(v.f, C.size_t(len(vals)), (*C.char)(unsafe.Pointer(&buf[0])), &lens[0])
	})
	v.cache.Delete(cacheKey(vals)) // memory only: the generation moved
	return err
}

// Reset removes every child.
func (v *vec) Reset() {
	if v == nil || v.f == nil {
		return
	}
	C.sonde_family_clear(v.f)
	// memory only: the generation moved, no entry would be served
	v.cache.Range(func(k, _ interface{}) bool { v.cache.Delete(k); return true })
}

// Len is the number of live children.
func (v *vec) Len() int {
	if v == nil {
		return 0
	}
	return int(C.sonde_family_size(v.f))
}

func newVec(typ C.sonde_metric_type, d familyDef, labels []string) (*vec, error) {
	d.typ, d.labels = typ, labels
	f, err := newFamily(d)
	if err != nil {
		return nil, err
	}
	return &vec{f: f, typ: C.int(typ), names: labels}, nil
}

// ---- counters ----------------------------------------------------------------

// Counter is one counter series. A nil *Counter is a no-op (as a NULL
// handle is in C), which is what WithLabelValues returns on error.
type Counter struct{ p *C.sonde_counter }

// CounterVec is a counter family with labels.
type CounterVec struct{ v *vec }

func (v *CounterVec) base() *vec {
	if v == nil {
		return nil
	}
	return v.v
}

// Delete removes the child with these label values (old handles stay
// safe: their writes are discarded). ErrNotFound if there is none.
func (v *CounterVec) Delete(vals ...string) error { return v.base().Delete(vals...) }

// Reset removes every child.
func (v *CounterVec) Reset() { v.base().Reset() }

// Len is the number of live children.
func (v *CounterVec) Len() int { return v.base().Len() }

func (v *CounterVec) family() *C.sonde_family { return v.base().family() }

// NewCounter registers a counter without labels. As client_golang, the
// name is used as given (end it in _total).
func NewCounter(o CounterOpts) (*Counter, error) {
	v, err := newVec(C.SONDE_TYPE_COUNTER, familyDef{opts: &o}, nil)
	if err != nil {
		return nil, err
	}
	w, err := v.child(nil, wrapCounter)
	if err != nil {
		return nil, err
	}
	return w.(*Counter), nil
}

// NewCounterVec registers a counter family with these label names.
func NewCounterVec(o CounterOpts, labelNames []string) (*CounterVec, error) {
	v, err := newVec(C.SONDE_TYPE_COUNTER, familyDef{opts: &o}, labelNames)
	if err != nil {
		return nil, err
	}
	return &CounterVec{v: v}, nil
}

// GetMetricWithLabelValues returns the child for these values (valid UTF-8: ErrInvalid otherwise),
// created on first use and cached, or sonde's error (wrong count,
// cardinality limit, ...).
func (v *CounterVec) GetMetricWithLabelValues(vals ...string) (*Counter, error) {
	w, err := v.base().child(vals, wrapCounter)
	if err != nil {
		return nil, err
	}
	return w.(*Counter), nil
}

// WithLabelValues is GetMetricWithLabelValues without the error: on error
// it returns nil, whose methods do nothing (it never panics).
func (v *CounterVec) WithLabelValues(vals ...string) *Counter {
	c, _ := v.GetMetricWithLabelValues(vals...)
	return c
}

func (c *Counter) cp() *C.sonde_counter {
	if c == nil {
		return nil
	}
	return c.p
}

// Inc adds 1.
func (c *Counter) Inc() { C.sonde_counter_inc(c.cp()) }

// Add adds v; a negative or NaN v is dropped and counted by sonde.
func (c *Counter) Add(v float64) { C.sonde_counter_add(c.cp(), C.double(v)) }

// AddUint64 adds an integer exactly.
func (c *Counter) AddUint64(v uint64) { C.sonde_counter_add_u64(c.cp(), C.uint64_t(v)) }

// Value sums every thread's cell (not for hot paths).
func (c *Counter) Value() float64 { return float64(C.sonde_counter_value(c.cp())) }

// ---- gauges --------------------------------------------------------------------

// Gauge is one gauge series; nil is a no-op.
type Gauge struct{ p *C.sonde_gauge }

// GaugeVec is a gauge family with labels.
type GaugeVec struct{ v *vec }

func (v *GaugeVec) base() *vec {
	if v == nil {
		return nil
	}
	return v.v
}

// Delete removes the child with these label values (old handles stay
// safe: their writes are discarded). ErrNotFound if there is none.
func (v *GaugeVec) Delete(vals ...string) error { return v.base().Delete(vals...) }

// Reset removes every child.
func (v *GaugeVec) Reset() { v.base().Reset() }

// Len is the number of live children.
func (v *GaugeVec) Len() int { return v.base().Len() }

func (v *GaugeVec) family() *C.sonde_family { return v.base().family() }

func NewGauge(o GaugeOpts) (*Gauge, error) {
	v, err := newVec(C.SONDE_TYPE_GAUGE, familyDef{opts: &o}, nil)
	if err != nil {
		return nil, err
	}
	w, err := v.child(nil, wrapGauge)
	if err != nil {
		return nil, err
	}
	return w.(*Gauge), nil
}

func NewGaugeVec(o GaugeOpts, labelNames []string) (*GaugeVec, error) {
	v, err := newVec(C.SONDE_TYPE_GAUGE, familyDef{opts: &o}, labelNames)
	if err != nil {
		return nil, err
	}
	return &GaugeVec{v: v}, nil
}

func (v *GaugeVec) GetMetricWithLabelValues(vals ...string) (*Gauge, error) {
	w, err := v.base().child(vals, wrapGauge)
	if err != nil {
		return nil, err
	}
	return w.(*Gauge), nil
}

func (v *GaugeVec) WithLabelValues(vals ...string) *Gauge {
	g, _ := v.GetMetricWithLabelValues(vals...)
	return g
}

func (g *Gauge) cp() *C.sonde_gauge {
	if g == nil {
		return nil
	}
	return g.p
}

func (g *Gauge) Set(v float64)     { C.sonde_gauge_set(g.cp(), C.double(v)) }
func (g *Gauge) Add(v float64)     { C.sonde_gauge_add(g.cp(), C.double(v)) }
func (g *Gauge) Sub(v float64)     { C.sonde_gauge_sub(g.cp(), C.double(v)) }
func (g *Gauge) Inc()              { C.sonde_gauge_inc(g.cp()) }
func (g *Gauge) Dec()              { C.sonde_gauge_dec(g.cp()) }
func (g *Gauge) SetToCurrentTime() { C.sonde_gauge_set_to_current_time(g.cp()) }
func (g *Gauge) Value() float64    { return float64(C.sonde_gauge_value(g.cp())) }

// ---- histograms ------------------------------------------------------------------

// Histogram is one histogram series; nil is a no-op.
type Histogram struct{ p *C.sonde_histogram }

// HistogramVec is a histogram family with labels.
type HistogramVec struct{ v *vec }

func (v *HistogramVec) base() *vec {
	if v == nil {
		return nil
	}
	return v.v
}

// Delete removes the child with these label values (old handles stay
// safe: their writes are discarded). ErrNotFound if there is none.
func (v *HistogramVec) Delete(vals ...string) error { return v.base().Delete(vals...) }

// Reset removes every child.
func (v *HistogramVec) Reset() { v.base().Reset() }

// Len is the number of live children.
func (v *HistogramVec) Len() int { return v.base().Len() }

func (v *HistogramVec) family() *C.sonde_family { return v.base().family() }

func NewHistogram(o HistogramOpts) (*Histogram, error) {
	v, err := newVec(C.SONDE_TYPE_HISTOGRAM, o.def(), nil)
	if err != nil {
		return nil, err
	}
	w, err := v.child(nil, wrapHistogram)
	if err != nil {
		return nil, err
	}
	return w.(*Histogram), nil
}

func NewHistogramVec(o HistogramOpts, labelNames []string) (*HistogramVec, error) {
	v, err := newVec(C.SONDE_TYPE_HISTOGRAM, o.def(), labelNames)
	if err != nil {
		return nil, err
	}
	return &HistogramVec{v: v}, nil
}

func (v *HistogramVec) GetMetricWithLabelValues(vals ...string) (*Histogram, error) {
	w, err := v.base().child(vals, wrapHistogram)
	if err != nil {
		return nil, err
	}
	return w.(*Histogram), nil
}

func (v *HistogramVec) WithLabelValues(vals ...string) *Histogram {
	h, _ := v.GetMetricWithLabelValues(vals...)
	return h
}

func (h *Histogram) cp() *C.sonde_histogram {
	if h == nil {
		return nil
	}
	return h.p
}

// Observe counts v (NaN is dropped and counted by sonde).
func (h *Histogram) Observe(v float64) { C.sonde_histogram_observe(h.cp(), C.double(v)) }
func (h *Histogram) Count() uint64     { return uint64(C.sonde_histogram_count(h.cp())) }
func (h *Histogram) Sum() float64      { return float64(C.sonde_histogram_sum(h.cp())) }

// Bucket is the cumulative count of bucket i (i == len(bounds) is +Inf).
func (h *Histogram) Bucket(i int) uint64 {
	if i < 0 {
		return 0
	}
	return uint64(C.sonde_histogram_bucket(h.cp(), C.size_t(i)))
}

// ---- summaries ----------------------------------------------------------------------

// Summary is one summary series (quantiles over a sliding window); nil is a no-op.
type Summary struct{ p *C.sonde_summary }

// SummaryVec is a summary family with labels.
type SummaryVec struct{ v *vec }

func (v *SummaryVec) base() *vec {
	if v == nil {
		return nil
	}
	return v.v
}

// Delete removes the child with these label values (old handles stay
// safe: their writes are discarded). ErrNotFound if there is none.
func (v *SummaryVec) Delete(vals ...string) error { return v.base().Delete(vals...) }

// Reset removes every child.
func (v *SummaryVec) Reset() { v.base().Reset() }

// Len is the number of live children.
func (v *SummaryVec) Len() int { return v.base().Len() }

func (v *SummaryVec) family() *C.sonde_family { return v.base().family() }

func summaryDef(o *SummaryOpts) familyDef {
	return familyDef{opts: &o.Opts, quantiles: o.Quantiles, maxAge: o.MaxAge, ageBkts: o.AgeBuckets}
}

func NewSummary(o SummaryOpts) (*Summary, error) {
	v, err := newVec(C.SONDE_TYPE_SUMMARY, summaryDef(&o), nil)
	if err != nil {
		return nil, err
	}
	w, err := v.child(nil, wrapSummary)
	if err != nil {
		return nil, err
	}
	return w.(*Summary), nil
}

func NewSummaryVec(o SummaryOpts, labelNames []string) (*SummaryVec, error) {
	v, err := newVec(C.SONDE_TYPE_SUMMARY, summaryDef(&o), labelNames)
	if err != nil {
		return nil, err
	}
	return &SummaryVec{v: v}, nil
}

func (v *SummaryVec) GetMetricWithLabelValues(vals ...string) (*Summary, error) {
	w, err := v.base().child(vals, wrapSummary)
	if err != nil {
		return nil, err
	}
	return w.(*Summary), nil
}

func (v *SummaryVec) WithLabelValues(vals ...string) *Summary {
	s, _ := v.GetMetricWithLabelValues(vals...)
	return s
}

func (s *Summary) cp() *C.sonde_summary {
	if s == nil {
		return nil
	}
	return s.p
}

func (s *Summary) Observe(v float64) { C.sonde_summary_observe(s.cp(), C.double(v)) }
func (s *Summary) Count() uint64     { return uint64(C.sonde_summary_count(s.cp())) }
func (s *Summary) Sum() float64      { return float64(C.sonde_summary_sum(s.cp())) }

// Quantile of the current window (NaN when empty or q is out of range).
func (s *Summary) Quantile(q float64) float64 {
	return float64(C.sonde_summary_quantile(s.cp(), C.double(q)))
}

// ---- timing ----------------------------------------------------------------------------

// Observer is anything with Observe (Histogram, Summary).
type Observer interface{ Observe(float64) }

// Timer measures a duration into an Observer:
//
//	defer sonde.NewTimer(hist).ObserveDuration()
type Timer struct {
	o     Observer
	start time.Time
}

func NewTimer(o Observer) *Timer { return &Timer{o: o, start: time.Now()} }

// ObserveDuration observes the seconds since NewTimer and returns the duration.
func (t *Timer) ObserveDuration() time.Duration {
	d := time.Since(t.start)
	if t.o != nil {
		t.o.Observe(d.Seconds())
	}
	return d
}

// LinearBuckets and ExponentialBuckets are sonde's bucket helpers.
func LinearBuckets(start, width float64, count int) ([]float64, error) {
	return buckets(count, func(out *C.double) C.int {
		return C.sonde_buckets_linear(C.double(start), C.double(width), C.size_t(count), out)
	})
}

func ExponentialBuckets(start, factor float64, count int) ([]float64, error) {
	return buckets(count, func(out *C.double) C.int {
		return C.sonde_buckets_exponential(C.double(start), C.double(factor), C.size_t(count), out)
	})
}

func buckets(count int, fn func(*C.double) C.int) ([]float64, error) {
	if count <= 0 || count > 256 {
		return nil, fmtErr("sonde: bucket count %d out of range 1..256", count)
	}
	out := make([]C.double, count)
	if err := lockedStatus(func() C.int { return fn(&out[0]) }); err != nil {
		return nil, err
	}
	res := make([]float64, count)
	for i := range out {
		res[i] = float64(out[i])
	}
	return res, nil
}

// Handle is the C sonde_registry pointer (nil for the default registry),
// for handing the registry to C code.
func (r *Registry) Handle() unsafe.Pointer { return unsafe.Pointer(r.cp()) }

func wrapCounter(p unsafe.Pointer) interface{} { return &Counter{(*C.sonde_counter)(p)} }

func wrapGauge(p unsafe.Pointer) interface{} { return &Gauge{(*C.sonde_gauge)(p)} }

func wrapHistogram(p unsafe.Pointer) interface{} { return &Histogram{(*C.sonde_histogram)(p)} }

func wrapSummary(p unsafe.Pointer) interface{} { return &Summary{(*C.sonde_summary)(p)} }
