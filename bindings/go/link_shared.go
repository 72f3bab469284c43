//go:build !sonde_static

package sonde

// The default: the shared libsonde.so of the source tree, found at run
// time through the rpath (or LD_LIBRARY_PATH, or the system's search path
// once installed), so every language in a process uses one copy of sonde
// (issue 13.17). A static copy inside a component loaded into a process
// that already runs libsonde would have its own registry, whose series
// never reach the page the process serves.

/*
#cgo LDFLAGS: -L${SRCDIR}/../../build -lsonde -Wl,-rpath,${SRCDIR}/../../build
*/
import "C"
