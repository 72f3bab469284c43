package sonde

/*
#include <stdlib.h>
#include <sonde.h>

static void sgo_header_set(sonde_header *h, size_t i, const char *n, size_t nl, const char *v,
                           size_t vl)
{
	h[i].name = n;
	h[i].name_len = nl;
	h[i].value = v;
	h[i].value_len = vl;
}
*/
import "C"

import (
	"math"
	"runtime"
	"sort"
	"time"
)

// OTLP export (include/sonde/export.h): every sampled span ended in the
// process, by Go, C, Python or Rust code, goes to an OpenTelemetry
// Collector, Jaeger or anything that accepts OTLP over HTTP. The exporter
// is process-wide (one per process); only spans started after StartOTLP
// are exported.
//
//	sonde.SetService("checkout", "1.4.2", "prod")
//	if err := sonde.StartOTLP(sonde.OTLPOptions{
//		Endpoint: "http://localhost:4318/v1/traces",
//		Headers:  map[string]string{"x-tenant": "a"},
//	}); err != nil { ... }
//	defer sonde.ShutdownOTLP(2 * time.Second)

// OTLPProtocol is the request encoding.
type OTLPProtocol int

const (
	OTLPProtocolDefault OTLPProtocol = C.SONDE_OTLP_PROTOCOL_DEFAULT // OTEL_*_PROTOCOL, else protobuf
	OTLPProtobuf        OTLPProtocol = C.SONDE_OTLP_PROTOCOL_PROTOBUF
	OTLPJSON            OTLPProtocol = C.SONDE_OTLP_PROTOCOL_JSON
)

// OTLPCompression is the request body's compression.
type OTLPCompression int

const (
	OTLPCompressionDefault OTLPCompression = C.SONDE_OTLP_COMPRESSION_DEFAULT // OTEL_*_COMPRESSION, else none
	OTLPCompressionNone    OTLPCompression = C.SONDE_OTLP_COMPRESSION_NONE
	OTLPGzip               OTLPCompression = C.SONDE_OTLP_COMPRESSION_GZIP // needs zlib in libsonde
)

// OTLPOptions configures the exporter. A zero field takes the OTEL_*
// variable that sets the same thing, then OpenTelemetry's default
// (brackets). Durations are rounded up to whole milliseconds.
type OTLPOptions struct {
	// Endpoint is the full traces URL, http://host[:port][/path]
	// [http://localhost:4318/v1/traces]; http only (TLS is the job of a
	// local Collector that forwards).
	Endpoint string
	// Headers are added to OTEL_EXPORTER_OTLP_[TRACES_]HEADERS.
	Headers       map[string]string
	Timeout       time.Duration // one request [10s]
	Protocol      OTLPProtocol
	Compression   OTLPCompression
	ScheduleDelay time.Duration // between batches [5s]
	ExportTimeout time.Duration // one batch, retries included [30s]
	// MaxQueueSize spans wait for export [2048]; a full queue drops and counts.
	MaxQueueSize       int
	MaxExportBatchSize int           // spans per request [512]
	RetryInitial       time.Duration // the retry backoff's first wait [1s]
	RetryMax           time.Duration // and its ceiling [5s]
	// LogsEndpoint is the full logs URL for OTLPLogSink's records
	// [OTEL_EXPORTER_OTLP_LOGS_ENDPOINT, or OTEL_EXPORTER_OTLP_ENDPOINT +
	// "/v1/logs", else http://localhost:4318/v1/logs]. The other fields
	// serve both signals.
	LogsEndpoint string
}

// ceilMs is d (>= 0) in whole milliseconds, rounded up (no overflow).
func ceilMs(d time.Duration) time.Duration {
	ms := d / time.Millisecond
	if d%time.Millisecond != 0 {
		ms++
	}
	return ms
}

func otlpMs(d time.Duration, what string) (C.int, error) {
	if d < 0 {
		return 0, fmtErr("sonde: OTLPOptions.%s %v is negative", what, d)
	}
	ms := ceilMs(d)
	if ms > math.MaxInt32 {
		return 0, fmtErr("sonde: OTLPOptions.%s %v is above %d ms", what, d, math.MaxInt32)
	}
	return C.int(ms), nil
}

func otlpCount(n int, what string) (C.int, error) {
	if n < 0 || n > math.MaxInt32 {
		return 0, fmtErr("sonde: OTLPOptions.%s %d is not in [0, %d]", what, n, math.MaxInt32)
	}
	return C.int(n), nil
}

