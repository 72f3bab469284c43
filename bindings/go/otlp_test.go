package sonde_test

// The OTLP exporter from Go: configuration and lifecycle, and spans ended
// in Go checked on the wire with the OpenTelemetry project's own
// definitions: tests/otlp/otlp_receiver.py records what the exporter
// POSTs, tests/otlp/otlp_decode.js decodes it with the protobufjs root of
// @opentelemetry/otlp-transformer@0.52.1 (`make otlp-deps`).

import (
	"bufio"
	"errors"
	"fmt"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	sonde "github.com/sonde-sdk/sonde/bindings/go"
)

var otlpRepo, _ = filepath.Abs(filepath.Join("..", ".."))

func needDecoder(t *testing.T) string {
	t.Helper()
	node, err := exec.LookPath("node")
	if err != nil {
		t.Skip("node not found (apt-get install nodejs): the OTLP bodies cannot be decoded " +
			"with OpenTelemetry's definitions")
	}
	root := filepath.Join(otlpRepo, "tests", "otlp", "node_modules", "@opentelemetry",
		"otlp-transformer", "build", "src", "generated", "root.js")
	if _, err := os.Stat(root); err != nil {
		t.Skipf("%s missing: run `make otlp-deps` (npm install of "+
			"@opentelemetry/otlp-transformer@0.52.1)", root)
	}
	return node
}

type otlpReceiver struct {
	dir  string
	cmd  *exec.Cmd
	url  string
	node string
}

func startReceiver(t *testing.T, plan string) *otlpReceiver {
	t.Helper()
	node := needDecoder(t)
	py, err := exec.LookPath("python3")
	if err != nil {
		t.Fatal("python3 not found: the receiver tests/otlp/otlp_receiver.py needs it")
	}
	r := &otlpReceiver{dir: t.TempDir(), node: node}
	r.cmd = exec.Command(py, filepath.Join(otlpRepo, "tests", "otlp", "otlp_receiver.py"), r.dir, plan)
	out, err := r.cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := r.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = r.cmd.Process.Kill()
		_ = r.cmd.Wait()
	})
	line, _ := bufio.NewReader(out).ReadString('\n')
	var port int
	if _, err := fmt.Sscanf(line, "port %d", &port); err != nil {
		t.Fatalf("receiver did not start: %q", line)
	}
	r.url = fmt.Sprintf("http://127.0.0.1:%d/v1/traces", port)
	return r
}

func (r *otlpReceiver) bodies(t *testing.T) []string {
	files, _ := filepath.Glob(filepath.Join(r.dir, "req-*.body"))
	num := func(f string) int {
		n, _ := strconv.Atoi(strings.TrimSuffix(strings.TrimPrefix(filepath.Base(f), "req-"), ".body"))
		return n
	}
	sort.Slice(files, func(i, j int) bool { return num(files[i]) < num(files[j]) })
	if len(files) == 0 {
		t.Fatal("the receiver got no request")
	}
	return files
}

func (r *otlpReceiver) meta(t *testing.T, i int) map[string]string {
	b, err := os.ReadFile(filepath.Join(r.dir, fmt.Sprintf("req-%d.meta", i)))
	if err != nil {
		t.Fatal(err)
	}
	m := map[string]string{}
	for _, l := range strings.Split(string(b), "\n") {
		if k, v, ok := strings.Cut(l, ": "); ok {
			m[k] = v
		}
	}
	return m
}

var (
	reRS    = regexp.MustCompile(`^resourceSpans\.(\d+)\.(.*)$`)
	reSpan  = regexp.MustCompile(`^scopeSpans\.(\d+)\.spans\.(\d+)\.(.*)$`)
	reScope = regexp.MustCompile(`^scopeSpans\.(\d+)\.(scope\..*)$`)
)

