package sonde_test

import (
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os/exec"
	"strings"
	"testing"
	"time"

	sonde "github.com/sonde-sdk/sonde/bindings/go"
)

// startGateway runs the real Pushgateway (Debian's prometheus-pushgateway)
// on a free loopback port, in memory, until the test ends.
func startGateway(t *testing.T) string {
	t.Helper()
	bin, err := exec.LookPath("prometheus-pushgateway")
	if err != nil {
		t.Skip("prometheus-pushgateway not installed (apt-get install prometheus-pushgateway)")
	}
	for attempt := 0; attempt < 5; attempt++ {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		addr := l.Addr().String()
		l.Close()
		cmd := exec.Command(bin, "--web.listen-address="+addr, "--persistence.file=")
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		deadline := time.Now().Add(15 * time.Second)
		for time.Now().Before(deadline) {
			if r, err := http.Get("http://" + addr + "/-/ready"); err == nil {
				r.Body.Close()
				t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
				return "http://" + addr
			}
			time.Sleep(100 * time.Millisecond)
		}
		cmd.Process.Kill()
		cmd.Wait()
	}
	t.Fatal("the Pushgateway did not start")
	return ""
}

// gatewayGroups reads the gateway's own JSON API: for each group (its
// labels as "k=v,..." in sorted order by the gateway), metric name ->
// value of its first sample.
func gatewayGroups(t *testing.T, gw string) map[string]map[string]string {
	t.Helper()
	r, err := http.Get(gw + "/api/v1/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer r.Body.Close()
	var doc struct {
		Data []map[string]json.RawMessage `json:"data"`
	}
	if err := json.NewDecoder(r.Body).Decode(&doc); err != nil {
		t.Fatal(err)
	}
	out := map[string]map[string]string{}
	for _, g := range doc.Data {
		var labels map[string]string
		if err := json.Unmarshal(g["labels"], &labels); err != nil {
			t.Fatal(err)
		}
		key := fmt.Sprintf("job=%s,instance=%s", labels["job"], labels["instance"])
		vals := map[string]string{}
		for name, raw := range g {
			var fam struct {
				Metrics []struct {
					Value string `json:"value"`
					Count string `json:"count"`
				} `json:"metrics"`
			}
			if name == "labels" || json.Unmarshal(raw, &fam) != nil || len(fam.Metrics) == 0 {
				continue
			}
			v := fam.Metrics[0].Value
			if v == "" {
				v = "count " + fam.Metrics[0].Count
			}
			vals[name] = v
		}
		out[key] = vals
	}
	return out
}

func TestPusherAgainstRealPushgateway(t *testing.T) {
	gw := startGateway(t)
	reg := newReg(t)
	c, err := sonde.NewCounter(sonde.CounterOpts{Registry: reg, Name: "go_batch_items_total", Help: "Items."})
	if err != nil {
		t.Fatal(err)
	}
	c.Add(7)
	h, err := sonde.NewHistogram(sonde.HistogramOpts{Opts: sonde.Opts{Registry: reg, Name: "go_batch_seconds"},
		Buckets: []float64{0.1, 1}, NativeHistogramBucketFactor: 1.1})
	if err != nil {
		t.Fatal(err)
	}
	h.Observe(0.5)
	h.Observe(2)
	p := sonde.NewPusher(gw, "go/job").Grouping("instance", "é x").Registry(reg).
		Header("X-Test", "1").Timeout(5 * time.Second).Format(sonde.FormatProtobuf)
	if err := p.Push(); err != nil {
		t.Fatal(err)
	}
	g := gatewayGroups(t, gw)["job=go/job,instance=é x"]
	if g["go_batch_items_total"] != "7" || g["go_batch_seconds"] != "count 2" {
		t.Fatalf("group after Push: %v (all: %v)", g, gatewayGroups(t, gw))
	}
	// Add keeps the group's other names; Push replaces the group
	reg2 := newReg(t)
	g2, _ := sonde.NewGauge(sonde.GaugeOpts{Registry: reg2, Name: "go_batch_last_success"})
	g2.Set(42)
	if err := sonde.NewPusher(gw, "go/job").Grouping("instance", "é x").Registry(reg2).Add(); err != nil {
		t.Fatal(err)
	}
	g = gatewayGroups(t, gw)["job=go/job,instance=é x"]
	if g["go_batch_items_total"] != "7" || g["go_batch_last_success"] != "42" {
		t.Fatalf("group after Add: %v", g)
	}
	if err := sonde.NewPusher(gw, "go/job").Grouping("instance", "é x").Registry(reg2).Push(); err != nil {
		t.Fatal(err)
	}
	g = gatewayGroups(t, gw)["job=go/job,instance=é x"]
	if _, ok := g["go_batch_items_total"]; ok || g["go_batch_last_success"] != "42" {
		t.Fatalf("group after the second Push: %v", g)
	}
	if err := sonde.NewPusher(gw, "go/job").Grouping("instance", "é x").Delete(); err != nil {
		t.Fatal(err)
	}
	if g, ok := gatewayGroups(t, gw)["job=go/job,instance=é x"]; ok {
		t.Fatalf("group after Delete: %v", g)
	}
	// refusals come back as sonde errors with sonde's message
	err = sonde.NewPusher(gw, "j").Grouping("job", "x").Push()
	if !errors.Is(err, sonde.ErrInvalid) {
		t.Fatalf("grouping label job: %v", err)
	}
	if err = sonde.NewPusher("https://127.0.0.1:1", "j").Push(); !errors.Is(err, sonde.ErrInvalid) {
		t.Fatalf("https: %v", err)
	}
	if err = sonde.NewPusher(gw, "j").Timeout(-time.Second).Push(); !errors.Is(err, sonde.ErrInvalid) {
		t.Fatalf("negative timeout: %v", err)
	}
}

func TestConstLabelsAndRegistryLabels(t *testing.T) {
	reg := newReg(t)
	c, err := sonde.NewCounterVec(sonde.CounterOpts{Registry: reg, Name: "go_const_total",
		ConstLabels: map[string]string{"service": "api", "env": "prod"}}, []string{"method"})
	if err != nil {
		t.Fatal(err)
	}
	c.WithLabelValues("GET").Inc()
	if err := reg.SetLabels(map[string]string{"region": "eu"}); err != nil {
		t.Fatal(err)
	}
	text, err := reg.Expose(sonde.FormatText)
	if err != nil {
		t.Fatal(err)
	}
	// constant labels sorted by name after the family's own, then the
	// registry's
	want := `go_const_total{method="GET",env="prod",service="api",region="eu"} 1`
	if !strings.Contains(string(text), want) {
		t.Fatalf("want %s in:\n%s", want, text)
	}
	if err := reg.SetLabels(map[string]string{"method": "x"}); !errors.Is(err, sonde.ErrInvalid) {
		t.Fatalf("clash with a label: %v", err)
	}
	if _, err := sonde.NewCounterVec(sonde.CounterOpts{Registry: reg, Name: "go_const_total",
		ConstLabels: map[string]string{"service": "other"}}, []string{"method"}); err == nil {
		t.Fatal("another definition accepted")
	}
}
