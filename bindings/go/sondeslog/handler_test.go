package sondeslog_test

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	sonde "github.com/sonde-sdk/sonde/bindings/go"
	"github.com/sonde-sdk/sonde/bindings/go/sondeslog"
)

// newLogger is a sonde Logger writing JSON to a file of the test's own.
func newLogger(t *testing.T, lv sonde.Level) (*sonde.Logger, string) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "app.log")
	sink, err := sonde.FileSink(path, sonde.SinkOpts{})
	if err != nil {
		t.Fatal(err)
	}
	defer sink.Close()
	none := ""
	l, err := sonde.NewLogger(sonde.LoggerOpts{Service: "slog-test", Level: lv, LevelEnv: &none,
		Sinks: []*sonde.Sink{sink}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(l.Close)
	return l, path
}

// records flushes sonde and parses every line of path with encoding/json.
func records(t *testing.T, path string) []map[string]interface{} {
	t.Helper()
	if err := sonde.LogFlush(); err != nil {
		t.Fatal(err)
	}
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

type stringer struct{}

func (stringer) String() string { return "as text" }

func TestTypesGroupsAndAttrs(t *testing.T) {
	lg, path := newLogger(t, sonde.LevelInfo)
	h := sondeslog.New(lg, nil)
	log := newSlog(h)
	when := time.Date(2026, 12, 1, 2, 3, 4, 5000, time.UTC)
	logAttrs(context.Background(), log, levelInfo, "typed",
		attrString("s", "é"), attrInt("i", -5), attrUint("u", math.MaxUint64), attrFloat("f", 0.25),
		attrBool("b", true), attrDuration("d", 1500*time.Millisecond), attrTime("t", when),
		attrAny("err", errors.New("boom")), attrAny("st", stringer{}), attrAny("nil", nil),
		attrGroup("user", attrInt("id", 7), attrString("name", "ann")),
		attrGroup("empty"), attrGroup("", attrString("inlined", "yes")))
	child := newSlog(h.WithAttrs([]attr{attrString("component", "api")}).WithGroup("req").
		WithAttrs([]attr{attrString("id", "r1")}))
	logAttrs(context.Background(), child, levelWarn, "grouped", attrInt("status", 503))
	logAttrs(context.Background(), log, levelDebug, "below the logger's level")
	recs := records(t, path)
	if len(recs) != 2 {
		t.Fatalf("%d records, want 2: %v", len(recs), recs)
	}
	r := recs[0]
	want := map[string]interface{}{
		"message": "typed", "level": "info", "s": "é", "i": -5.0, "u": float64(math.MaxUint64),
		"f": 0.25, "b": true, "d": 1.5e9, "t": "2026-12-01T02:03:04.000005Z", "err": "boom",
		"st": "as text", "nil": nil, "user.id": 7.0, "user.name": "ann", "inlined": "yes",
	}
	for k, v := range want {
		if got, ok := r[k]; !ok || got != v {
			t.Errorf("record 1 %q = %#v (present %v), want %#v", k, got, ok, v)
		}
	}
	for k := range r {
		if strings.HasPrefix(k, "empty") {
			t.Errorf("an empty group wrote %q", k)
		}
	}
	r = recs[1]
	want = map[string]interface{}{"message": "grouped", "level": "warn", "component": "api",
		"req.id": "r1", "req.status": 503.0}
	for k, v := range want {
		if got := r[k]; got != v {
			t.Errorf("record 2 %q = %#v, want %#v", k, got, v)
		}
	}
}

func TestLevelsMapByRange(t *testing.T) {
	lg, path := newLogger(t, sonde.LevelTrace)
	log := newSlog(sondeslog.New(lg, nil))
	for _, l := range []int{-8, -4, -1, 0, 3, 4, 8, 11, 12} {
		logAttrs(context.Background(), log, l, "lv", attrInt("slog_level", int64(l)))
	}
	want := []string{"trace", "debug", "debug", "info", "info", "warn", "error", "error", "fatal"}
	recs := records(t, path)
	if len(recs) != len(want) {
		t.Fatalf("%d records, want %d", len(recs), len(want))
	}
	for i, r := range recs {
		if r["level"] != want[i] {
			t.Errorf("slog level %v wrote %v, want %s", r["slog_level"], r["level"], want[i])
		}
	}
	lg.SetLevel(sonde.LevelError)
	h := sondeslog.New(lg, nil)
	if enabled(h, levelWarn) || !enabled(h, levelError) {
		t.Errorf("Enabled does not follow the sonde logger's level")
	}
}

func TestDuplicateKeysAndTooManyFieldsKeepTheRecord(t *testing.T) {
	lg, path := newLogger(t, sonde.LevelInfo)
	log := newSlog(sondeslog.New(lg, nil).WithAttrs([]attr{attrString("k", "first")}))
	logAttrs(context.Background(), log, levelInfo, "dup", attrString("k", "second"), attrInt("n", 1))
	var many []attr
	for i := 0; i < 20; i++ {
		many = append(many, attrInt(fmt.Sprintf("f%02d", i), int64(i)))
	}
	logAttrs(context.Background(), log, levelInfo, "many", many...)
	recs := records(t, path)
	if len(recs) != 2 {
		t.Fatalf("%d records, want 2", len(recs))
	}
	if recs[0]["k"] != "second" || recs[0]["n"] != 1.0 {
		t.Errorf("duplicate key: %v", recs[0])
	}
	// k plus f00..f19 is 21 fields: the first 14 are written, 7 counted
	r := recs[1]
	if r["k"] != "first" || r["f12"] != 12.0 {
		t.Errorf("kept fields: %v", r)
	}
	if _, ok := r["f13"]; ok {
		t.Errorf("field past the limit written: %v", r)
	}
	if r["sonde.dropped_fields"] != 7.0 {
		t.Errorf("sonde.dropped_fields = %v, want 7", r["sonde.dropped_fields"])
	}
}

func TestTraceContextFromContext(t *testing.T) {
	lg, path := newLogger(t, sonde.LevelInfo)
	log := newSlog(sondeslog.New(lg, &sondeslog.Options{AddSource: true}))
	tp, err := sonde.ParseTraceparent("00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01")
	if err != nil {
		t.Fatal(err)
	}
	ctx := sonde.NewContext(context.Background(), tp.Context())
	var wg sync.WaitGroup
	for i := 0; i < 4; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			logAttrs(ctx, log, levelInfo, "in trace")
		}()
	}
	wg.Wait()
	logAttrs(context.Background(), log, levelInfo, "no trace")
	recs := records(t, path)
	if len(recs) != 5 {
		t.Fatalf("%d records, want 5", len(recs))
	}
	for _, r := range recs {
		src, _ := r["source"].(string)
		if !strings.Contains(src, "_test.go:") {
			t.Errorf("source = %q", src)
		}
		tid, has := r["trace_id"]
		if r["message"] == "in trace" && tid != "0af7651916cd43dd8448eb211c80319c" {
			t.Errorf("trace_id = %v in %v", tid, r)
		}
		if r["message"] == "no trace" && has {
			t.Errorf("trace_id %v outside any trace", tid)
		}
	}
}

func TestNilLogger(t *testing.T) {
	if sondeslog.New(nil, nil) != nil {
		t.Fatal("New(nil) is not nil")
	}
}
