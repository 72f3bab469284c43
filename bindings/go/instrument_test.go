package sonde_test

import (
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	sonde "github.com/sonde-sdk/sonde/bindings/go"
)

func exposeText(t *testing.T, reg *sonde.Registry) string {
	t.Helper()
	page, err := reg.Expose(sonde.FormatText)
	if err != nil {
		t.Fatal(err)
	}
	return string(page)
}

func hasLine(page, line string) bool {
	for _, l := range strings.Split(page, "\n") {
		if l == line {
			return true
		}
	}
	return false
}

func TestInstrumentHandlerCountsTimesAndTracksInFlight(t *testing.T) {
	reg, err := sonde.NewRegistry()
	if err != nil {
		t.Fatal(err)
	}
	defer reg.Close()
	entered := make(chan struct{})
	release := make(chan struct{})
	inner := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/teapot":
			w.WriteHeader(http.StatusTeapot)
		case "/block":
			entered <- struct{}{}
			<-release
			w.Write([]byte("late")) // implicit 200
		default:
			w.Write([]byte("ok"))
		}
	})
	h, err := sonde.InstrumentHandler(reg, "api", inner)
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(h)
	defer srv.Close()
	for i := 0; i < 3; i++ {
		resp, err := http.Get(srv.URL + "/")
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
	}
	req, _ := http.NewRequest("POST", srv.URL+"/teapot", nil)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusTeapot {
		t.Fatalf("status %d passed through as %d", http.StatusTeapot, resp.StatusCode)
	}
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		resp, err := http.Get(srv.URL + "/block")
		if err == nil {
			resp.Body.Close()
		}
	}()
	<-entered
	page := exposeText(t, reg)
	if !hasLine(page, `http_requests_in_flight{handler="api"} 1`) {
		t.Errorf("in flight during a request:\n%s", page)
	}
	close(release)
	wg.Wait()

	page = exposeText(t, reg)
	for _, want := range []string{
		`http_requests_total{handler="api",code="200",method="GET"} 4`,
		`http_requests_total{handler="api",code="418",method="POST"} 1`,
		`http_request_duration_seconds_count{handler="api",code="200",method="GET"} 4`,
		`http_request_duration_seconds_count{handler="api",code="418",method="POST"} 1`,
		`http_requests_in_flight{handler="api"} 0`,
		`# TYPE http_request_duration_seconds histogram`,
	} {
		if !hasLine(page, want) {
			t.Errorf("missing %q in:\n%s", want, page)
		}
	}
	// a second handler shares the families
	h2, err := sonde.InstrumentHandler(reg, "admin", inner)
	if err != nil {
		t.Fatal(err)
	}
	rec := httptest.NewRecorder()
	h2.ServeHTTP(rec, httptest.NewRequest("DELETE", "/teapot", nil))
	rec = httptest.NewRecorder()
	odd := httptest.NewRequest("GET", "/", nil)
	odd.Method = "BREW<>" // not a token: reported as "other"
	h2.ServeHTTP(rec, odd)
	page = exposeText(t, reg)
	if !hasLine(page, `http_requests_total{handler="admin",code="418",method="DELETE"} 1`) ||
		!hasLine(page, `http_requests_total{handler="admin",code="200",method="other"} 1`) {
		t.Errorf("second handler:\n%s", page)
	}
}

func TestInstrumentHandlerParts(t *testing.T) {
	reg, err := sonde.NewRegistry()
	if err != nil {
		t.Fatal(err)
	}
	defer reg.Close()
	inner := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(503) })
	c, _ := sonde.NewCounterVec(sonde.CounterOpts{Registry: reg, Name: "parts_requests_total"}, []string{"code"})
	hv, _ := sonde.NewHistogramVec(sonde.HistogramOpts{Opts: sonde.Opts{Registry: reg, Name: "parts_seconds"}}, []string{"method"})
	g, _ := sonde.NewGauge(sonde.GaugeOpts{Registry: reg, Name: "parts_in_flight"})
	h, err := sonde.InstrumentHandlerCounter(c, inner)
	if err != nil {
		t.Fatal(err)
	}
	if h, err = sonde.InstrumentHandlerDuration(hv, h); err != nil {
		t.Fatal(err)
	}
	if h, err = sonde.InstrumentHandlerInFlight(g, h); err != nil {
		t.Fatal(err)
	}
	h.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest("get", "/", nil))
	page := exposeText(t, reg)
	for _, want := range []string{`parts_requests_total{code="503"} 1`, `parts_seconds_count{method="GET"} 1`, `parts_in_flight 0`} {
		if !hasLine(page, want) {
			t.Errorf("missing %q in:\n%s", want, page)
		}
	}
	// bad input: an error, no panic
	bad, _ := sonde.NewCounterVec(sonde.CounterOpts{Registry: reg, Name: "bad_total"}, []string{"path"})
	if _, err := sonde.InstrumentHandlerCounter(bad, inner); !errors.Is(err, sonde.ErrInvalid) ||
		!strings.Contains(err.Error(), `"path"`) {
		t.Errorf("label path: %v", err)
	}
	if _, err := sonde.InstrumentHandlerCounter(nil, inner); !errors.Is(err, sonde.ErrInvalid) {
		t.Errorf("nil vec: %v", err)
	}
	if _, err := sonde.InstrumentHandlerInFlight(g, nil); !errors.Is(err, sonde.ErrInvalid) {
		t.Errorf("nil handler: %v", err)
	}
	if _, err := sonde.InstrumentHandler(reg, "", inner); !errors.Is(err, sonde.ErrInvalid) {
		t.Errorf("empty name: %v", err)
	}
	// a clashing definition of one of the names
	if _, err := sonde.NewGauge(sonde.GaugeOpts{Registry: reg, Name: "http_requests_total"}); err != nil {
		t.Fatal(err)
	}
	if _, err := sonde.InstrumentHandler(reg, "x", inner); !errors.Is(err, sonde.ErrExists) {
		t.Errorf("clash: %v", err)
	}
}
