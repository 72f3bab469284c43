package sonde_test

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	sonde "github.com/sonde-sdk/sonde/bindings/go"
	"github.com/sonde-sdk/sonde/bindings/go/internal/ctest"
)

func newReg(t testing.TB) *sonde.Registry {
	r, err := sonde.NewRegistry()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(r.Close)
	return r
}

func expose(t testing.TB, r *sonde.Registry, f sonde.Format) string {
	b, err := r.Expose(f)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func mustContain(t *testing.T, s string, subs ...string) {
	t.Helper()
	for _, sub := range subs {
		if !strings.Contains(s, sub) {
			t.Errorf("missing %q in:\n%s", sub, s)
		}
	}
}

func TestCounter(t *testing.T) {
	r := newReg(t)
	c, err := sonde.NewCounter(sonde.CounterOpts{Registry: r, Namespace: "app", Name: "jobs_total", Help: "Jobs."})
	if err != nil {
		t.Fatal(err)
	}
	c.Inc()
	c.Add(2.5)
	c.AddUint64(3)
	c.Add(-1)         // dropped and counted by sonde
	c.Add(math.NaN()) // likewise
	if got := c.Value(); got != 6.5 {
		t.Fatalf("value %v, want 6.5", got)
	}
	mustContain(t, expose(t, r, sonde.FormatText), "# TYPE app_jobs_total counter\napp_jobs_total 6.5\n")
}

func TestCounterVecLabelsAndErrors(t *testing.T) {
	r := newReg(t)
	v, err := sonde.NewCounterVec(sonde.CounterOpts{Registry: r, Name: "req_total", Help: "R."}, []string{"method", "code"})
	if err != nil {
		t.Fatal(err)
	}
	a := v.WithLabelValues("GET", "200")
	if a != v.WithLabelValues("GET", "200") {
		t.Error("child not cached")
	}
	a.Inc()
	v.WithLabelValues("GET", "200").Add(2)
	v.WithLabelValues("a\u00e9b", "q\"\\\n").Inc()
	// label values must be UTF-8: an invalid one is refused, not exposed
	// as U+FFFD (two such values would collapse into one series)
	if _, err := v.GetMetricWithLabelValues("a\xffb", "x"); !errors.Is(err, sonde.ErrInvalid) ||
		!strings.Contains(err.Error(), "not valid UTF-8") {
		t.Errorf("invalid UTF-8 accepted: %v", err)
	}
	if v.Len() != 2 {
		t.Errorf("len %d, want 2", v.Len())
	}
	_, err = v.GetMetricWithLabelValues("only-one")
	if !errors.Is(err, sonde.ErrInvalid) || !strings.Contains(err.Error(), "1 label values given") {
		t.Errorf("wrong count: %v", err)
	}
	var se *sonde.Error
	if !errors.As(err, &se) || se.Code != -1 || se.Name != "EINVAL" {
		t.Errorf("not a *sonde.Error with EINVAL: %#v", err)
	}
	if _, err := v.GetMetricWithLabelValues(make([]string, 40)...); err == nil {
		t.Error("40 values accepted")
	}
	if _, err := v.GetMetricWithLabelValues("GET", strings.Repeat("x", 2000)); !errors.Is(err, sonde.ErrInvalid) {
		t.Errorf("long value: %v", err)
	}
	bad := v.WithLabelValues("x") // nil on error, and nil is a no-op
	if bad != nil {
		t.Error("WithLabelValues with a wrong count returned a child")
	}
	bad.Inc()
	bad.Add(1)
	mustContain(t, expose(t, r, sonde.FormatText),
		`req_total{method="GET",code="200"} 3`, "req_total{method=\"a\u00e9b\",code=\"q\\\"\\\\\\n\"} 1")
}

func TestNamesAndConflicts(t *testing.T) {
	r := newReg(t)
	_, err := sonde.NewCounter(sonde.CounterOpts{Registry: r, Name: "9bad"})
	if !errors.Is(err, sonde.ErrInvalid) || !strings.Contains(err.Error(), `"9bad" is invalid`) {
		t.Errorf("bad name: %v", err)
	}
	if _, err := sonde.NewCounter(sonde.CounterOpts{Registry: r, Name: "nul\x00name"}); !errors.Is(err, sonde.ErrInvalid) {
		t.Errorf("NUL in name: %v", err)
	}
	if _, err := sonde.NewCounterVec(sonde.CounterOpts{Registry: r, Name: "nul_label"}, []string{"a\x00b"}); !errors.Is(err, sonde.ErrInvalid) {
		t.Errorf("NUL in label name: %v", err)
	}
	if _, err := sonde.NewGauge(sonde.GaugeOpts{Registry: r, Name: "same", Help: "one"}); err != nil {
		t.Fatal(err)
	}
	if _, err := sonde.NewGauge(sonde.GaugeOpts{Registry: r, Name: "same", Help: "one"}); err != nil {
		t.Errorf("identical re-registration: %v", err)
	}
	if _, err := sonde.NewGauge(sonde.GaugeOpts{Registry: r, Name: "same", Help: "two"}); !errors.Is(err, sonde.ErrExists) {
		t.Errorf("conflict: %v", err)
	}
	if _, err := sonde.NewHistogramVec(sonde.HistogramOpts{Opts: sonde.Opts{Registry: r, Name: "h"}}, []string{"le"}); !errors.Is(err, sonde.ErrInvalid) {
		t.Errorf("le label: %v", err)
	}
}

func TestCardinalityLimit(t *testing.T) {
	r := newReg(t)
	v, err := sonde.NewGaugeVec(sonde.GaugeOpts{Registry: r, Name: "lim", MaxChildren: 2}, []string{"k"})
	if err != nil {
		t.Fatal(err)
	}
	v.WithLabelValues("a").Set(1)
	v.WithLabelValues("b").Set(2)
	if _, err := v.GetMetricWithLabelValues("c"); !errors.Is(err, sonde.ErrLimit) {
		t.Errorf("third child: %v", err)
	}
}

func TestDeleteReset(t *testing.T) {
	r := newReg(t)
	v, _ := sonde.NewCounterVec(sonde.CounterOpts{Registry: r, Name: "rm_total"}, []string{"k"})
	old := v.WithLabelValues("a")
	old.Inc()
	if err := v.Delete("a"); err != nil {
		t.Fatal(err)
	}
	old.Inc() // discarded, never a crash
	if strings.Contains(expose(t, r, sonde.FormatText), `rm_total{k="a"}`) {
		t.Error("deleted child still exposed")
	}
	if err := v.Delete("zz"); !errors.Is(err, sonde.ErrNotFound) {
		t.Errorf("delete missing: %v", err)
	}
	v.WithLabelValues("b").Inc()
	v.Reset()
	if v.Len() != 0 {
		t.Error("reset left children")
	}
	if err := r.Unregister(v); err != nil {
		t.Error(err)
	}
	var nilVec *sonde.CounterVec
	if nilVec.WithLabelValues("x") != nil || nilVec.Len() != 0 || nilVec.Delete("x") == nil {
		t.Error("nil vec not safe")
	}
	nilVec.Reset()
}

// Issue 13.5: two vecs of one definition share the C family; a child
// removed (Delete or Reset) through one must not stay cached in the other.
func TestDeleteThroughAnotherVec(t *testing.T) {
	r := newReg(t)
	o := sonde.CounterOpts{Registry: r, Name: "shared_total", Help: "S."}
	a, err := sonde.NewCounterVec(o, []string{"k"})
	if err != nil {
		t.Fatal(err)
	}
	b, err := sonde.NewCounterVec(o, []string{"k"})
	if err != nil {
		t.Fatal(err)
	}
	b.WithLabelValues("x").Inc()
	if err := a.Delete("x"); err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 5; i++ {
		b.WithLabelValues("x").Inc()
	}
	if !strings.Contains(expose(t, r, sonde.FormatText), `shared_total{k="x"} 5`+"\n") {
		t.Errorf("writes after a delete through another vec lost:\n%s", expose(t, r, sonde.FormatText))
	}
	b.WithLabelValues("y").Add(2)
	a.Reset() // sonde_family_clear through the other vec
	b.WithLabelValues("y").Add(3)
	if !strings.Contains(expose(t, r, sonde.FormatText), `shared_total{k="y"} 3`+"\n") {
		t.Errorf("writes after a reset through another vec lost:\n%s", expose(t, r, sonde.FormatText))
	}
}

// seriesValue is the integer value of the sample line starting with
// prefix in a text exposition, 0 when there is none.
func seriesValue(page, prefix string) int {
	for _, line := range strings.Split(page, "\n") {
		if strings.HasPrefix(line, prefix) {
			var n int
			fmt.Sscanf(line[len(prefix):], "%d", &n)
			return n
		}
	}
	return 0
}

// A WithLabelValues racing a Delete must never leave the removed child in
// the cache: after the deletes stop, every write lands (exact total).
func TestDeleteWithLabelValuesRace(t *testing.T) {
	r := newReg(t)
	v, _ := sonde.NewCounterVec(sonde.CounterOpts{Registry: r, Name: "race_total"}, []string{"k"})
	const writers, rounds, perRound = 4, 200, 50
	for round := 0; round < rounds; round++ {
		var wg sync.WaitGroup
		stop := make(chan struct{})
		for w := 0; w < writers; w++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for {
					select {
					case <-stop:
						return
					default:
						v.WithLabelValues("x").Inc()
					}
				}
			}()
		}
		for i := 0; i < 20; i++ {
			v.Delete("x")
			runtime.Gosched()
		}
		v.Delete("x")
		close(stop)
		wg.Wait()
		// Deletes over: the writes from now on must all be counted.
		base := seriesValue(expose(t, r, sonde.FormatText), `race_total{k="x"} `)
		var wg2 sync.WaitGroup
		for w := 0; w < writers; w++ {
			wg2.Add(1)
			go func() {
				defer wg2.Done()
				for i := 0; i < perRound; i++ {
					v.WithLabelValues("x").Inc()
				}
			}()
		}
		wg2.Wait()
		want := fmt.Sprintf(`race_total{k="x"} %d`+"\n", base+writers*perRound)
		if got := expose(t, r, sonde.FormatText); !strings.Contains(got, want) {
			t.Fatalf("round %d: writes lost, want %q in:\n%s", round, want, got)
		}
	}
}

