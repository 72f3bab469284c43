//go:build sonde_static

package ctest

// With -tags sonde_static, libsonde.a, as package sonde (../../link_static.go).

/*
#cgo CFLAGS: -I${SRCDIR}/../../../../include
#cgo LDFLAGS: -L${SRCDIR}/../../../../build -l:libsonde.a
*/
import "C"
