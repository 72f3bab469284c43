//go:build !sonde_static

package sonde_test

import (
	"os"
	"strings"
	"testing"

	sonde "github.com/sonde-sdk/sonde/bindings/go"
)

// Issue 13.17: by default the binding links the shared libsonde.so, so a
// Go component loaded into a process that already runs libsonde (Python,
// C) shares its registry instead of bringing a second, static copy.
func TestLinksSharedLibsonde(t *testing.T) {
	maps, err := os.ReadFile("/proc/self/maps")
	if err != nil {
		t.Skip("no /proc/self/maps:", err)
	}
	if !strings.Contains(string(maps), "/libsonde.so") {
		t.Error("libsonde.so is not mapped: the binding linked a static copy")
	}
	// the Go binding and the C code of internal/ctest are one copy
	if err := sonde.InstanceCheck(); err != nil {
		t.Errorf("InstanceCheck: %v", err)
	}
}