// fill lays o out in c, its strings in mem (C copies them during start).
func (o *OTLPOptions) fill(c *C.sonde_otlp_options, mem *cmem) error {
	c.size = C.sizeof_sonde_otlp_options
	if o.Endpoint != "" {
		if err := noNUL("OTLP endpoint", o.Endpoint); err != nil {
			return err
		}
		c.endpoint = mem.str(o.Endpoint)
	}
	if o.LogsEndpoint != "" {
		if err := noNUL("OTLP logs endpoint", o.LogsEndpoint); err != nil {
			return err
		}
		c.logs_endpoint = mem.str(o.LogsEndpoint)
	}
	if len(o.Headers) > 0 {
		names := make([]string, 0, len(o.Headers))
		for k := range o.Headers {
			names = append(names, k)
		}
		sort.Strings(names)
		arr := (*C.sonde_header)(mem.calloc(len(names), C.sizeof_sonde_header))
		for i, k := range names {
			v := o.Headers[k]
			if err := noNUL("OTLP header", k, v); err != nil {
				return err
			}
			C.sgo_header_set(arr, C.size_t(i), mem.str(k), C.size_t(len(k)), mem.str(v),
				C.size_t(len(v)))
		}
		c.headers = arr
		c.nheaders = C.size_t(len(names))
	}
	if o.Protocol < OTLPProtocolDefault || o.Protocol > OTLPJSON {
		return fmtErr("sonde: OTLPOptions.Protocol %d is not OTLPProtobuf or OTLPJSON", int(o.Protocol))
	}
	if o.Compression < OTLPCompressionDefault || o.Compression > OTLPGzip {
		return fmtErr("sonde: OTLPOptions.Compression %d is not OTLPCompressionNone or OTLPGzip",
			int(o.Compression))
	}
	c.protocol = C.int(o.Protocol)
	c.compression = C.int(o.Compression)
	var err error
	for _, f := range []struct {
		dst  *C.int
		d    time.Duration
		name string
	}{{&c.timeout_ms, o.Timeout, "Timeout"}, {&c.schedule_delay_ms, o.ScheduleDelay, "ScheduleDelay"},
		{&c.export_timeout_ms, o.ExportTimeout, "ExportTimeout"},
		{&c.retry_initial_ms, o.RetryInitial, "RetryInitial"}, {&c.retry_max_ms, o.RetryMax, "RetryMax"}} {
		if *f.dst, err = otlpMs(f.d, f.name); err != nil {
			return err
		}
	}
	if c.max_queue_size, err = otlpCount(o.MaxQueueSize, "MaxQueueSize"); err != nil {
		return err
	}
	if c.max_export_batch_size, err = otlpCount(o.MaxExportBatchSize, "MaxExportBatchSize"); err != nil {
		return err
	}
	return nil
}

// StartOTLP starts the exporter: the OTEL_* variables (endpoint, headers,
// timeout, protocol, compression, OTEL_BSP_*, OTEL_SERVICE_NAME, the
// sampler, OTEL_SDK_DISABLED, OTEL_TRACES_EXPORTER) with o's non-zero
// fields over them. It returns nil when it runs, and also when
// OTEL_SDK_DISABLED=true, or OTEL_TRACES_EXPORTER=none with
// OTEL_LOGS_EXPORTER=none, kept it off
// (OTLPRunning tells). Errors (*Error):
//   - a bad field (negative duration, unknown protocol or compression, a
//     NUL in a string, a size out of int32) is ErrInvalid and nothing
//     starts;
//   - a value libsonde refuses (an https:// or malformed endpoint, a bad
//     OTEL_* variable, a batch above the queue size) is ErrInvalid with
//     libsonde's message, but the exporter RUNS with the default in its
//     place (OTLPRunning is true; ShutdownOTLP stops it);
//   - ErrState: already running; ErrNoMemory, ErrIO: not started.
func StartOTLP(o OTLPOptions) error {
	var mem cmem
	defer mem.free()
	c := (*C.sonde_otlp_options)(mem.calloc(1, C.sizeof_sonde_otlp_options))
	if err := o.fill(c, &mem); err != nil {
		return err
	}
	return lockedStatus(func() C.int { return C.sonde_otlp_start(c) })
}

// StartOTLPFromEnv starts the exporter configured by the OTEL_* variables
// alone (sonde_otlp_start(NULL)); errors as StartOTLP.
func StartOTLPFromEnv() error {
	return lockedStatus(func() C.int { return C.sonde_otlp_start(nil) })
}

// OTLPRunning is true while the exporter runs.
func OTLPRunning() bool { return bool(C.sonde_otlp_running()) }

func waitMs(d time.Duration) (C.int, error) {
	if d < 0 {
		return 0, fmtErr("sonde: OTLP timeout %v is negative", d)
	}
	ms := ceilMs(d)
	if ms > math.MaxInt32 {
		ms = math.MaxInt32
	}
	return C.int(ms), nil
}