func TestGaugeHistogramSummary(t *testing.T) {
	r := newReg(t)
	g, _ := sonde.NewGauge(sonde.GaugeOpts{Registry: r, Name: "temp"})
	g.Set(10)
	g.Inc()
	g.Add(2.5)
	g.Dec()
	g.Sub(0.5)
	if g.Value() != 12 {
		t.Errorf("gauge %v", g.Value())
	}
	h, err := sonde.NewHistogram(sonde.HistogramOpts{Opts: sonde.Opts{Registry: r, Name: "lat_seconds"}, Buckets: []float64{0.1, 1, math.Inf(1)}})
	if err != nil {
		t.Fatal(err)
	}
	for _, v := range []float64{0.05, 0.1, 0.5, 3} {
		h.Observe(v)
	}
	if h.Bucket(0) != 2 || h.Bucket(1) != 3 || h.Bucket(2) != 4 || h.Count() != 4 {
		t.Errorf("buckets %d %d %d count %d", h.Bucket(0), h.Bucket(1), h.Bucket(2), h.Count())
	}
	func() { defer sonde.NewTimer(h).ObserveDuration() }()
	if h.Count() != 5 || h.Bucket(0) != 3 {
		t.Errorf("timer not observed: %d", h.Count())
	}
	if _, err := sonde.NewHistogram(sonde.HistogramOpts{Opts: sonde.Opts{Registry: r, Name: "bad_seconds"}, Buckets: []float64{1, 0.5}}); !errors.Is(err, sonde.ErrInvalid) {
		t.Errorf("decreasing buckets: %v", err)
	}
	s, err := sonde.NewSummary(sonde.SummaryOpts{Opts: sonde.Opts{Registry: r, Name: "size_bytes"}, Quantiles: []float64{0.5, 0.99}, MaxAge: time.Minute})
	if err != nil {
		t.Fatal(err)
	}
	for i := 1; i <= 100; i++ {
		s.Observe(float64(i))
	}
	if s.Count() != 100 || s.Sum() != 5050 || math.Abs(s.Quantile(0.5)-50)/50 > 0.01 {
		t.Errorf("summary count %d sum %v q50 %v", s.Count(), s.Sum(), s.Quantile(0.5))
	}
	mustContain(t, expose(t, r, sonde.FormatText), `lat_seconds_bucket{le="+Inf"} 5`, `size_bytes{quantile="0.99"}`, "size_bytes_count 100")
	lb, err := sonde.LinearBuckets(1, 2, 3)
	if err != nil || len(lb) != 3 || lb[2] != 5 {
		t.Errorf("linear %v %v", lb, err)
	}
	if _, err := sonde.ExponentialBuckets(1, 0.5, 3); !errors.Is(err, sonde.ErrInvalid) {
		t.Errorf("factor 0.5: %v", err)
	}
}

