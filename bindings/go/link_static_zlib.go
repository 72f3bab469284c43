//go:build sonde_static && !sonde_nozlib

package sonde

// libsonde.a built with zlib (make's default when zlib1g-dev is present)
// needs -lz in the final link; `-tags sonde_static,sonde_nozlib` for one
// built with `make ZLIB=0`.

/*
#cgo LDFLAGS: -lz
*/
import "C"
