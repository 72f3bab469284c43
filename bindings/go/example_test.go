package sonde_test

import (
	"log"
	"net/http"

	sonde "github.com/sonde-sdk/sonde/bindings/go"
)

// The README example (compiled by go test).
func Example() {
	reqs, err := sonde.NewCounterVec(sonde.CounterOpts{Name: "app_requests_total", Help: "Requests."}, []string{"method"})
	if err != nil {
		log.Fatal(err)
	} // *sonde.Error with sonde's message
	lat, _ := sonde.NewHistogram(sonde.HistogramOpts{Opts: sonde.Opts{Name: "app_latency_seconds"}})
	logger, _ := sonde.NewLogger(sonde.LoggerOpts{Service: "checkout", Level: sonde.LevelInfo})
	span := sonde.StartSpan("handle") // locks this goroutine to its thread
	defer span.End()
	defer sonde.NewTimer(lat).ObserveDuration()
	reqs.WithLabelValues("GET").Inc()
	logger.Info("request done", sonde.Int("status", 200), sonde.String("path", "/a"))
	http.Handle("/metrics", sonde.DefaultRegistry.Handler()) // negotiates format and gzip
}
