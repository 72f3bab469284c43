//go:build !sonde_static

package ctest

// Links libsonde as package sonde does (../../link_shared.go): the shared
// library by default, so the C code here and the binding are one copy.

/*
#cgo LDFLAGS: -L${SRCDIR}/../../../../build -lsonde -Wl,-rpath,${SRCDIR}/../../../../build
*/
import "C"