func TestConcurrentIncrements(t *testing.T) {
	r := newReg(t)
	c, _ := sonde.NewCounter(sonde.CounterOpts{Registry: r, Name: "conc_total"})
	var wg sync.WaitGroup
	for g := 0; g < 8; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < 10000; i++ {
				c.Inc()
				if i%1000 == 0 {
					runtime.Gosched()
				}
			}
		}()
	}
	wg.Wait()
	if c.Value() != 80000 {
		t.Errorf("value %v, want 80000", c.Value())
	}
}

func TestRegistries(t *testing.T) {
	a, b := newReg(t), newReg(t)
	c, _ := sonde.NewCounter(sonde.CounterOpts{Registry: a, Name: "only_a_total"})
	c.Inc()
	if strings.Contains(expose(t, b, sonde.FormatText), "only_a") {
		t.Error("registries share families")
	}
	d, err := sonde.NewCounter(sonde.CounterOpts{Name: "go_default_total", Help: "D."})
	if err != nil {
		t.Fatal(err)
	}
	d.Inc()
	out := expose(t, nil, sonde.FormatText)
	mustContain(t, out, "go_default_total 1", "# TYPE process_cpu_seconds_total counter")
	var nilReg *sonde.Registry
	nilReg.Close()
	a.Close()
	a.Close()
}

