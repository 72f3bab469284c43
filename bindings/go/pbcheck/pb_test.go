// The binding's protobuf exposition (FormatProtobuf) read back with Google's
// Go protobuf runtime into client_model's generated MetricFamily, and each
// value compared with what the test observed. Native buckets are recomputed
// here from the observations with client_golang's definition (math.Frexp
// and the bounds 2^(j/2^schema - 1)), independently of sonde's C code.
package pbcheck

import (
	"fmt"
	"math"
	"sort"
	"testing"

	"github.com/golang/protobuf/proto"
	dto "github.com/prometheus/client_model/go"
	sonde "github.com/sonde-sdk/sonde/bindings/go"
)

// decode splits a length-delimited stream of MetricFamily messages.
func decode(t *testing.T, data []byte) map[string]*dto.MetricFamily {
	t.Helper()
	out := map[string]*dto.MetricFamily{}
	for len(data) > 0 {
		n, k := proto.DecodeVarint(data)
		if k == 0 || uint64(len(data)-k) < n {
			t.Fatalf("truncated length-delimited message (%d bytes left)", len(data))
		}
		mf := &dto.MetricFamily{}
		if err := proto.Unmarshal(data[k:k+int(n)], mf); err != nil {
			t.Fatalf("proto.Unmarshal: %v", err)
		}
		if _, dup := out[mf.GetName()]; dup {
			t.Fatalf("family %q twice", mf.GetName())
		}
		out[mf.GetName()] = mf
		data = data[k+int(n):]
	}
	return out
}

// key is client_golang's bucket index of v > 0 at schema.
func key(v float64, schema int32) int {
	frac, exp := math.Frexp(v)
	if schema > 0 {
		n := 1 << schema
		bounds := make([]float64, n)
		for j := range bounds {
			bounds[j] = math.Exp2(float64(j)/float64(n) - 1)
		}
		return sort.SearchFloat64s(bounds, frac) + (exp-1)*n
	}
	k := exp
	if frac == 0.5 {
		k--
	}
	div := 1 << -schema
	return int(math.Ceil(float64(k) / float64(div)))
}

// buckets rebuilds index -> count from spans and delta-encoded counts.
func buckets(t *testing.T, what string, spans []*dto.BucketSpan, deltas []int64) map[int]uint64 {
	t.Helper()
	out := map[int]uint64{}
	idx, i, cur := 0, 0, int64(0)
	for _, sp := range spans {
		idx += int(sp.GetOffset())
		for l := uint32(0); l < sp.GetLength(); l++ {
			if i >= len(deltas) {
				t.Fatalf("%s: fewer deltas than span buckets", what)
			}
			cur += deltas[i]
			i++
			if cur < 0 {
				t.Fatalf("%s: negative count at bucket %d", what, idx)
			}
			if cur > 0 {
				out[idx] = uint64(cur)
			}
			idx++
		}
	}
	if i != len(deltas) {
		t.Fatalf("%s: %d deltas for %d span buckets", what, len(deltas), i)
	}
	return out
}

func checkNative(t *testing.T, name string, h *dto.Histogram, schema int32, zt float64, obs []float64) {
	t.Helper()
	if h.GetSchema() != schema {
		t.Fatalf("%s: schema %d, want %d", name, h.GetSchema(), schema)
	}
	if h.GetZeroThreshold() != zt {
		t.Fatalf("%s: zero threshold %g, want %g", name, h.GetZeroThreshold(), zt)
	}
	wantPos, wantNeg := map[int]uint64{}, map[int]uint64{}
	var zero uint64
	sum := 0.0
	for _, v := range obs {
		sum += v
		switch {
		case math.Abs(v) <= zt:
			zero++
		case v > 0:
			wantPos[key(v, schema)]++
		default:
			wantNeg[key(-v, schema)]++
		}
	}
	if h.GetSampleCount() != uint64(len(obs)) {
		t.Fatalf("%s: count %d, want %d", name, h.GetSampleCount(), len(obs))
	}
	if math.Abs(h.GetSampleSum()-sum) > 1e-9*math.Max(1, math.Abs(sum)) {
		t.Fatalf("%s: sum %v, want %v", name, h.GetSampleSum(), sum)
	}
	if h.GetZeroCount() != zero {
		t.Fatalf("%s: zero count %d, want %d", name, h.GetZeroCount(), zero)
	}
	for _, side := range []struct {
		what   string
		spans  []*dto.BucketSpan
		deltas []int64
		want   map[int]uint64
	}{
		{"positive", h.GetPositiveSpan(), h.GetPositiveDelta(), wantPos},
		{"negative", h.GetNegativeSpan(), h.GetNegativeDelta(), wantNeg},
	} {
		got := buckets(t, name+" "+side.what, side.spans, side.deltas)
		if fmt.Sprint(got) != fmt.Sprint(side.want) {
			t.Fatalf("%s %s buckets:\n got %v\nwant %v", name, side.what, got, side.want)
		}
	}
}

