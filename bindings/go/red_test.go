package sonde_test

import (
	"io"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"testing"

	sonde "github.com/sonde-sdk/sonde/bindings/go"
)

func TestHTTPMetricsHandler(t *testing.T) {
	reg := newReg(t)
	m, err := sonde.NewHTTPMetrics(sonde.HTTPMetricsOpts{Registry: reg,
		ConstLabels: map[string]string{"service": "api"}, StatusLabel: "code"})
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	var seen sonde.SpanContext
	h := m.Handler("/users/{id}", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		seen, _ = sonde.FromContext(r.Context())
		if r.URL.Path == "/users/0" {
			http.Error(w, "nope", http.StatusServiceUnavailable)
			return
		}
		io.WriteString(w, "hello")
	}))
	srv := httptest.NewServer(h)
	defer srv.Close()
	req, _ := http.NewRequest("GET", srv.URL+"/users/7", nil)
	req.Header.Set("traceparent", "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01")
	req.Header.Set("X-Request-Id", "abc")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.Header.Get("X-Request-Id") != "abc" {
		t.Fatalf("x-request-id %q", resp.Header.Get("X-Request-Id"))
	}
	if seen.TraceIDHex() != "0af7651916cd43dd8448eb211c80319c" {
		t.Fatalf("the handler's context is not the request's trace: %s", seen.TraceIDHex())
	}
	resp, err = http.Get(srv.URL + "/users/0")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	uuid := regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$`)
	if !uuid.MatchString(resp.Header.Get("X-Request-Id")) {
		t.Fatalf("generated request id %q", resp.Header.Get("X-Request-Id"))
	}
	text, err := reg.Expose(sonde.FormatText)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{
		`http_requests_total{method="GET",route="/users/{id}",code="200",service="api"} 1`,
		`http_requests_total{method="GET",route="/users/{id}",code="503",service="api"} 1`,
		`http_request_duration_seconds_count{method="GET",route="/users/{id}",code="200",service="api"} 1`,
		`http_requests_in_flight{service="api"} 0`,
	} {
		if !strings.Contains(string(text), want+"\n") {
			t.Errorf("missing %s in:\n%s", want, text)
		}
	}
	if _, err := sonde.NewHTTPMetrics(sonde.HTTPMetricsOpts{Registry: reg, RequestsName: "bad name"}); err == nil {
		t.Fatal("a bad name was accepted")
	}
}
