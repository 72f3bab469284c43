package sonde_test

import (
	"encoding/json"
	"errors"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	sonde "github.com/sonde-sdk/sonde/bindings/go"
	"github.com/sonde-sdk/sonde/bindings/go/internal/ctest"
)

type healthBody struct {
	Status  string `json:"status"`
	Probe   string `json:"probe"`
	Version string `json:"version"`
	Checks  map[string]struct {
		Status  string `json:"status"`
		Message string `json:"message"`
		Error   string `json:"error"`
		Cached  bool   `json:"cached"`
	} `json:"checks"`
}

func newHealth(t *testing.T) *sonde.Health {
	h, err := sonde.NewHealth(sonde.HealthOpts{Registry: newReg(t), Version: "3.1.4", FreeWait: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(h.Close)
	return h
}

func evaluate(t *testing.T, h *sonde.Health, p sonde.Probe) (int, healthBody) {
	t.Helper()
	code, body, err := h.Evaluate(p)
	if err != nil {
		t.Fatal(err)
	}
	var b healthBody
	if err := json.Unmarshal(body, &b); err != nil {
		t.Fatalf("%v: %s", err, body)
	}
	return code, b
}

func TestHealthAggregationWarningsErrorsPanics(t *testing.T) {
	h := newHealth(t)
	must(t, h.AddCheck("ok", sonde.CheckOpts{}, func() error { return nil }))
	must(t, h.AddCheck("half", sonde.CheckOpts{}, func() error { return sonde.Warning("3 of 4 nodes") }))
	code, b := evaluate(t, h, sonde.Readiness)
	if code != 200 || b.Status != "degraded" || b.Version != "3.1.4" || b.Probe != "readiness" {
		t.Fatalf("%d %+v", code, b)
	}
	if b.Checks["half"].Status != "warn" || b.Checks["half"].Message != "3 of 4 nodes" {
		t.Fatalf("%+v", b.Checks["half"])
	}
	must(t, h.AddCheck("db", sonde.CheckOpts{}, func() error { return errors.New("refused on 5432") }))
	must(t, h.AddCheck("boom", sonde.CheckOpts{}, func() error { panic("pool poisoned") }))
	code, b = evaluate(t, h, sonde.Readiness)
	if code != 503 || b.Status != "unhealthy" {
		t.Fatalf("%d %+v", code, b)
	}
	if b.Checks["db"].Error != "refused on 5432" || b.Checks["boom"].Error != "check panicked: pool poisoned" {
		t.Fatalf("%+v", b.Checks)
	}
	if h.Len() != 4 {
		t.Fatal(h.Len())
	}
}

func TestHealthTimeoutCacheAndProbes(t *testing.T) {
	h := newHealth(t)
	release := make(chan struct{})
	defer close(release)
	must(t, h.AddCheck("slow", sonde.CheckOpts{Timeout: 100 * time.Millisecond}, func() error {
		<-release
		return nil
	}))
	var runs int32
	must(t, h.AddCheck("cached", sonde.CheckOpts{Probes: sonde.Liveness, Cache: 30 * time.Second}, func() error {
		atomic.AddInt32(&runs, 1)
		return errors.New("down")
	}))
	t0 := time.Now()
	code, b := evaluate(t, h, sonde.Readiness)
	if code != 503 || !strings.Contains(b.Checks["slow"].Error, "timed out after 100 ms") {
		t.Fatalf("%d %+v", code, b)
	}
	if el := time.Since(t0); el > 2*time.Second {
		t.Fatalf("probe held %v", el)
	}
	if _, ok := b.Checks["cached"]; ok {
		t.Fatal("a liveness check ran in a readiness probe")
	}
	evaluate(t, h, sonde.Liveness)
	_, b = evaluate(t, h, sonde.Liveness)
	if atomic.LoadInt32(&runs) != 1 || !b.Checks["cached"].Cached {
		t.Fatalf("runs %d %+v", runs, b.Checks["cached"])
	}
}

func TestHealthErrorsAndClose(t *testing.T) {
	h := newHealth(t)
	ok := func() error { return nil }
	if err := h.AddCheck("bad name!", sonde.CheckOpts{}, ok); !errors.Is(err, sonde.ErrInvalid) ||
		!strings.Contains(err.Error(), "bad name!") {
		t.Fatal(err)
	}
	must(t, h.AddCheck("dup", sonde.CheckOpts{}, ok))
	if err := h.AddCheck("dup", sonde.CheckOpts{}, ok); !errors.Is(err, sonde.ErrExists) {
		t.Fatal(err)
	}
	if err := h.AddCheck("x", sonde.CheckOpts{Probes: 8}, ok); !errors.Is(err, sonde.ErrInvalid) {
		t.Fatal(err)
	}
	if err := h.AddCheck("x", sonde.CheckOpts{Timeout: 2 * time.Hour}, ok); !errors.Is(err, sonde.ErrInvalid) {
		t.Fatal(err)
	}
	if err := h.AddCheck("x", sonde.CheckOpts{}, nil); !errors.Is(err, sonde.ErrInvalid) {
		t.Fatal(err)
	}
	if _, _, err := h.Evaluate(sonde.Readiness | sonde.Liveness); !errors.Is(err, sonde.ErrInvalid) {
		t.Fatal(err)
	}
	h.Close()
	if _, _, err := h.Evaluate(sonde.Readiness); !errors.Is(err, sonde.ErrState) {
		t.Fatal(err)
	}
	h.Close()
}

func TestHealthConcurrentAndHandler(t *testing.T) {
	h := newHealth(t)
	must(t, h.AddCheck("ok", sonde.CheckOpts{}, func() error { time.Sleep(time.Millisecond); return nil }))
	var wg sync.WaitGroup
	for g := 0; g < 4; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < 10; i++ {
				if code, _, err := h.Evaluate(sonde.Readiness); err != nil || code != 200 {
					t.Error(code, err)
				}
			}
		}()
	}
	wg.Wait()
	rec := httptest.NewRecorder()
	h.Handler(sonde.Readiness).ServeHTTP(rec, httptest.NewRequest("GET", "/readyz", nil))
	if rec.Code != 200 || rec.Header().Get("Content-Type") != "application/json" ||
		!strings.Contains(rec.Body.String(), `"status":"healthy"`) {
		t.Fatal(rec.Code, rec.Header(), rec.Body.String())
	}
}

func TestHealthCAndGoChecksShareOneProbe(t *testing.T) {
	h := newHealth(t)
	must(t, h.AddCheck("go_side", sonde.CheckOpts{}, func() error { return nil }))
	if st := ctest.AddHealthCheck(h.Handle()); st != 0 {
		t.Fatal(st)
	}
	code, b := evaluate(t, h, sonde.Readiness)
	if code != 200 || b.Status != "degraded" || b.Checks["go_side"].Status != "pass" ||
		b.Checks["c_side"].Message != "warned from C" {
		t.Fatalf("%d %+v", code, b)
	}
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}
