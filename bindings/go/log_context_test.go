package sonde_test

import (
	"bufio"
	"context"
	"errors"
	"os"
	"strings"
	"sync"
	"testing"

	sonde "github.com/sonde-sdk/sonde/bindings/go"
)

// rawLines are the file's lines as written (key order matters here).
func rawLines(t *testing.T, path string) []string {
	t.Helper()
	if err := sonde.LogFlush(); err != nil {
		t.Fatal(err)
	}
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var out []string
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := sc.Text()
		out = append(out, line[strings.Index(line, `"level"`):]) // drop the timestamp
	}
	return out
}

func TestLogScopeWithLogFieldsNestedInnerWins(t *testing.T) {
	l, path := newLogger(t, sonde.LoggerOpts{Level: sonde.LevelInfo})
	l.Info("before")
	err := sonde.WithLogFields([]sonde.Field{sonde.String("user_id", "u1"), sonde.Int("tenant", 7)}, func() {
		l.Info("outer", sonde.Int("items", 3))
		if err := sonde.WithLogFields([]sonde.Field{sonde.String("user_id", "u2")}, func() {
			l.Info("inner", sonde.Int("tenant", 8))
		}); err != nil {
			t.Error(err)
		}
	})
	if err != nil {
		t.Fatal(err)
	}
	l.Info("after")
	got := rawLines(t, path)
	want := []string{
		`"level":"info","message":"before","service":"svc"}`,
		`"level":"info","message":"outer","service":"svc","user_id":"u1","tenant":7,"items":3}`,
		`"level":"info","message":"inner","service":"svc","user_id":"u2","tenant":8}`,
		`"level":"info","message":"after","service":"svc"}`,
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Fatalf("got\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	readRecords(t, path) // strict JSON (encoding/json)
}

func TestLogScopeContextFieldsAcrossGoroutines(t *testing.T) {
	l, path := newLogger(t, sonde.LoggerOpts{Level: sonde.LevelInfo})
	ctx := sonde.ContextWithLogFields(context.Background(), sonde.String("request_id", "r1"),
		sonde.String("user_id", "u1"))
	ctx = sonde.ContextWithLogFields(ctx, sonde.String("user_id", "u2")) // later wins
	if n := len(sonde.LogFields(ctx)); n != 2 {
		t.Fatalf("LogFields: %d", n)
	}
	var wg sync.WaitGroup
	for g := 0; g < 8; g++ {
		wg.Add(1)
		go func(g int) {
			defer wg.Done()
			c := sonde.ContextWithLogFields(ctx, sonde.Int("g", g))
			for i := 0; i < 100; i++ {
				l.InfoCtx(c, "work", sonde.Int("me", g))
			}
		}(g)
	}
	wg.Wait()
	l.InfoCtx(context.Background(), "plain")
	recs := readRecords(t, path)
	if len(recs) != 801 {
		t.Fatalf("%d records", len(recs))
	}
	for _, r := range recs[:800] {
		if r["request_id"] != "r1" || r["user_id"] != "u2" || r["g"] != r["me"] {
			t.Fatalf("record %v", r)
		}
	}
	if _, ok := recs[800]["request_id"]; ok {
		t.Fatalf("plain record carries scoped fields: %v", recs[800])
	}
	// 17 distinct keys: over C's limit of 16
	big := context.Background()
	for i := 0; i < 17; i++ {
		big = sonde.ContextWithLogFields(big, sonde.Int(string(rune('a'+i)), i))
	}
	if err := l.LogCtxErr(big, sonde.LevelInfo, "too many"); !errors.Is(err, sonde.ErrLimit) {
		t.Fatalf("17 scoped fields: %v", err)
	}
}

func TestLogScopeErrors(t *testing.T) {
	nine := make([]sonde.Field, 9)
	for i := range nine {
		nine[i] = sonde.Int(string(rune('a'+i)), i)
	}
	ran := false
	if err := sonde.WithLogFields(nine, func() { ran = true }); !errors.Is(err, sonde.ErrInvalid) || ran {
		t.Errorf("9 fields: %v ran=%v", err, ran)
	}
	if err := sonde.WithLogFields([]sonde.Field{sonde.Int("", 1)}, func() {}); !errors.Is(err, sonde.ErrInvalid) {
		t.Errorf("empty key: %v", err)
	}
	if err := sonde.WithLogFields([]sonde.Field{sonde.Int("k", 1), sonde.Int("k", 2)}, func() {}); !errors.Is(err, sonde.ErrInvalid) || !strings.Contains(err.Error(), "twice") {
		t.Errorf("key twice: %v", err)
	}
	if err := sonde.WithLogFields([]sonde.Field{sonde.String("big", strings.Repeat("x", 2000))}, func() {}); !errors.Is(err, sonde.ErrLimit) {
		t.Errorf("huge value: %v", err)
	}
	if err := sonde.WithLogFields([]sonde.Field{sonde.Int("a\x00b", 1)}, func() {}); err == nil {
		t.Errorf("NUL in key accepted")
	}
}

func TestLogSamplingPerCallSite(t *testing.T) {
	l, path := newLogger(t, sonde.LoggerOpts{Level: sonde.LevelInfo,
		Sampling: sonde.Sampling{First: 2, Thereafter: 3, Interval: 1 << 62}})
	before := sonde.LogSampledTotal(sonde.LevelInfo)
	errBefore := sonde.LogSampledTotal(sonde.LevelError)
	for i := 1; i <= 11; i++ {
		l.Info("hot", sonde.Int("i", i))
	}
	for i := 0; i < 4; i++ {
		l.Error("bad")
	}
	recs := readRecords(t, path)
	var is []float64
	bad := 0
	for _, r := range recs {
		if r["message"] == "hot" {
			is = append(is, r["i"].(float64))
		} else {
			bad++
		}
	}
	// 1, 2, then every third of the rest: 5, 8, 11
	if len(is) != 5 || is[2] != 5 || is[4] != 11 || bad != 4 {
		t.Fatalf("written %v, %d errors", is, bad)
	}
	if d := sonde.LogSampledTotal(sonde.LevelInfo) - before; d != 6 {
		t.Errorf("sampled info %d", d)
	}
	if d := sonde.LogSampledTotal(sonde.LevelError) - errBefore; d != 0 {
		t.Errorf("sampled error %d", d)
	}
}
