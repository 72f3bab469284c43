package sonde

/*
#include <stdint.h>
#include <string.h>
*/
import "C"

import (
	"runtime/cgo"
	"unsafe"
)

//export sgoHealthCheck
func sgoHealthCheck(h C.uintptr_t, msg *C.char, cap C.size_t) C.int {
	fn, ok := cgo.Handle(h).Value().(CheckFunc)
	if !ok {
		return 2
	}
	code, text := runCheck(fn)
	if text != "" && msg != nil && cap > 1 {
		n := len(text)
		if n > int(cap)-1 {
			n = int(cap) - 1
		}
		dst := unsafe.Slice((*byte)(unsafe.Pointer(msg)), n+1)
		copy(dst, text[:n])
		dst[n] = 0
	}
	return C.int(code)
}

//export sgoHealthRelease
func sgoHealthRelease(h C.uintptr_t) {
	cgo.Handle(h).Delete()
}
