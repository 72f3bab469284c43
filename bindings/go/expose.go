package sonde

/*
#include <sonde.h>
*/
import "C"

import (
	"net/http"
	"unsafe"
)

// Format is an exposition format.
type Format int

const (
	FormatText        Format = C.SONDE_FORMAT_TEXT        // Prometheus text 0.0.4
	FormatOpenMetrics Format = C.SONDE_FORMAT_OPENMETRICS // OpenMetrics 1.0.0
	// FormatProtobuf is Prometheus' protobuf format (length-delimited
	// io.prometheus.client.MetricFamily), the only one with native
	// histogram buckets; Negotiate picks it only when the scraper names it.
	FormatProtobuf Format = C.SONDE_FORMAT_PROTOBUF
)

// ContentType is the Content-Type header value for f.
func (f Format) ContentType() string {
	return C.GoString(C.sonde_format_content_type(C.sonde_format(f)))
}

func takeBuf(b *C.sonde_buf) []byte {
	defer C.sonde_buf_destroy(b)
	if b.len == 0 {
		return []byte{}
	}
	return C.GoBytes(unsafe.Pointer(b.data), C.int(b.len))
}

// Expose renders every family of r (nil = default registry).
func (r *Registry) Expose(f Format) ([]byte, error) {
	var b C.sonde_buf
	if err := lockedStatus(func() C.int { return C.sonde_expose(r.cp(), C.sonde_format(f), &b) }); err != nil {
		C.sonde_buf_destroy(&b)
		return nil, err
	}
	return takeBuf(&b), nil
}

// Negotiate picks the format and Content-Type for a scraper's Accept header.
func Negotiate(accept string) (Format, string) {
	var f C.sonde_format
	var ct *C.char
	b := []byte(accept + "\x00")
	C.sonde_expose_negotiate((*C.char)(unsafe.Pointer(&b[0])), C.size_t(len(accept)), &f, &ct)
	return Format(f), C.GoString(ct)
}

// ExposeHTTP is the one call for a /metrics handler: the body, its
// Content-Type and its Content-Encoding ("gzip" or "").
func (r *Registry) ExposeHTTP(accept, acceptEncoding string) (body []byte, contentType, contentEncoding string, err error) {
	var b C.sonde_buf
	var res C.sonde_expose_result
	a, ae := C.CString(accept), C.CString(acceptEncoding)
	defer freeAll(a, ae)
	if err = lockedStatus(func() C.int { return C.sonde_expose_http(r.cp(), a, ae, &b, &res) }); err != nil {
		C.sonde_buf_destroy(&b)
		return nil, "", "", err
	}
	body = takeBuf(&b)
	contentType = C.GoString(res.content_type)
	if res.content_encoding != nil {
		contentEncoding = C.GoString(res.content_encoding)
	}
	return body, contentType, contentEncoding, nil
}

// Handler serves r's exposition over net/http (format and gzip negotiated).
func (r *Registry) Handler() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		body, ct, ce, err := r.ExposeHTTP(req.Header.Get("Accept"), req.Header.Get("Accept-Encoding"))
		if err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return
		}
		w.Header().Set("Content-Type", ct)
		if ce != "" {
			w.Header().Set("Content-Encoding", ce)
		}
		w.Write(body)
	})
}