// decode returns span id hex -> flattened fields of that span, with the
// "resource.*" and "scope.*" fields of its ResourceSpans / ScopeSpans.
func (r *otlpReceiver) decode(t *testing.T, json bool) map[string]map[string]string {
	t.Helper()
	args := []string{filepath.Join(otlpRepo, "tests", "otlp", "otlp_decode.js"), "traces", "--many"}
	if json {
		args = append(args, "--json")
	}
	args = append(args, r.bodies(t)...)
	cmd := exec.Command(r.node, args...)
	var stderr strings.Builder
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("otlp_decode.js: %v: %s", err, stderr.String())
	}
	// one "path=value" line per field; a value holding newlines (a stack
	// trace) goes on over the next lines
	var lines []string
	for _, l := range strings.Split(strings.TrimSuffix(string(out), "\n"), "\n") {
		if strings.HasPrefix(l, "== ") || strings.HasPrefix(l, "resourceSpans.") || len(lines) == 0 {
			lines = append(lines, l)
		} else {
			lines[len(lines)-1] += "\n" + l
		}
	}
	type group struct {
		spans  map[string]map[string]string // "scope.span" -> fields
		common map[string]string            // "scope|key" or "|resource.key"
	}
	groups := map[string]*group{}
	req := ""
	for _, l := range lines {
		if strings.HasPrefix(l, "== ") {
			req = l[3:]
			continue
		}
		path, value, _ := strings.Cut(l, "=")
		m := reRS.FindStringSubmatch(path)
		if m == nil {
			continue
		}
		g := groups[req+"#"+m[1]]
		if g == nil {
			g = &group{spans: map[string]map[string]string{}, common: map[string]string{}}
			groups[req+"#"+m[1]] = g
		}
		if s := reSpan.FindStringSubmatch(m[2]); s != nil {
			k := s[1] + "." + s[2]
			if g.spans[k] == nil {
				g.spans[k] = map[string]string{"#scope": s[1]}
			}
			g.spans[k][s[3]] = value
		} else if s := reScope.FindStringSubmatch(m[2]); s != nil {
			g.common[s[1]+"|"+s[2]] = value
		} else if strings.HasPrefix(m[2], "resource.") {
			g.common["|"+m[2]] = value
		}
	}
	spans := map[string]map[string]string{}
	for _, g := range groups {
		for _, f := range g.spans {
			for k, v := range g.common {
				sc, key, _ := strings.Cut(k, "|")
				if sc == "" || sc == f["#scope"] {
					f[key] = v
				}
			}
			spans[f["spanId"]] = f
		}
	}
	return spans
}

// stopOTLP shuts a test's exporter down, whatever the test's outcome.
func stopOTLP(t *testing.T) {
	t.Cleanup(func() {
		if sonde.OTLPRunning() {
			_ = sonde.ShutdownOTLP(2 * time.Second)
		}
	})
}

func TestOTLPBadOptions(t *testing.T) {
	stopOTLP(t)
	cases := []sonde.OTLPOptions{
		{Timeout: -time.Second}, {ScheduleDelay: -1}, {ExportTimeout: -time.Millisecond},
		{RetryInitial: -1}, {RetryMax: -1}, {Timeout: time.Duration(math.MaxInt64)},
		{Protocol: 3}, {Protocol: -1}, {Compression: 7}, {MaxQueueSize: -1},
		{MaxExportBatchSize: math.MaxInt32 + 1}, {Endpoint: "http://127.0.0.1:1/v1/\x00traces"},
		{Headers: map[string]string{"x-a": "b\x00c"}}, {Headers: map[string]string{"x\x00a": "b"}},
	}
	for i, o := range cases {
		err := sonde.StartOTLP(o)
		if !errors.Is(err, sonde.ErrInvalid) || !strings.Contains(err.Error(), "sonde") {
			t.Errorf("case %d %+v: %v", i, o, err)
		}
		if sonde.OTLPRunning() {
			t.Fatalf("case %d started", i)
		}
	}
	// libsonde's own refusal: started on the default, with its message
	err := sonde.StartOTLP(sonde.OTLPOptions{Endpoint: "https://collector:4318/v1/traces",
		ScheduleDelay: 50 * time.Millisecond})
	if !errors.Is(err, sonde.ErrInvalid) || !strings.Contains(err.Error(), "https://collector:4318") ||
		!sonde.OTLPRunning() {
		t.Fatalf("https endpoint: %v, running %v", err, sonde.OTLPRunning())
	}
	if err := sonde.StartOTLP(sonde.OTLPOptions{}); !errors.Is(err, sonde.ErrState) {
		t.Fatalf("second start: %v", err)
	}
	if err := sonde.ShutdownOTLP(0); err != nil {
		t.Fatal(err)
	}
	if sonde.OTLPRunning() {
		t.Fatal("running after shutdown")
	}
}