func TestProtobufExpositionDecodesWithClientModel(t *testing.T) {
	reg, err := sonde.NewRegistry()
	if err != nil {
		t.Fatal(err)
	}
	defer reg.Close()
	reqs, err := sonde.NewCounterVec(sonde.CounterOpts{Name: "go_pb_requests_total", Help: "R.", Registry: reg},
		[]string{"path"})
	if err != nil {
		t.Fatal(err)
	}
	reqs.WithLabelValues("/a").Add(7.5)
	reqs.WithLabelValues("/b").Inc()
	g, err := sonde.NewGauge(sonde.GaugeOpts{Name: "go_pb_temp", Registry: reg})
	if err != nil {
		t.Fatal(err)
	}
	g.Set(-2.25)
	bounds := []float64{0.1, 1, 10}
	classic, err := sonde.NewHistogram(sonde.HistogramOpts{
		Opts: sonde.Opts{Name: "go_pb_classic_seconds", Registry: reg}, Buckets: bounds})
	if err != nil {
		t.Fatal(err)
	}
	native, err := sonde.NewHistogram(sonde.HistogramOpts{
		Opts:                        sonde.Opts{Name: "go_pb_native_seconds", Registry: reg},
		NativeHistogramBucketFactor: 1.1, // schema 3, as client_golang picks
	})
	if err != nil {
		t.Fatal(err)
	}
	mixed, err := sonde.NewHistogram(sonde.HistogramOpts{
		Opts:                         sonde.Opts{Name: "go_pb_mixed", Registry: reg},
		NativeHistogramBucketFactor:  2, // schema 0
		NativeHistogramZeroThreshold: 0.001,
	})
	if err != nil {
		t.Fatal(err)
	}
	both, err := sonde.NewHistogram(sonde.HistogramOpts{
		Opts: sonde.Opts{Name: "go_pb_both_seconds", Registry: reg}, Buckets: bounds,
		NativeHistogramBucketFactor: 1.1,
	})
	if err != nil {
		t.Fatal(err)
	}
	var nobs, mobs []float64
	x := uint64(88172645463325252)
	rnd := func() float64 {
		x ^= x << 13
		x ^= x >> 7
		x ^= x << 17
		return float64(x>>11) / (1 << 53)
	}
	for i := 0; i < 3000; i++ {
		v := 1e-3 * math.Pow(1e5, rnd()) // five decades
		if i%500 == 0 {
			v = math.Ldexp(1, i/500-2) // exact powers of two: bucket edges
		}
		nobs = append(nobs, v)
		native.Observe(v)
		classic.Observe(v)
		both.Observe(v)
		u := rnd()
		m := 0.0
		switch {
		case u < 0.1:
		case u < 0.15:
			m = 0.0004 // inside the zero bucket
		case u < 0.5:
			m = -math.Exp(4 * (rnd() - 0.5))
		default:
			m = math.Exp(6 * (rnd() - 0.5))
		}
		mobs = append(mobs, m)
		mixed.Observe(m)
	}

	data, err := reg.Expose(sonde.FormatProtobuf)
	if err != nil {
		t.Fatal(err)
	}
	fams := decode(t, data)
	if len(fams) != 6 {
		t.Fatalf("%d families decoded, want 6", len(fams))
	}

	c := fams["go_pb_requests_total"]
	if c.GetType() != dto.MetricType_COUNTER || c.GetHelp() != "R." || len(c.GetMetric()) != 2 {
		t.Fatalf("counter family: %v", c)
	}
	for _, m := range c.GetMetric() {
		want := map[string]float64{"/a": 7.5, "/b": 1}[m.GetLabel()[0].GetValue()]
		if m.GetLabel()[0].GetName() != "path" || m.GetCounter().GetValue() != want {
			t.Fatalf("counter sample %v, want %v", m, want)
		}
	}
	if gf := fams["go_pb_temp"]; gf.GetType() != dto.MetricType_GAUGE || gf.GetMetric()[0].GetGauge().GetValue() != -2.25 {
		t.Fatalf("gauge family: %v", gf)
	}

	cumulative := func(obs []float64) []uint64 {
		out := make([]uint64, len(bounds))
		for _, v := range obs {
			for i, b := range bounds {
				if v <= b {
					out[i]++
				}
			}
		}
		return out
	}
	want := cumulative(nobs)
	for _, name := range []string{"go_pb_classic_seconds", "go_pb_both_seconds"} {
		f := fams[name]
		if f.GetType() != dto.MetricType_HISTOGRAM {
			t.Fatalf("%s: type %v", name, f.GetType())
		}
		h := f.GetMetric()[0].GetHistogram()
		if h.GetSampleCount() != uint64(len(nobs)) {
			t.Fatalf("%s: count %d", name, h.GetSampleCount())
		}
		if len(h.GetBucket()) != len(bounds) {
			t.Fatalf("%s: %d buckets", name, len(h.GetBucket()))
		}
		for i, b := range h.GetBucket() {
			if b.GetUpperBound() != bounds[i] || b.GetCumulativeCount() != want[i] {
				t.Fatalf("%s bucket %d: le=%v %d, want le=%v %d", name, i, b.GetUpperBound(),
					b.GetCumulativeCount(), bounds[i], want[i])
			}
		}
	}
	if h := fams["go_pb_classic_seconds"].GetMetric()[0].GetHistogram(); h.Schema != nil || len(h.GetPositiveSpan()) != 0 {
		t.Fatalf("a classic histogram carries native fields: %v", h)
	}
	checkNative(t, "go_pb_both_seconds", fams["go_pb_both_seconds"].GetMetric()[0].GetHistogram(), 3, math.Ldexp(1, -128), nobs)
	nh := fams["go_pb_native_seconds"].GetMetric()[0].GetHistogram()
	if len(nh.GetBucket()) != 0 {
		t.Fatalf("a native-only histogram has classic buckets: %v", nh.GetBucket())
	}
	checkNative(t, "go_pb_native_seconds", nh, 3, math.Ldexp(1, -128), nobs)
	checkNative(t, "go_pb_mixed", fams["go_pb_mixed"].GetMetric()[0].GetHistogram(), 0, 0.001, mobs)
}