func TestExpositionNegotiationHandler(t *testing.T) {
	r := newReg(t)
	c, _ := sonde.NewCounter(sonde.CounterOpts{Registry: r, Name: "http_x_total", Help: "X."})
	c.Add(3)
	om := expose(t, r, sonde.FormatOpenMetrics)
	mustContain(t, om, "# TYPE http_x counter", "http_x_total 3", "# EOF\n")
	if f, ct := sonde.Negotiate("application/openmetrics-text;version=1.0.0,*/*;q=0.1"); f != sonde.FormatOpenMetrics || ct != sonde.FormatOpenMetrics.ContentType() {
		t.Errorf("negotiate: %v %q", f, ct)
	}
	if f, _ := sonde.Negotiate("\xff garbage"); f != sonde.FormatText {
		t.Error("garbage Accept did not give text")
	}
	srv := httptest.NewServer(r.Handler())
	defer srv.Close()
	req := httptest.NewRequest("GET", "/metrics", nil)
	req.Header.Set("Accept", "text/plain")
	req.Header.Set("Accept-Encoding", "gzip")
	w := httptest.NewRecorder()
	r.Handler().ServeHTTP(w, req)
	body := w.Body.Bytes()
	if w.Header().Get("Content-Encoding") == "gzip" {
		zr, err := gzip.NewReader(bytes.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		body, _ = io.ReadAll(zr)
	}
	if w.Header().Get("Content-Type") != sonde.FormatText.ContentType() || !bytes.Contains(body, []byte("http_x_total 3")) {
		t.Errorf("handler: %q %q", w.Header().Get("Content-Type"), body)
	}
}

// A metric incremented from Go and one incremented by C macros (inlined
// hot path) in the same process, in one family and one exposition.
func TestPolyglotMetrics(t *testing.T) {
	v, err := sonde.NewCounterVec(sonde.CounterOpts{Name: "polyglot_requests_total", Help: "Requests."}, []string{"lang"})
	if err != nil {
		t.Fatal(err)
	}
	v.WithLabelValues("go").Add(5)
	ctest.Inc(3)
	v.WithLabelValues("c").Inc()
	mustContain(t, expose(t, nil, sonde.FormatText), `polyglot_requests_total{lang="go"} 5`,
		`polyglot_requests_total{lang="c"} 4`, "polyglot_c_jobs_total 3")
}

// issue 13.2: A then B started, A ended first: B stays current, and B's end
// restores what was current before A, not A's freed C memory.
func TestSpansEndedOutOfOrder(t *testing.T) {
	done := make(chan struct{})
	go func() {
		defer close(done)
		runtime.LockOSThread() // one thread for the whole test (it exits locked)
		before := sonde.CurrentContext()
		a := sonde.StartSpan("go-a")
		b := sonde.StartSpan("go-b")
		a.End() // out of order: a's C memory is freed here
		if sonde.CurrentContext() != b.Context() {
			t.Error("ending a out of order changed the current context")
		}
		junk := make([]*sonde.Span, 0, 64)
		for i := 0; i < 64; i++ { // reuse the freed memory
			junk = append(junk, sonde.StartSpanChildOf("junk", sonde.SpanContext{}))
		}
		for i := len(junk) - 1; i >= 0; i-- {
			junk[i].End()
		}
		b.End()
		if got := sonde.CurrentContext(); got != before {
			t.Errorf("after both ends the context is %+v, want %+v", got, before)
		}
	}()
	<-done
}

// A span ended in another goroutine (another thread): safe; the starting
// thread keeps a copy of its context until its goroutine exits.
func TestSpanEndedInAnotherGoroutine(t *testing.T) {
	done := make(chan struct{})
	go func() {
		defer close(done)
		runtime.LockOSThread() // exits locked: the thread goes with it
		sp := sonde.StartSpan("go-moved")
		ctx := sp.Context()
		ended := make(chan struct{})
		go func() { sp.End(); close(ended) }()
		<-ended
		if sonde.CurrentContext() != ctx {
			t.Error("the starting thread's context changed")
		}
		sp.End() // already ended and freed: no-op
	}()
	<-done
}

func TestSpanIsParentOfCSpanAcrossGoroutineSwitches(t *testing.T) {
	done := make(chan struct{})
	go func() {
		defer close(done)
		sp := sonde.StartSpan("go-parent")
		defer sp.End()
		for i := 0; i < 100; i++ {
			runtime.Gosched() // the span pins this goroutine to its thread
			time.Sleep(10 * time.Microsecond)
		}
		if sonde.CurrentContext() != sp.Context() {
			t.Error("current context lost after scheduling")
		}
		trace, parent := ctest.ChildSpan()
		if trace != sp.Context().TraceIDHex() || parent != sp.Context().SpanIDHex() {
			t.Errorf("C span: trace %s parent %s, want %s %s", trace, parent, sp.Context().TraceIDHex(), sp.Context().SpanIDHex())
		}
		child := sonde.StartSpan("go-child")
		if child.ParentSpanID() != sp.Context().SpanID || child.Context().TraceID != sp.Context().TraceID {
			t.Error("go child has wrong parent")
		}
		if err := child.SetAttribute("n", 3); err != nil {
			t.Error(err)
		}
		if err := child.SetAttribute("bad", []uint8{1}); !errors.Is(err, sonde.ErrInvalid) {
			t.Errorf("unsupported attribute: %v", err)
		}
		child.SetError("boom")
		child.End()
		child.End() // twice: no-op
		if sonde.CurrentContext() != sp.Context() {
			t.Error("child did not restore the parent")
		}
	}()
	<-done
	var nilSpan *sonde.Span
	nilSpan.End()
}

func TestTraceparentStateBaggage(t *testing.T) {
	const tp = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"
	p, err := sonde.ParseTraceparent(tp)
	if err != nil {
		t.Fatal(err)
	}
	if s, _ := p.Format(); s != tp || !p.Context().Sampled() {
		t.Errorf("roundtrip %q", s)
	}
	for _, bad := range []string{strings.ToUpper(tp), "00-" + strings.Repeat("0", 32) + "-b7ad6b7169203331-01", tp[:54], "", "\xff"} {
		if _, err := sonde.ParseTraceparent(bad); !errors.Is(err, sonde.ErrInvalid) {
			t.Errorf("%q accepted: %v", bad, err)
		}
	}
	sp := sonde.StartSpanChildOf("server", p.Context())
	if sp.Context().TraceIDHex() != "0af7651916cd43dd8448eb211c80319c" || sp.ParentSpanID() != p.ParentID {
		t.Error("child of remote")
	}
	hdr, err := sp.Context().Traceparent()
	sp.End()
	if err != nil || !strings.HasPrefix(hdr, "00-0af7651916cd43dd8448eb211c80319c-") {
		t.Errorf("traceparent %q %v", hdr, err)
	}
	ts, _ := sonde.NewTraceState()
	defer ts.Close()
	if err := ts.Parse("a=1,b=2"); err != nil {
		t.Fatal(err)
	}
	ts.Set("b", "3")
	if ts.String() != "b=3,a=1" {
		t.Errorf("tracestate %q", ts.String())
	}
	if err := ts.Parse("A=1"); !errors.Is(err, sonde.ErrInvalid) || ts.Len() != 0 {
		t.Errorf("bad tracestate: %v", err)
	}
	bg, _ := sonde.NewBaggage()
	defer bg.Close()
	if err := bg.Parse("userId=alice,serverNode=DF%2028;ttl=3"); err != nil {
		t.Fatal(err)
	}
	if v, ok := bg.Get("serverNode"); !ok || v != "DF 28" {
		t.Errorf("baggage get %q", v)
	}
	bg.Set("city", "Zürich", "")
	mustContain(t, bg.String(), "city=Z%C3%BCrich")
	ran := false
	sonde.WithContext(p.Context(), func() {
		ran = sonde.CurrentContext().SpanIDHex() == "b7ad6b7169203331"
	})
	if !ran {
		t.Error("WithContext did not attach")
	}
}

func readRecords(t *testing.T, path string) []map[string]interface{} {
	t.Helper()
	if err := sonde.LogFlush(); err != nil {
		t.Fatal(err)
	}
	return readRecordsNoFlush(t, path)
}

func readRecordsNoFlush(t *testing.T, path string) []map[string]interface{} {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var out []map[string]interface{}
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		m := map[string]interface{}{}
		if err := json.Unmarshal(sc.Bytes(), &m); err != nil {
			t.Fatalf("%v: %s", err, sc.Text())
		}
		out = append(out, m)
	}
	return out
}