func TestOTLPNotRunning(t *testing.T) {
	if err := sonde.FlushOTLP(100 * time.Millisecond); !errors.Is(err, sonde.ErrState) {
		t.Fatalf("flush: %v", err)
	}
	if err := sonde.ShutdownOTLP(time.Millisecond); !errors.Is(err, sonde.ErrState) {
		t.Fatalf("shutdown: %v", err)
	}
	if err := sonde.FlushOTLP(-1); !errors.Is(err, sonde.ErrInvalid) {
		t.Fatalf("negative flush: %v", err)
	}
	if err := sonde.ShutdownOTLP(-time.Second); !errors.Is(err, sonde.ErrInvalid) {
		t.Fatalf("negative shutdown: %v", err)
	}
}

func TestOTLPResourceScope(t *testing.T) {
	if err := sonde.SetService("go-otlp-test", "9.9", "test"); err != nil {
		t.Fatal(err)
	}
	if v, ok := sonde.Resource("service.name"); !ok || v != "go-otlp-test" {
		t.Fatalf("service.name %q %v", v, ok)
	}
	if err := sonde.SetResourceInt("shard", -7); err != nil {
		t.Fatal(err)
	}
	if v, _ := sonde.Resource("shard"); v != "-7" {
		t.Fatalf("shard %q", v)
	}
	if err := sonde.RemoveResource("shard"); err != nil {
		t.Fatal(err)
	}
	if _, ok := sonde.Resource("shard"); ok {
		t.Fatal("shard still set")
	}
	if v, _ := sonde.Resource("process.pid"); v != strconv.Itoa(os.Getpid()) {
		t.Fatalf("process.pid %q", v)
	}
	if err := sonde.SetResourceString("", "x"); !errors.Is(err, sonde.ErrInvalid) {
		t.Fatalf("empty key: %v", err)
	}
	if err := sonde.SetService("a\x00b", "", ""); !errors.Is(err, sonde.ErrInvalid) {
		t.Fatalf("NUL: %v", err)
	}
	if err := sonde.SetScope("", ""); !errors.Is(err, sonde.ErrInvalid) {
		t.Fatalf("empty scope: %v", err)
	}
	n, v := sonde.Scope()
	if n != "sonde" || v != sonde.Version() {
		t.Fatalf("default scope %q %q", n, v)
	}
	if err := sonde.SetScope("go.tests", "0.3"); err != nil {
		t.Fatal(err)
	}
	if n2, v2 := sonde.Scope(); n2 != "go.tests" || v2 != "0.3" {
		t.Fatalf("scope %q %q", n2, v2)
	}
	if err := sonde.SetScope(n, v); err != nil {
		t.Fatal(err)
	}
}

type spanIDs struct{ parent, child, other sonde.SpanContext }

// endSpans ends the test's spans: a SERVER parent with every attribute
// type, an event, an exception, a link and an error; its CLIENT child; a
// PRODUCER root.
func endSpans(t *testing.T) spanIDs {
	t.Helper()
	sonde.SetSamplerRatio(1)
	tp, err := sonde.ParseTraceparent("00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01")
	if err != nil {
		t.Fatal(err)
	}
	var ids spanIDs
	func() {
		p := sonde.StartSpan("GET /cart")
		defer p.End()
		p.SetKind(sonde.SpanKindServer)
		for k, v := range map[string]interface{}{"http.request.method": "GET",
			"http.response.status_code": 503, "ratio": 0.25, "cached": false,
			"tags": []string{"a", "b"}, "ids": []int64{1, -2}, "weights": []float64{1.5, 2.5},
			"flags": []bool{true, false}} {
			if err := p.SetAttribute(k, v); err != nil {
				t.Fatal(err)
			}
		}
		if err := p.AddEventAt("cache miss", time.Unix(1700000000, 5),
			map[string]interface{}{"key": "cart:7", "size": int64(3)}); err != nil {
			t.Fatal(err)
		}
		if err := p.AddLink(tp.Context(), map[string]interface{}{"reason": "batch"}); err != nil {
			t.Fatal(err)
		}
		p.RecordError(fmt.Errorf("open db: %w", os.ErrNotExist))
		p.SetError("backend unavailable")
		ids.parent = p.Context()
		c := sonde.StartSpan("SELECT cart")
		c.SetKind(sonde.SpanKindClient)
		_ = c.SetAttribute("db.system", "postgresql")
		ids.child = c.Context()
		c.End()
	}()
	o := sonde.StartSpan("enqueue")
	o.SetKind(sonde.SpanKindProducer)
	ids.other = o.Context()
	o.End()
	return ids
}

