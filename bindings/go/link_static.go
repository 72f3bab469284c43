//go:build sonde_static

package sonde

// `go build -tags sonde_static`: links libsonde.a into the Go binary. Only
// for a Go program that is the only user of sonde in its process: loaded
// beside another copy (a Python host with libsonde.so, say), this copy has
// its own registry, and InstanceCheck reports it.

/*
#cgo LDFLAGS: -L${SRCDIR}/../../build -l:libsonde.a
*/
import "C"