func newLogger(t *testing.T, o sonde.LoggerOpts) (*sonde.Logger, string) {
	path := filepath.Join(t.TempDir(), "app.log")
	sink, err := sonde.FileSink(path, sonde.SinkOpts{})
	if err != nil {
		t.Fatal(err)
	}
	defer sink.Close()
	none := ""
	o.Service, o.LevelEnv, o.Sinks = "svc", &none, []*sonde.Sink{sink}
	l, err := sonde.NewLogger(o)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(l.Close)
	return l, path
}

func TestLoggerFieldsLevelsChildren(t *testing.T) {
	l, path := newLogger(t, sonde.LoggerOpts{Level: sonde.LevelInfo})
	l.Debug("hidden")
	l.Info("typed", sonde.Int("i", -5), sonde.Uint64("u", math.MaxUint64), sonde.Float64("f", 0.1),
		sonde.Bool("t", true), sonde.String("s", "é"), sonde.Null("n"), sonde.Err(errors.New("e1")), sonde.Bytes("b", []byte{0xff}))
	api, err := l.With(sonde.String("component", "api"), sonde.Int("shard", 3))
	if err != nil {
		t.Fatal(err)
	}
	defer api.Close()
	api.Warn("child")
	l.SetLevel(sonde.LevelDebug)
	l.Debug("now shown")
	recs := readRecords(t, path)
	if len(recs) != 3 {
		t.Fatalf("%d records: %v", len(recs), recs)
	}
	r := recs[0]
	if r["message"] != "typed" || r["i"] != -5.0 || r["f"] != 0.1 || r["t"] != true || r["s"] != "é" || r["n"] != nil || r["error"] != "e1" || r["b"] != "\ufffd" {
		t.Errorf("typed record %v", r)
	}
	if recs[1]["component"] != "api" || recs[1]["shard"] != 3.0 || recs[1]["level"] != "warn" {
		t.Errorf("child record %v", recs[1])
	}
	if recs[2]["message"] != "now shown" || l.Level() != sonde.LevelDebug {
		t.Errorf("level change %v", recs[2])
	}
	var nl *sonde.Logger
	nl.Info("no-op")
	if _, err := sonde.NewLogger(sonde.LoggerOpts{}); !errors.Is(err, sonde.ErrInvalid) {
		t.Errorf("empty service: %v", err)
	}
	if _, err := sonde.FileSink(filepath.Join(t.TempDir(), "no", "dir", "x.log"), sonde.SinkOpts{}); !errors.Is(err, sonde.ErrIO) {
		t.Errorf("bad path: %v", err)
	}
	if lv, err := sonde.ParseLevel("WARNING"); err != nil || lv != sonde.LevelWarn {
		t.Errorf("parse level %v %v", lv, err)
	}
}