func checkSpans(t *testing.T, spans map[string]map[string]string, ids spanIDs, t0, t1 int64) {
	t.Helper()
	p, c, o := spans[ids.parent.SpanIDHex()], spans[ids.child.SpanIDHex()], spans[ids.other.SpanIDHex()]
	if p == nil || c == nil || o == nil {
		t.Fatalf("spans missing on the wire: %d decoded", len(spans))
	}
	eq := func(m map[string]string, k, want string) {
		t.Helper()
		if m[k] != want {
			t.Errorf("%s %s = %q, want %q", m["name"], k, m[k], want)
		}
	}
	eq(p, "traceId", ids.parent.TraceIDHex())
	eq(c, "traceId", ids.parent.TraceIDHex())
	eq(c, "parentSpanId", ids.parent.SpanIDHex())
	eq(o, "parentSpanId", "")
	if o["traceId"] == p["traceId"] {
		t.Error("the producer span is not a new trace")
	}
	eq(p, "name", "GET /cart")
	eq(p, "kind", "2")
	eq(c, "name", "SELECT cart")
	eq(c, "kind", "3")
	eq(o, "name", "enqueue")
	eq(o, "kind", "4")
	for _, s := range []map[string]string{p, c, o} {
		st, _ := strconv.ParseInt(s["startTimeUnixNano"], 10, 64)
		en, _ := strconv.ParseInt(s["endTimeUnixNano"], 10, 64)
		if st < t0-1e6 || en < st || en > t1+1e6 {
			t.Errorf("%s times %d..%d outside %d..%d", s["name"], st, en, t0, t1)
		}
		eq(s, "resource.attributes[service.name].stringValue", "go-otlp-test")
		eq(s, "resource.attributes[service.version].stringValue", "1.2.3")
		eq(s, "resource.attributes[telemetry.sdk.name].stringValue", "sonde")
		eq(s, "resource.attributes[process.pid].intValue", strconv.Itoa(os.Getpid()))
		eq(s, "scope.name", "sonde")
		eq(s, "scope.version", sonde.Version())
	}
	a := func(k, rest string) string { return "attributes[" + k + "]." + rest }
	eq(p, a("http.request.method", "stringValue"), "GET")
	eq(p, a("http.response.status_code", "intValue"), "503")
	eq(p, a("ratio", "doubleValue"), "0.25")
	eq(p, a("cached", "boolValue"), "false")
	eq(p, a("tags", "arrayValue.values.0.stringValue"), "a")
	eq(p, a("tags", "arrayValue.values.1.stringValue"), "b")
	eq(p, a("ids", "arrayValue.values.0.intValue"), "1")
	eq(p, a("ids", "arrayValue.values.1.intValue"), "-2")
	eq(p, a("weights", "arrayValue.values.0.doubleValue"), "1.5")
	eq(p, a("weights", "arrayValue.values.1.doubleValue"), "2.5")
	eq(p, a("flags", "arrayValue.values.0.boolValue"), "true")
	eq(p, a("flags", "arrayValue.values.1.boolValue"), "false")
	eq(c, a("db.system", "stringValue"), "postgresql")
	eq(p, "events.0.name", "cache miss")
	eq(p, "events.0.timeUnixNano", "1700000000000000005")
	eq(p, "events.0.attributes[key].stringValue", "cart:7")
	eq(p, "events.0.attributes[size].intValue", "3")
	eq(p, "events.1.name", "exception")
	eq(p, "events.1.attributes[exception.type].stringValue", "*fmt.wrapError")
	eq(p, "events.1.attributes[exception.message].stringValue", "open db: file does not exist")
	if st := p["events.1.attributes[exception.stacktrace].stringValue"]; !strings.Contains(st,
		"*errors.errorString: file does not exist") {
		t.Errorf("stacktrace %q", st)
	}
	if _, ok := p["events.2.name"]; ok {
		t.Error("a third event")
	}
	eq(p, "links.0.traceId", "0af7651916cd43dd8448eb211c80319c")
	eq(p, "links.0.spanId", "b7ad6b7169203331")
	eq(p, "links.0.attributes[reason].stringValue", "batch")
	eq(p, "status.code", "2")
	eq(p, "status.message", "backend unavailable")
	if c["status.code"] != "" && c["status.code"] != "0" {
		t.Errorf("child status %q", c["status.code"])
	}
}

