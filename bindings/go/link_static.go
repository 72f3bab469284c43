//go:build sonde_static

package sonde

// `-tags sonde_static`: links this source tree's libsonde.a (../../build
// after `make`) into the Go binary, with zlib (link_static_zlib.go; add
// the tag sonde_nozlib for a libsonde built with `make ZLIB=0`). Only for
// a Go program that is the only user of sonde in its process: loaded
// beside another copy (a Python host with libsonde.so, say), this copy has
// its own registry, and InstanceCheck reports it.

/*
#cgo CFLAGS: -I${SRCDIR}/../../include
#cgo LDFLAGS: -L${SRCDIR}/../../build -l:libsonde.a
*/
import "C"
