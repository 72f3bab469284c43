//go:build !sonde_intree && !sonde_static

package ctest

// Links libsonde as package sonde does (../../link_shared.go): the
// installed shared library through pkg-config, one copy with the binding.

/*
#cgo pkg-config: sonde
*/
import "C"