func otlpWire(t *testing.T, proto sonde.OTLPProtocol) {
	r := startReceiver(t, "200")
	if err := sonde.SetService("go-otlp-test", "1.2.3", ""); err != nil {
		t.Fatal(err)
	}
	if err := sonde.StartOTLP(sonde.OTLPOptions{Endpoint: r.url,
		Headers: map[string]string{"x-tenant": "blue"}, Timeout: 5 * time.Second,
		Protocol: proto, Compression: sonde.OTLPCompressionNone,
		ScheduleDelay: 50 * time.Millisecond, ExportTimeout: 10 * time.Second,
		MaxQueueSize: 64, MaxExportBatchSize: 8, RetryInitial: 50 * time.Millisecond,
		RetryMax: 200 * time.Millisecond}); err != nil {
		t.Fatal(err)
	}
	stopOTLP(t)
	t0 := time.Now().UnixNano()
	ids := endSpans(t)
	t1 := time.Now().UnixNano()
	if err := sonde.FlushOTLP(10 * time.Second); err != nil {
		t.Fatal(err)
	}
	if err := sonde.ShutdownOTLP(2 * time.Second); err != nil {
		t.Fatal(err)
	}
	st := sonde.GetOTLPStats()
	if st.SpansEnded != st.SpansExported+st.Dropped() || st.Dropped() != 0 || st.SpansExported < 3 ||
		st.QueueLength != 0 || st.ExportRequests == 0 {
		t.Fatalf("stats %+v", st)
	}
	spans := r.decode(t, proto == sonde.OTLPJSON)
	if uint64(len(spans)) != st.SpansExported {
		t.Errorf("%d spans on the wire, %d exported", len(spans), st.SpansExported)
	}
	checkSpans(t, spans, ids, t0, t1)
	ct := "application/x-protobuf"
	if proto == sonde.OTLPJSON {
		ct = "application/json"
	}
	for i := range r.bodies(t) {
		m := r.meta(t, i)
		if m["path"] != "/v1/traces" || m["content-type"] != ct || m["x-tenant"] != "blue" {
			t.Errorf("request %d: %v", i, m)
		}
	}
}

func TestOTLPWireProtobuf(t *testing.T) { otlpWire(t, sonde.OTLPProtobuf) }
func TestOTLPWireJSON(t *testing.T)     { otlpWire(t, sonde.OTLPJSON) }

func TestOTLPFromEnv(t *testing.T) {
	r := startReceiver(t, "200")
	t.Setenv("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", r.url)
	t.Setenv("OTEL_SERVICE_NAME", "go-from-env")
	t.Setenv("OTEL_BSP_SCHEDULE_DELAY", "50")
	t.Setenv("OTEL_EXPORTER_OTLP_TRACES_PROTOCOL", "http/json")
	t.Setenv("OTEL_EXPORTER_OTLP_HEADERS", "x-env=1")
	if err := sonde.StartOTLPFromEnv(); err != nil || !sonde.OTLPRunning() {
		t.Fatalf("start: %v", err)
	}
	stopOTLP(t)
	sonde.SetSamplerRatio(1)
	s := sonde.StartSpan("from env")
	s.SetKind(sonde.SpanKindConsumer)
	id := s.Context().SpanIDHex()
	s.End()
	if err := sonde.FlushOTLP(10 * time.Second); err != nil {
		t.Fatal(err)
	}
	got := r.decode(t, true)[id]
	if got["name"] != "from env" || got["kind"] != "5" ||
		got["resource.attributes[service.name].stringValue"] != "go-from-env" {
		t.Fatalf("span %v", got)
	}
	if m := r.meta(t, 0); m["x-env"] != "1" || m["content-type"] != "application/json" {
		t.Fatalf("request %v", m)
	}
}