// issue 15: an error chain as an error field, in the json, ecs and otel
// profiles
func TestLoggerErrorFieldInProfiles(t *testing.T) {
	dir := t.TempDir()
	var sinks []*sonde.Sink
	paths := map[string]string{}
	for _, f := range []string{"json", "ecs", "otel"} {
		paths[f] = filepath.Join(dir, f+".log")
		s, err := sonde.FileSink(paths[f], sonde.SinkOpts{Format: f})
		if err != nil {
			t.Fatal(err)
		}
		defer s.Close()
		sinks = append(sinks, s)
	}
	none := ""
	l, err := sonde.NewLogger(sonde.LoggerOpts{Service: "svc", LevelEnv: &none, Sinks: sinks})
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	_, perr := os.Open(filepath.Join(dir, "missing"))
	wrapped := fmt.Errorf("load config: %w", perr)
	l.Error("startup failed", sonde.ErrorField("err", wrapped), sonde.Int("attempt", 2))
	j := readRecords(t, paths["json"])[0]["err"].(map[string]interface{})
	if j["type"] != "*fmt.wrapError" || j["message"] != wrapped.Error() {
		t.Errorf("json error %v", j)
	}
	if st, _ := j["stack"].(string); !strings.HasPrefix(st, "*fs.PathError: open ") {
		t.Errorf("json error chain %q", j["stack"])
	}
	e := readRecordsNoFlush(t, paths["ecs"])[0]
	ee := e["error"].(map[string]interface{})
	if e["log.level"] != "error" || ee["type"] != "*fmt.wrapError" || ee["stack_trace"] != j["stack"] {
		t.Errorf("ecs record %v", e)
	}
	o := readRecordsNoFlush(t, paths["otel"])[0]
	a := o["attributes"].(map[string]interface{})
	if o["severity_number"] != 17.0 || a["exception.type"] != "*fmt.wrapError" || a["exception.message"] != wrapped.Error() || a["exception.stacktrace"] != j["stack"] || a["attempt"] != 2.0 {
		t.Errorf("otel record %v", o)
	}
	if _, err := sonde.FileSink(filepath.Join(dir, "x"), sonde.SinkOpts{Format: "yaml"}); err == nil {
		t.Error("format yaml accepted")
	}
}

