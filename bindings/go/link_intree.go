//go:build sonde_intree && !sonde_static

package sonde

// `-tags sonde_intree`: the shared libsonde.so of this source tree
// (../../build after `make`, with that directory as rpath) and its headers;
// what `make test-go` uses. No installed sonde is needed.

/*
#cgo CFLAGS: -I${SRCDIR}/../../include
#cgo LDFLAGS: -L${SRCDIR}/../../build -lsonde -Wl,-rpath,${SRCDIR}/../../build
*/
import "C"
