"""Per-call cost of inc() and observe() through the sonde binding, beside
prometheus_client's in the same run (same process, same machine load).

    SONDE_LIBRARY=build/libsonde.so /usr/bin/python3 bindings/python/bench.py [N]

Prints ns/call (best of 5 runs of N calls) and the ratio
prometheus_client / sonde (above 1: sonde is faster).
"""

import sys
import timeit

import sonde

try:
    import prometheus_client as pc
except ImportError:
    pc = None


def best_ns(stmt, n):
    return min(timeit.repeat(stmt, number=n, repeat=5)) / n * 1e9


def main():
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 200000
    sreg = sonde.Registry()
    sc = sonde.Counter("bench_c", "c", registry=sreg)
    sl = sonde.Counter("bench_l", "l", ["m"], registry=sreg)
    sh = sonde.Histogram("bench_h", "h", registry=sreg)
    ss = sonde.Summary("bench_s", "s", registry=sreg)
    cases = [("counter inc()", sc.inc, None), ("counter labels('GET').inc()",
                                                lambda: sl.labels("GET").inc(), None),
             ("histogram observe(0.3)", lambda: sh.observe(0.3), None),
             ("summary observe(0.3)", lambda: ss.observe(0.3), None)]
    if pc:
        preg = pc.CollectorRegistry()
        pcc = pc.Counter("bench_c", "c", registry=preg)
        pcl = pc.Counter("bench_l", "l", ["m"], registry=preg)
        pch = pc.Histogram("bench_h", "h", registry=preg)
        pcs = pc.Summary("bench_s", "s", registry=preg)
        cases = [(cases[0][0], cases[0][1], pcc.inc),
                 (cases[1][0], cases[1][1], lambda: pcl.labels("GET").inc()),
                 (cases[2][0], cases[2][1], lambda: pch.observe(0.3)),
                 (cases[3][0], cases[3][1], lambda: pcs.observe(0.3))]
    print("%-32s %12s %18s %8s" % ("operation", "sonde ns", "prometheus_client", "ratio"))
    for name, s_fn, p_fn in cases:
        s_ns = best_ns(s_fn, n)
        if p_fn:
            p_ns = best_ns(p_fn, n)
            print("%-32s %12.1f %18.1f %7.2fx" % (name, s_ns, p_ns, p_ns / s_ns))
        else:
            print("%-32s %12.1f %18s %8s" % (name, s_ns, "-", "-"))
    assert sc.get() > 0


if __name__ == "__main__":
    main()
