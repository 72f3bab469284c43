//go:build sonde_intree && !sonde_static

package ctest

// -tags sonde_intree: this tree's build/libsonde.so, as package sonde
// (../../link_intree.go).

/*
#cgo CFLAGS: -I${SRCDIR}/../../../../include
#cgo LDFLAGS: -L${SRCDIR}/../../../../build -lsonde -Wl,-rpath,${SRCDIR}/../../../../build
*/
import "C"