func TestLoggerGoAndCInOneStreamWithTrace(t *testing.T) {
	l, path := newLogger(t, sonde.LoggerOpts{Level: sonde.LevelInfo})
	var traceID string
	func() {
		sp := sonde.StartSpan("req")
		defer sp.End()
		traceID = sp.Context().TraceIDHex()
		l.Info("from go", sonde.String("lang", "go"))
		ctest.Log(l.Handle(), 7)
	}()
	recs := readRecords(t, path)
	// the span's own line comes last, through the default logger (the
	// oldest live root logger: this test's, the others are closed)
	if len(recs) != 3 || recs[0]["message"] != "from go" || recs[1]["message"] != "from C" ||
		recs[1]["n"] != 7.0 || recs[2]["message"] != "span" || recs[2]["span_name"] != "req" {
		t.Fatalf("records %v", recs)
	}
	for _, r := range recs {
		if r["trace_id"] != traceID {
			t.Errorf("trace_id %v, want %s", r["trace_id"], traceID)
		}
	}
}

// issue 20: records below the level are kept and written before the error.
func TestLoggerFlightRecorder(t *testing.T) {
	l, path := newLogger(t, sonde.LoggerOpts{Level: sonde.LevelInfo, FlightRecorder: true,
		FlightLevel: sonde.LevelDebug})
	if !l.Enabled(sonde.LevelDebug) || l.Enabled(sonde.LevelTrace) || l.Level() != sonde.LevelInfo {
		t.Fatalf("enabled debug %v trace %v, level %v", l.Enabled(sonde.LevelDebug),
			l.Enabled(sonde.LevelTrace), l.Level())
	}
	l.Debug("kept", sonde.Int("i", 1))
	l.Trace("dropped")
	l.Error("boom")
	recs := readRecords(t, path)
	if len(recs) != 2 || recs[0]["message"] != "kept" || recs[0]["_replayed"] != true ||
		recs[1]["message"] != "boom" {
		t.Fatalf("records %v", recs)
	}
}

// issue 20: a Go process dying by SIGABRT leaves its records and a crash
// record (the Go runtime's handler, chained after sonde's, then exits 2).
func TestCrashFlushInAChild(t *testing.T) {
	if path := os.Getenv("SONDE_CRASH_CHILD"); path != "" {
		sink, err := sonde.FileSink(path, sonde.SinkOpts{})
		if err != nil {
			os.Exit(90)
		}
		none := ""
		l, err := sonde.NewLogger(sonde.LoggerOpts{Service: "go-crash", LevelEnv: &none,
			Sinks: []*sonde.Sink{sink}})
		if err != nil || sonde.CrashFlushEnable() != nil {
			os.Exit(91)
		}
		for i := 0; i < 300; i++ {
			l.Info("step", sonde.Int("i", i))
		}
		syscall.Kill(os.Getpid(), syscall.SIGABRT)
		time.Sleep(5 * time.Second)
		os.Exit(92)
	}
	path := filepath.Join(t.TempDir(), "crash.log")
	cmd := exec.Command(os.Args[0], "-test.run=^TestCrashFlushInAChild$")
	cmd.Env = append(os.Environ(), "SONDE_CRASH_CHILD="+path)
	err := cmd.Run()
	if err == nil {
		t.Fatal("the child did not die")
	}
	if code := cmd.ProcessState.ExitCode(); code == 90 || code == 91 || code == 92 {
		t.Fatalf("child exit %d", code)
	}
	recs := readRecordsNoFlush(t, path)
	steps, crash := 0, 0
	for _, r := range recs {
		switch r["message"] {
		case "step":
			steps++
		case "crash":
			crash++
			if r["signal"] != "SIGABRT" {
				t.Errorf("crash record %v", r)
			}
		}
	}
	if steps != 300 || crash != 1 {
		t.Fatalf("%d steps, %d crash records: %v", steps, crash, recs)
	}
}

