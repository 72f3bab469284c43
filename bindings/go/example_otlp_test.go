package sonde_test

import (
	"log"
	"time"

	sonde "github.com/sonde-sdk/sonde/bindings/go"
)

// The README's OTLP example (compiled by go test): spans ended from here on
// go to a Collector's OTLP/HTTP receiver.
func ExampleStartOTLP() {
	_ = sonde.SetService("checkout", "1.4.2", "")
	if err := sonde.StartOTLP(sonde.OTLPOptions{
		Endpoint:      "http://localhost:4318/v1/traces", // "" : OTEL_EXPORTER_OTLP_* or the default
		Headers:       map[string]string{"x-tenant": "blue"},
		Protocol:      sonde.OTLPProtobuf, // or sonde.OTLPJSON
		ScheduleDelay: time.Second,
	}); err != nil {
		log.Print(err) // *sonde.Error; ErrInvalid with OTLPRunning() true: a value libsonde refused, its default used
	}
	defer sonde.ShutdownOTLP(2 * time.Second)
	span := sonde.StartSpan("GET /cart")
	span.SetKind(sonde.SpanKindServer)
	_ = span.SetAttribute("http.response.status_code", 200)
	span.End()
}
