//go:build !sonde_intree && !sonde_static

package sonde

// The default: the installed libsonde (make install), found through
// pkg-config (sonde.pc; PKG_CONFIG_PATH=PREFIX/lib/pkgconfig for a prefix
// outside pkg-config's default search), linked shared, so every language
// in a process uses one copy of sonde (issue 13.17): a static copy inside
// a component loaded into a process that already runs libsonde would have
// its own registry, whose series never reach the page the process serves.
// At run time the loader finds libsonde.so.0 (ldconfig, or rpath /
// LD_LIBRARY_PATH for a prefix outside its path).
//
// Inside the source tree, without installing: -tags sonde_intree
// (link_intree.go) links ../../build/libsonde.so after `make`.

/*
#cgo pkg-config: sonde
*/
import "C"