func TestLoggerVaryingMessagesAndLimits(t *testing.T) {
	l, path := newLogger(t, sonde.LoggerOpts{Level: sonde.LevelInfo})
	for i := 0; i < 50; i++ {
		l.Info(fmt.Sprintf("message number %d", i), sonde.Int("k", i))
	}
	many := make([]sonde.Field, 16)
	for i := range many {
		many[i] = sonde.Int(fmt.Sprintf("f%d", i), i)
	}
	if err := l.LogErr(sonde.LevelInfo, "fifteen", many[:15]...); err != nil {
		t.Fatalf("15 fields: %v", err)
	}
	if err := l.LogErr(sonde.LevelInfo, "sixteen", many...); !errors.Is(err, sonde.ErrInvalid) {
		t.Errorf("16 fields: %v, want ErrInvalid", err)
	}
	if err := l.LogErr(sonde.LevelInfo, "dup", sonde.Int("a", 1), sonde.Int("a", 2)); !errors.Is(err, sonde.ErrInvalid) {
		t.Errorf("duplicate key: %v, want ErrInvalid", err)
	}
	recs := readRecords(t, path)
	if len(recs) != 51 || recs[49]["message"] != "message number 49" || recs[49]["k"] != 49.0 || recs[50]["f14"] != 14.0 {
		t.Errorf("records %d: %v", len(recs), recs[len(recs)-1])
	}
}

// issue 13.18: SetOK / SetError become the status label of the span
// histogram (unset counts as ok).
func TestSpanStatusLabel(t *testing.T) {
	r, err := sonde.NewRegistry()
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close() // after DisableSpanMetrics (deferred calls run last first)
	if err := sonde.EnableSpanMetrics(r, "go_span_seconds"); err != nil {
		t.Fatal(err)
	}
	defer sonde.DisableSpanMetrics()
	done := make(chan struct{})
	go func() {
		defer close(done)
		sonde.StartSpan("go.st").End()
		ok := sonde.StartSpan("go.st")
		ok.SetOK()
		ok.End()
		bad := sonde.StartSpan("go.st")
		bad.SetError("boom")
		bad.SetOK() // an error is kept
		bad.End()
	}()
	<-done
	mustContain(t, expose(t, r, sonde.FormatText),
		`go_span_seconds_count{name="go.st",status="ok"} 2`,
		`go_span_seconds_count{name="go.st",status="error"} 1`)
}

func TestNativeHistogramProtobuf(t *testing.T) {
	reg := newReg(t)
	h, err := sonde.NewHistogram(sonde.HistogramOpts{
		Opts:                           sonde.Opts{Name: "go_native_seconds", Help: "N.", Registry: reg},
		NativeHistogramBucketFactor:    1.1,
		NativeHistogramMaxBucketNumber: 20,
	})
	if err != nil {
		t.Fatal(err)
	}
	sum := 0.0
	for i := 1; i <= 1000; i++ {
		v := float64(i) * 0.37
		if i%3 == 0 {
			v = -v
		}
		h.Observe(v)
		sum += v
	}
	if h.Count() != 1000 || math.Abs(h.Sum()-sum) > 1e-9*math.Abs(sum) {
		t.Fatalf("count %d sum %v, want 1000 %v", h.Count(), h.Sum(), sum)
	}
	text, err := reg.Expose(sonde.FormatText)
	if err != nil || !strings.Contains(string(text), "go_native_seconds_bucket{le=\"+Inf\"} 1000\n") {
		t.Fatalf("text view of a native-only histogram: %v\n%s", err, text)
	}
	pb, err := reg.Expose(sonde.FormatProtobuf)
	if err != nil || len(pb) < 2 || int(pb[0])|int(pb[1]&0x7f)<<7 == 0 {
		t.Fatalf("protobuf exposition: %v %x", err, pb)
	}
	if !bytes.Contains(pb, []byte("go_native_seconds")) {
		t.Fatalf("family name missing from the protobuf exposition")
	}
	f, ct := sonde.Negotiate("application/vnd.google.protobuf;proto=io.prometheus.client.MetricFamily;encoding=delimited,text/plain;q=0.5")
	if f != sonde.FormatProtobuf || ct != sonde.FormatProtobuf.ContentType() {
		t.Fatalf("negotiate: %v %q", f, ct)
	}
	if f, _ := sonde.Negotiate("*/*"); f != sonde.FormatText {
		t.Fatalf("*/* negotiated %v", f)
	}
	if _, err := sonde.NewHistogram(sonde.HistogramOpts{
		Opts:                           sonde.Opts{Name: "go_native_bad", Registry: reg},
		NativeHistogramBucketFactor:    1.1,
		NativeHistogramMaxBucketNumber: 1000,
	}); err == nil {
		t.Fatal("a bucket limit over 255 was accepted")
	}
}
