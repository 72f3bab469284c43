package sonde_test

import (
	"sync/atomic"
	"testing"

	sonde "github.com/sonde-sdk/sonde/bindings/go"
)

// Baseline: a plain sync/atomic add, beside each sonde call (one cgo call
// each; compare the two to see what the cgo boundary costs).
func BenchmarkAtomicAdd(b *testing.B) {
	var n int64
	for i := 0; i < b.N; i++ {
		atomic.AddInt64(&n, 1)
	}
}

func BenchmarkAtomicAddParallel(b *testing.B) {
	var n int64
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			atomic.AddInt64(&n, 1)
		}
	})
}

func BenchmarkCounterInc(b *testing.B) {
	r := newReg(b)
	c, _ := sonde.NewCounter(sonde.CounterOpts{Registry: r, Name: "bench_total"})
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		c.Inc()
	}
}

func BenchmarkCounterIncParallel(b *testing.B) {
	r := newReg(b)
	c, _ := sonde.NewCounter(sonde.CounterOpts{Registry: r, Name: "bench_total"})
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			c.Inc()
		}
	})
}

func BenchmarkHistogramObserve(b *testing.B) {
	r := newReg(b)
	h, _ := sonde.NewHistogram(sonde.HistogramOpts{Opts: sonde.Opts{Registry: r, Name: "bench_seconds"}})
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		h.Observe(0.3)
	}
}

func BenchmarkWithLabelValuesInc(b *testing.B) {
	r := newReg(b)
	v, _ := sonde.NewCounterVec(sonde.CounterOpts{Registry: r, Name: "bench_l_total"}, []string{"method", "code"})
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		v.WithLabelValues("GET", "200").Inc()
	}
}
