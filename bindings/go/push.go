package sonde

/*
#include <stdlib.h>
#include <sonde.h>
*/
import "C"

import (
	"time"
)

// Pusher pushes a registry to a Prometheus Pushgateway, shaped like
// client_golang's push.Pusher:
//
//	err := sonde.NewPusher("http://127.0.0.1:9091", "nightly").
//		Grouping("instance", host).Registry(reg).Push()
//
// Push replaces the group (PUT), Add replaces only the metrics of the
// names pushed (POST), Delete removes the group. Each call opens one
// connection through libsonde's HTTP client and is bounded by Timeout
// (default 10 s). Job and grouping values may be any UTF-8, empty too.
type Pusher struct {
	url, job string
	grouping [][2]string
	headers  [][2]string
	reg      *Registry
	timeout  time.Duration
	format   Format
}

// NewPusher returns a pusher of the default registry to the gateway at
// url ("http://host[:port][/prefix]") for job.
func NewPusher(url, job string) *Pusher { return &Pusher{url: url, job: job, format: FormatText} }

// Grouping adds a grouping label (not "job"; each name once).
func (p *Pusher) Grouping(name, value string) *Pusher {
	p.grouping = append(p.grouping, [2]string{name, value})
	return p
}

// Registry sets the registry pushed (nil: the default registry).
func (p *Pusher) Registry(r *Registry) *Pusher { p.reg = r; return p }

// Header adds a request header (Authorization, ...).
func (p *Pusher) Header(name, value string) *Pusher {
	p.headers = append(p.headers, [2]string{name, value})
	return p
}

// Timeout bounds connecting, sending and the answer, each (0: 10 s).
func (p *Pusher) Timeout(d time.Duration) *Pusher { p.timeout = d; return p }

// Format picks FormatText (the default) or FormatProtobuf (which carries
// native histogram buckets).
func (p *Pusher) Format(f Format) *Pusher { p.format = f; return p }

// Push replaces the group's metrics with the registry's (PUT).
func (p *Pusher) Push() error { return p.do(C.SONDE_PUSH_REPLACE) }

// Add replaces the group's metrics of the names pushed (POST).
func (p *Pusher) Add() error { return p.do(C.SONDE_PUSH_ADD) }

// Delete removes the group (DELETE).
func (p *Pusher) Delete() error { return p.do(C.SONDE_PUSH_DELETE) }

func (p *Pusher) do(m C.sonde_push_method) error {
	var mem cmem
	defer mem.free()
	var o C.sonde_push_opts
	C.sonde_push_opts_init(&o)
	o.job = mem.str(p.job)
	var flat []string
	for _, g := range p.grouping {
		flat = append(flat, g[0], g[1])
	}
	if len(flat) > 0 {
		arr, free := cStrings(flat)
		defer free()
		o.grouping = arr
		o.ngrouping = C.size_t(len(p.grouping))
	}
	if nh := len(p.headers); nh > 0 {
		hs := (*[1 << 20]C.sonde_header)(mem.calloc(nh, int(C.sizeof_sonde_header)))[:nh:nh]
		for i, h := range p.headers {
			hs[i].name, hs[i].name_len = mem.str(h[0]), C.size_t(len(h[0]))
			hs[i].value, hs[i].value_len = mem.str(h[1]), C.size_t(len(h[1]))
		}
		o.headers = &hs[0]
		o.nheaders = C.size_t(nh)
	}
	if p.timeout < 0 {
		return newError(-1, "sonde: Pusher: negative timeout")
	}
	ms := p.timeout.Milliseconds()
	if ms == 0 && p.timeout > 0 {
		ms = 1
	}
	if ms > 600000 {
		ms = 600001 // refused by sonde_push with its own message
	}
	o.timeout_ms = C.uint32_t(ms)
	o.format = C.sonde_format(p.format)
	url := mem.str(p.url)
	return lockedStatus(func() C.int { return C.sonde_push(url, m, p.reg.cp(), &o) })
}
