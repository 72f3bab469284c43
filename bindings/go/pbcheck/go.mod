// A nested module (so the binding itself needs nothing but cgo): the
// binding's protobuf exposition decoded by Google's Go protobuf runtime
// and client_model's generated types, both from Debian's packages
// (golang-github-prometheus-client-model-dev, which pulls in
// golang-github-golang-protobuf-1-3-dev), offline. bindings/run-tests.sh
// runs it after the binding's own tests.
module github.com/sonde-sdk/sonde/bindings/go/pbcheck

go 1.19

require (
	github.com/golang/protobuf v1.3.5
	github.com/prometheus/client_model v0.3.0
	github.com/sonde-sdk/sonde/bindings/go v0.0.0
)

replace (
	github.com/golang/protobuf => /usr/share/gocode/src/github.com/golang/protobuf
	github.com/prometheus/client_model => /usr/share/gocode/src/github.com/prometheus/client_model
	github.com/sonde-sdk/sonde/bindings/go => ../
)