// TestOTLPLogSink: records of a Go logger through OTLPLogSink, decoded
// with OpenTelemetry's definitions: body, severity, typed attributes, the
// trace context of the call, the logger's service as the scope.
func TestOTLPLogSink(t *testing.T) {
	r := startReceiver(t, "200")
	stopOTLP(t)
	logsURL := strings.TrimSuffix(r.url, "/v1/traces") + "/v1/logs"
	if err := sonde.StartOTLP(sonde.OTLPOptions{Endpoint: r.url, LogsEndpoint: logsURL,
		Protocol: sonde.OTLPProtobuf, Compression: sonde.OTLPCompressionNone,
		ScheduleDelay: 50 * time.Millisecond}); err != nil {
		t.Fatal(err)
	}
	sink, err := sonde.OTLPLogSink(sonde.SinkOpts{Name: "otlp-go"})
	if err != nil {
		t.Fatal(err)
	}
	l, err := sonde.NewLogger(sonde.LoggerOpts{Service: "go-logs", Level: sonde.LevelInfo,
		Sinks: []*sonde.Sink{sink}})
	if err != nil {
		t.Fatal(err)
	}
	var traceID, spanID string
	func() {
		sp := sonde.StartSpan("req")
		defer sp.End()
		traceID, spanID = sp.Context().TraceIDHex(), sp.Context().SpanIDHex()
		l.Info("paid", sonde.Int("amount", 42), sonde.String("user", "u1"),
			sonde.Float64("ms", 1.5), sonde.Bool("ok", true))
	}()
	l.Warn("outside")
	l.Debug("below the level")
	if err := sonde.LogFlush(); err != nil {
		t.Fatal(err)
	}
	if err := sonde.FlushOTLP(5 * time.Second); err != nil {
		t.Fatal(err)
	}
	// the two calls at or above INFO, and the span's own line (the
	// default logger: the oldest live root logger, this one)
	st := sonde.GetOTLPStats()
	if st.LogsHanded != 3 || st.LogsExported != 3 || st.LogsDropped() != 0 {
		t.Fatalf("log stats %+v", st)
	}
	var logBodies []string
	for i, f := range r.bodies(t) {
		if r.meta(t, i)["path"] == "/v1/logs" {
			logBodies = append(logBodies, f)
		}
	}
	if len(logBodies) == 0 {
		t.Fatal("no request on /v1/logs")
	}
	args := append([]string{filepath.Join(otlpRepo, "tests", "otlp", "otlp_decode.js"), "logs",
		"--many"}, logBodies...)
	var stderr strings.Builder
	cmd := exec.Command(r.node, args...)
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("otlp_decode.js: %v: %s", err, stderr.String())
	}
	// the flattened lines of each LogRecord, by its body
	recs := map[string]map[string]string{}
	scopes := map[string]bool{}
	re := regexp.MustCompile(`^resourceLogs\.\d+\.scopeLogs\.(\d+)\.logRecords\.(\d+)\.(.*)$`)
	reScopeName := regexp.MustCompile(`^resourceLogs\.\d+\.scopeLogs\.\d+\.scope\.name$`)
	byIdx := map[string]map[string]string{}
	req := ""
	for _, line := range strings.Split(string(out), "\n") {
		if strings.HasPrefix(line, "== ") {
			req = line[3:]
			continue
		}
		path, value, _ := strings.Cut(line, "=")
		if reScopeName.MatchString(path) {
			scopes[value] = true
		}
		if m := re.FindStringSubmatch(path); m != nil {
			k := req + "#" + m[1] + "." + m[2]
			if byIdx[k] == nil {
				byIdx[k] = map[string]string{}
			}
			byIdx[k][m[3]] = value
		}
	}
	for _, f := range byIdx {
		recs[f["body.stringValue"]] = f
	}
	if len(recs) != 3 || !scopes["go-logs"] || recs["span"]["traceId"] != traceID {
		t.Fatalf("records %v, scopes %v:\n%s", recs, scopes, out)
	}
	paid, outside := recs["paid"], recs["outside"]
	for k, want := range map[string]string{"severityNumber": "9", "severityText": "INFO",
		"traceId": traceID, "spanId": spanID, "attributes[amount].intValue": "42",
		"attributes[user].stringValue": "u1", "attributes[ms].doubleValue": "1.5",
		"attributes[ok].boolValue": "true"} {
		if paid[k] != want {
			t.Errorf("paid: %s = %q, want %q (%v)", k, paid[k], want, paid)
		}
	}
	if outside["severityNumber"] != "13" || outside["severityText"] != "WARN" ||
		outside["traceId"] != "" {
		t.Errorf("outside: %v", outside)
	}
	l.Close()
	sink.Close()
}