// FlushOTLP waits until every span ended before the call has been
// exported or dropped, at most timeout: ErrTimeout when it ran out,
// ErrState when the exporter is not running.
func FlushOTLP(timeout time.Duration) error {
	ms, err := waitMs(timeout)
	if err != nil {
		return err
	}
	return lockedStatus(func() C.int { return C.sonde_otlp_flush(ms) })
}

// ShutdownOTLP stops the exporter: sends what is queued for at most
// timeout (0: nothing), drops and counts the rest, and joins its thread.
// ErrTimeout when the deadline dropped spans (it is stopped all the
// same), ErrState when it was not running. A dead collector never holds
// the caller longer than timeout (plus one name resolution).
func ShutdownOTLP(timeout time.Duration) error {
	ms, err := waitMs(timeout)
	if err != nil {
		return err
	}
	return lockedStatus(func() C.int { return C.sonde_otlp_shutdown(ms) })
}

// OTLPStats are the exporter's self-metrics since it last started (kept
// after shutdown). After ShutdownOTLP, SpansEnded == SpansExported +
// Dropped() and LogsHanded == LogsExported + LogsDropped().
// ExportRequests, ExportFailures, ExportDuration and ExportThreadCPU count
// both signals.
type OTLPStats struct {
	SpansEnded       uint64 // handed to the exporter
	SpansExported    uint64 // acknowledged with a 2xx
	DroppedQueueFull uint64
	DroppedRejected  uint64 // a non-retryable status (400, ...)
	DroppedFailed    uint64 // retries ran out of the export timeout
	DroppedShutdown  uint64 // still queued at the shutdown's deadline
	DroppedOOM       uint64
	ExportRequests   uint64 // retries included
	ExportFailures   uint64
	QueueLength      uint64
	ExportDuration   time.Duration // total time in export requests
	ExportThreadCPU  time.Duration
	DroppedPartial   uint64 // a 2xx partial success: the collector refused them
	// log records (OTLPLogSink)
	LogsHanded           uint64 // handed to the exporter by OTLP log sinks
	LogsExported         uint64 // acknowledged with a 2xx
	LogsDroppedQueueFull uint64
	LogsDroppedRejected  uint64
	LogsDroppedFailed    uint64
	LogsDroppedShutdown  uint64
	LogsDroppedOOM       uint64
	LogsDroppedPartial   uint64
	LogsQueueLength      uint64
	// the log records' share of ExportRequests, ExportFailures, ExportDuration
	LogsExportRequests uint64
	LogsExportFailures uint64
	LogsExportDuration time.Duration
}

// LogsDropped is the sum of the log records' dropped counts.
func (s OTLPStats) LogsDropped() uint64 {
	return s.LogsDroppedQueueFull + s.LogsDroppedRejected + s.LogsDroppedFailed +
		s.LogsDroppedShutdown + s.LogsDroppedOOM + s.LogsDroppedPartial
}

// Dropped is the sum of the dropped counts.
func (s OTLPStats) Dropped() uint64 {
	return s.DroppedQueueFull + s.DroppedRejected + s.DroppedFailed + s.DroppedShutdown +
		s.DroppedOOM + s.DroppedPartial
}

// GetOTLPStats reads the exporter's statistics.
func GetOTLPStats() OTLPStats {
	var c C.sonde_otlp_stats
	c.size = C.sizeof_sonde_otlp_stats
	C.sonde_otlp_get_stats(&c)
	return OTLPStats{
		SpansEnded: uint64(c.spans_ended), SpansExported: uint64(c.spans_exported),
		DroppedQueueFull: uint64(c.dropped_queue_full), DroppedRejected: uint64(c.dropped_rejected),
		DroppedFailed: uint64(c.dropped_failed), DroppedShutdown: uint64(c.dropped_shutdown),
		DroppedOOM: uint64(c.dropped_oom), ExportRequests: uint64(c.export_requests),
		ExportFailures: uint64(c.export_failures), QueueLength: uint64(c.queue_length),
		ExportDuration:  time.Duration(c.export_duration_ns),
		ExportThreadCPU: time.Duration(c.export_thread_cpu_ns),
		DroppedPartial:  uint64(c.dropped_partial),
		LogsHanded:      uint64(c.logs_handed), LogsExported: uint64(c.logs_exported),
		LogsDroppedQueueFull: uint64(c.logs_dropped_queue_full),
		LogsDroppedRejected:  uint64(c.logs_dropped_rejected),
		LogsDroppedFailed:    uint64(c.logs_dropped_failed),
		LogsDroppedShutdown:  uint64(c.logs_dropped_shutdown),
		LogsDroppedOOM:       uint64(c.logs_dropped_oom),
		LogsDroppedPartial:   uint64(c.logs_dropped_partial),
		LogsQueueLength:      uint64(c.logs_queue_length),
		LogsExportRequests:   uint64(c.logs_export_requests),
		LogsExportFailures:   uint64(c.logs_export_failures),
		LogsExportDuration:   time.Duration(c.logs_export_duration_ns),
	}
}

