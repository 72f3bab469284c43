package sonde_test

import (
	"errors"
	"fmt"
	"os"
	"reflect"
	"strings"
	"testing"
	"time"

	sonde "github.com/sonde-sdk/sonde/bindings/go"
)

func TestSpanModel(t *testing.T) {
	sonde.SetSamplerRatio(1)
	tp, err := sonde.ParseTraceparent("00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01")
	if err != nil {
		t.Fatal(err)
	}
	s := sonde.StartSpan("GET /users/:id")
	defer s.End()
	s.SetKind(sonde.SpanKindServer)
	when := time.Unix(1700000000, 5)
	// the first event makes the span's record (no exporter installed):
	// from then on every attribute is copied into it, past the 8 inline
	if err := s.AddEventAt("cache miss", when, map[string]interface{}{"key": "user:7",
		"size": int64(3), "tags": []string{"x"}}); err != nil {
		t.Fatal(err)
	}
	for k, v := range map[string]interface{}{"http.request.method": "GET", "code": 200,
		"ratio": 0.5, "hit": true, "tags": []string{"a", "b"}, "ids": []int64{1, 2},
		"w": []float64{1.5}, "flags": []bool{true, false}, "n": []int{7}} {
		if err := s.SetAttribute(k, v); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.SetAttribute("bad", struct{}{}); !errors.Is(err, sonde.ErrInvalid) {
		t.Fatalf("unsupported type: %v", err)
	}
	inner := fmt.Errorf("open db: %w", os.ErrNotExist)
	s.RecordError(inner)
	if err := s.AddLink(tp.Context(), map[string]interface{}{"reason": "batch"}); err != nil {
		t.Fatal(err)
	}
	if s.Kind() != sonde.SpanKindServer {
		t.Fatalf("kind %v", s.Kind())
	}
	want := map[string]interface{}{"http.request.method": "GET", "code": int64(200),
		"ratio": 0.5, "hit": true, "tags": []string{"a", "b"}, "ids": []int64{1, 2},
		"w": []float64{1.5}, "flags": []bool{true, false}, "n": []int64{7}}
	if got := s.Attributes(); !reflect.DeepEqual(got, want) {
		t.Fatalf("attributes\n got %v\nwant %v", got, want)
	}
	ev := s.Events()
	if len(ev) != 2 || ev[0].Name != "cache miss" || !ev[0].Time.Equal(when) ||
		!reflect.DeepEqual(ev[0].Attributes, map[string]interface{}{"key": "user:7",
			"size": int64(3), "tags": []string{"x"}}) {
		t.Fatalf("events %+v", ev)
	}
	ex := ev[1].Attributes
	if ev[1].Name != "exception" || ex["exception.type"] != "*fmt.wrapError" ||
		ex["exception.message"] != "open db: file does not exist" ||
		!strings.Contains(ex["exception.stacktrace"].(string), "*errors.errorString: file does not exist") {
		t.Fatalf("exception event %+v", ev[1])
	}
	l := s.Links()
	if len(l) != 1 || l[0].TraceID != tp.TraceID || l[0].SpanID != tp.ParentID ||
		l[0].Attributes["reason"] != "batch" {
		t.Fatalf("links %+v", l)
	}
}