// OTLPLogSink is a log sink whose records go to the OTLP exporter's logs
// endpoint as OpenTelemetry LogRecords (the fields as attributes, severity
// number and text, body, the trace and span ids of the record's context);
// attach it to a Logger like the others (LoggerOpts.Sinks). The logger's
// backend thread encodes the records, not the caller; the
// InstrumentationScope is the logger's Service. Records the sink sees
// while the exporter is not running (or runs with OTEL_LOGS_EXPORTER=none)
// are dropped at once, not counted. Only o.Level and o.Name (the metric
// label, default "otlp") apply: the format is OTLP's. Flush with
// LogFlush, then FlushOTLP. Close it after the loggers that use it.
func OTLPLogSink(o SinkOpts) (*Sink, error) {
	return newSink(o, func(co *C.sonde_log_sink_opts) *C.sonde_log_sink { return C.sonde_otlp_log_sink(co) })
}

// ---- the resource and the instrumentation scope ------------------------------------

func optStr(mem *cmem, what, s string) (*C.char, error) {
	if s == "" {
		return nil, nil
	}
	if err := noNUL(what, s); err != nil {
		return nil, err
	}
	return mem.str(s), nil
}

// SetService sets the resource's service.name, service.version and
// deployment.environment; an empty argument leaves that attribute as it
// is. OTEL_SERVICE_NAME, read by StartOTLP, wins over a name set before.
func SetService(name, version, environment string) error {
	var mem cmem
	defer mem.free()
	var p [3]*C.char
	for i, s := range []string{name, version, environment} {
		var err error
		if p[i], err = optStr(&mem, "resource value", s); err != nil {
			return err
		}
	}
	return lockedStatus(func() C.int { return C.sonde_resource_set_service(p[0], p[1], p[2]) })
}

// SetResourceString sets a string resource attribute; RemoveResource
// removes one.
func SetResourceString(key, value string) error {
	if err := noNUL("resource attribute", key, value); err != nil {
		return err
	}
	var mem cmem
	defer mem.free()
	k, v := mem.str(key), mem.str(value)
	return lockedStatus(func() C.int { return C.sonde_resource_set_str(k, v) })
}

// SetResourceInt sets an integer resource attribute.
func SetResourceInt(key string, value int64) error {
	if err := noNUL("resource attribute", key); err != nil {
		return err
	}
	var mem cmem
	defer mem.free()
	k := mem.str(key)
	return lockedStatus(func() C.int { return C.sonde_resource_set_int(k, C.int64_t(value)) })
}

// RemoveResource removes a resource attribute.
func RemoveResource(key string) error {
	if err := noNUL("resource attribute", key); err != nil {
		return err
	}
	var mem cmem
	defer mem.free()
	k := mem.str(key)
	return lockedStatus(func() C.int { return C.sonde_resource_set_str(k, nil) })
}

// Resource is the value of a resource attribute as text (an integer in
// decimal); false when it is not set.
func Resource(key string) (string, bool) {
	if noNUL("resource attribute", key) != nil {
		return "", false
	}
	var mem cmem
	defer mem.free()
	k := mem.str(key)
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	n := C.sonde_resource_get(k, nil, 0)
	if n < 0 {
		return "", false
	}
	buf := (*C.char)(mem.calloc(int(n)+1, 1))
	if C.sonde_resource_get(k, buf, C.size_t(n)+1) < 0 {
		return "", false
	}
	return C.GoStringN(buf, n), true
}

// SetScope sets the instrumentation scope sent with the spans (default:
// "sonde" and libsonde's version); version "" means none.
func SetScope(name, version string) error {
	if err := noNUL("scope", name, version); err != nil {
		return err
	}
	var mem cmem
	defer mem.free()
	n := mem.str(name)
	var v *C.char
	if version != "" {
		v = mem.str(version)
	}
	return lockedStatus(func() C.int { return C.sonde_trace_set_scope(n, v) })
}

// Scope is the instrumentation scope's name and version.
func Scope() (name, version string) {
	var mem cmem
	defer mem.free()
	nb, vb := (*C.char)(mem.calloc(256, 1)), (*C.char)(mem.calloc(256, 1))
	C.sonde_trace_get_scope(nb, 256, vb, 256)
	return C.GoString(nb), C.GoString(vb)
}
