#!/usr/bin/python3
"""check_pb_expo.py STREAM EXPECTED.json - a protobuf exposition, read back
with Google's protobuf runtime and client_model's own metrics.proto
(Debian golang-github-prometheus-client-model-dev), compiled by protoc.

STREAM is what sonde_expose(SONDE_FORMAT_PROTOBUF) wrote: length-delimited
io.prometheus.client.MetricFamily messages. EXPECTED lists the families in
order, each {"name","type","help","metrics":[...]}, each metric
{"labels":{...}} plus one of
  "counter": value, "exemplar": {"labels":{...},"value":v} (optional)
  "gauge": value
  "summary": {"count","sum","quantiles":[q...]}
  "histogram": {"count","sum","buckets":[[upper, cumulative]...]}
  "native": {"schema","zero_threshold","observations":[...]} (with
            "classic": [[upper, cumulative]...] when it has classic buckets,
            "exemplars": [{"labels","value"}...] for a native-only one's
            Histogram.exemplars, field 16: client_model 0.6.0 defines it,
            Debian 12's 0.3.0 proto lacks it, so it is added to the compiled
            copy as upstream declares it)
For a native histogram the decoded spans and delta-encoded counts are
rebuilt into buckets and each bucket's count must equal the number of
observations Prometheus' definition puts in it (computed here, in Python,
from frexp and exact bucket bounds, independently of sonde's C code);
count and sum must equal the observations', and the 0.01..0.99 quantiles
read from the buckets must lie within the schema's relative error of the
exact quantiles. Prints "N families ok" or the problems; exits 1 on any.
"""
import bisect
import importlib
import json
import math
import os
import re
import shutil
import subprocess
import sys
import tempfile
from decimal import Decimal, getcontext

from google.protobuf.internal.decoder import _DecodeVarint

PROTO = ("/usr/share/gocode/src/github.com/prometheus/client_model/io/prometheus/"
         "client/metrics.proto")
TYPES = {"counter": 0, "gauge": 1, "summary": 2, "untyped": 3, "histogram": 4}

problems = []


def load_module():
    tmp = tempfile.mkdtemp(prefix="sonde-mpb-")
    # the package path io/prometheus/client would shadow Python's io module:
    # compile the same file under a top-level name
    text = open(PROTO).read()
    # Debian 12's client_model (0.3.0) predates Histogram.exemplars; add the
    # field as client_model 0.6.0 defines it (native histograms' exemplars)
    if not re.search(r"\bexemplars\s*=\s*16;", text):
        text, n = re.subn(r"(message Histogram \{.*?)\n\}",
                          r"\1\n  repeated Exemplar exemplars = 16;\n}", text, count=1,
                          flags=re.S)
        if n != 1 or re.search(r"=\s*16;", text.split("message Histogram", 1)[1]
                               .split("}", 1)[0].replace("exemplars = 16;", "")):
            raise SystemExit("cannot add Histogram.exemplars to " + PROTO)
    with open(os.path.join(tmp, "prom_metrics.proto"), "w") as f:
        f.write(text)
    subprocess.run(["protoc", "-I" + tmp, "-I/usr/include", "--python_out=" + tmp,
                    os.path.join(tmp, "prom_metrics.proto")], check=True)
    sys.path.insert(0, tmp)
    return importlib.import_module("prom_metrics_pb2")


def bad(where, msg):
    problems.append("%s: %s" % (where, msg))


def near(a, b, rel=1e-9):
    if isinstance(a, float) and math.isnan(a):
        return isinstance(b, float) and math.isnan(b)
    return a == b or abs(a - b) <= rel * max(abs(a), abs(b))


getcontext().prec = 50
_bounds = {}


def bounds(schema):
    if schema not in _bounds:
        n = 2 ** schema
        _bounds[schema] = [float(Decimal(2) ** (Decimal(j) / Decimal(n) - 1)) for j in range(n)]
    return _bounds[schema]


def key(v, schema):
    """Prometheus' bucket index of v > 0: bucket k holds (2^((k-1)/2^s), 2^(k/2^s)]."""
    frac, exp = math.frexp(min(v, sys.float_info.max))
    if schema > 0:
        b = bounds(schema)
        return bisect.bisect_left(b, frac) + (exp - 1) * len(b)
    k = exp - 1 if frac == 0.5 else exp
    div = 2 ** -schema
    return (k + div - 1) // div  # rounds up, negative k too


def upper(k, schema):
    return float(Decimal(2) ** (Decimal(k) / (Decimal(2) ** schema)))


def rebuild(spans, deltas, where):
    out, pos, i, cur = {}, 0, 0, 0
    for n, sp in enumerate(spans):
        pos += sp.offset
        for _ in range(sp.length):
            if i >= len(deltas):
                bad(where, "fewer deltas than span buckets")
                return out
            cur += deltas[i]
            i += 1
            if cur < 0:
                bad(where, "negative bucket count at %d" % pos)
            out[pos] = cur
            pos += 1
    if i != len(deltas):
        bad(where, "%d deltas for %d span buckets" % (len(deltas), i))
    return out


def check_native(where, h, want):
    schema = want["schema"]
    obs = want["observations"]
    zt = want["zero_threshold"]
    if h.schema != schema:
        bad(where, "schema %d, want %d" % (h.schema, schema))
        return
    if not near(h.zero_threshold, zt):
        bad(where, "zero_threshold %r, want %r" % (h.zero_threshold, zt))
    if h.sample_count != len(obs):
        bad(where, "count %d, want %d" % (h.sample_count, len(obs)))
    if not near(h.sample_sum, math.fsum(obs), 1e-9):
        bad(where, "sum %r, want %r" % (h.sample_sum, math.fsum(obs)))
    pos = rebuild(h.positive_span, h.positive_delta, where + " positive")
    neg = rebuild(h.negative_span, h.negative_delta, where + " negative")
    want_pos, want_neg, want_zero = {}, {}, 0
    for v in obs:
        if abs(v) <= h.zero_threshold:
            want_zero += 1
        elif v > 0:
            k = key(v, schema)
            want_pos[k] = want_pos.get(k, 0) + 1
        else:
            k = key(-v, schema)
            want_neg[k] = want_neg.get(k, 0) + 1
    if h.zero_count != want_zero:
        bad(where, "zero_count %d, want %d" % (h.zero_count, want_zero))
    for name, got, exp in (("positive", pos, want_pos), ("negative", neg, want_neg)):
        g = {k: c for k, c in got.items() if c}
        if g != exp:
            diff = sorted(set(g.items()) ^ set(exp.items()))[:8]
            bad(where, "%s buckets differ (bucket, count): %s" % (name, diff))
    total = h.zero_count + sum(pos.values()) + sum(neg.values())
    if total != h.sample_count:
        bad(where, "buckets hold %d, count is %d" % (total, h.sample_count))
    # quantiles from the buckets within the schema's relative error
    if obs:
        ordered = sorted(obs)
        buckets = [(-upper(k, schema), -upper(k - 1, schema), c) for k, c in neg.items() if c]
        buckets += [(-h.zero_threshold, h.zero_threshold, h.zero_count)] if h.zero_count else []
        buckets += [(upper(k - 1, schema), upper(k, schema), c) for k, c in pos.items() if c]
        buckets.sort()
        factor = 2.0 ** (2.0 ** -schema)
        for q in (0.01, 0.1, 0.25, 0.5, 0.75, 0.9, 0.99):
            rank = max(1, math.ceil(q * len(ordered)))
            exact = ordered[rank - 1]
            acc = 0
            for lo, hi, c in buckets:
                acc += c
                if acc >= rank:
                    break
            if not (lo <= exact <= hi):
                bad(where, "q%.2f: exact %r is not in its bucket (%r, %r]" % (q, exact, lo, hi))
            if lo > 0 and hi / lo > factor * (1 + 1e-12):
                bad(where, "q%.2f: bucket (%r, %r] wider than factor %r" % (q, lo, hi, factor))


def check_buckets(where, h, want):
    got = [(b.upper_bound, b.cumulative_count) for b in h.bucket]
    exp = [(float(u), c) for u, c in want]
    if got != exp:
        bad(where, "classic buckets %s, want %s" % (got, exp))


def check_exemplar(where, ex, want):
    labels = {l.name: l.value for l in ex.label}
    if labels != want["labels"]:
        bad(where, "exemplar labels %s, want %s" % (labels, want["labels"]))
    if not near(ex.value, want["value"]):
        bad(where, "exemplar value %r, want %r" % (ex.value, want["value"]))
    if ex.timestamp.seconds < 1600000000:
        bad(where, "exemplar timestamp %s" % ex.timestamp)


def main():
    pb = load_module()
    data = open(sys.argv[1], "rb").read()
    want = json.load(open(sys.argv[2]))
    fams, pos = [], 0
    while pos < len(data):
        n, pos = _DecodeVarint(data, pos)
        if pos + n > len(data):
            print("truncated message at %d" % pos)
            return 1
        mf = pb.MetricFamily()
        mf.ParseFromString(data[pos:pos + n])
        pos += n
        fams.append(mf)
    got_names = [f.name for f in fams]
    want_names = [f["name"] for f in want]
    if got_names != want_names:
        print("families %s, want %s" % (got_names, want_names))
        return 1
    for mf, wf in zip(fams, want):
        where = mf.name
        if mf.type != TYPES[wf["type"]]:
            bad(where, "type %d, want %s" % (mf.type, wf["type"]))
        if mf.help != wf.get("help", ""):
            bad(where, "help %r, want %r" % (mf.help, wf.get("help", "")))
        if len(mf.metric) != len(wf["metrics"]):
            bad(where, "%d metrics, want %d" % (len(mf.metric), len(wf["metrics"])))
            continue
        for i, (m, wm) in enumerate(zip(mf.metric, wf["metrics"])):
            w = "%s[%d]" % (where, i)
            labels = {l.name: l.value for l in m.label}
            if labels != wm.get("labels", {}):
                bad(w, "labels %s, want %s" % (labels, wm.get("labels", {})))
            if m.HasField("timestamp_ms"):
                bad(w, "has a timestamp")
            if "counter" in wm:
                if not near(m.counter.value, float(wm["counter"])):
                    bad(w, "counter %r, want %r" % (m.counter.value, wm["counter"]))
                if "exemplar" in wm:
                    check_exemplar(w, m.counter.exemplar, wm["exemplar"])
                elif m.counter.HasField("exemplar"):
                    bad(w, "unexpected exemplar")
            if "gauge" in wm and not near(m.gauge.value, float(wm["gauge"])):
                bad(w, "gauge %r, want %r" % (m.gauge.value, wm["gauge"]))
            if "summary" in wm:
                s, ws = m.summary, wm["summary"]
                if s.sample_count != ws["count"] or not near(s.sample_sum, ws["sum"]):
                    bad(w, "summary count/sum %d %r, want %d %r" %
                        (s.sample_count, s.sample_sum, ws["count"], ws["sum"]))
                if [q.quantile for q in s.quantile] != ws["quantiles"]:
                    bad(w, "quantiles %s" % [q.quantile for q in s.quantile])
            if "histogram" in wm:
                h, wh = m.histogram, wm["histogram"]
                if h.sample_count != wh["count"] or not near(h.sample_sum, wh["sum"]):
                    bad(w, "histogram count/sum %d %r, want %d %r" %
                        (h.sample_count, h.sample_sum, wh["count"], wh["sum"]))
                check_buckets(w, h, wh["buckets"])
                if "exemplars" in wh:
                    for bi, ex in wh["exemplars"].items():
                        check_exemplar(w + " bucket " + bi, h.bucket[int(bi)].exemplar, ex)
                if h.positive_span or h.negative_span or h.HasField("schema"):
                    bad(w, "a classic histogram has native fields")
            if "native" in wm:
                h, wn = m.histogram, wm["native"]
                check_native(w, h, wn)
                exs = wn.get("exemplars", [])
                if "classic" in wn:
                    check_buckets(w, h, wn["classic"])
                    if h.exemplars:
                        bad(w, "native+classic: exemplars belong on the classic buckets")
                else:
                    # a native-only histogram: its exemplars in
                    # Histogram.exemplars, each with a timestamp; the latest
                    # also on a lone +Inf bucket (older Prometheus servers)
                    if len(h.exemplars) != len(exs):
                        bad(w, "%d native exemplars, want %d" % (len(h.exemplars), len(exs)))
                    for k, (ex, wex) in enumerate(zip(h.exemplars, exs)):
                        check_exemplar("%s exemplars[%d]" % (w, k), ex, wex)
                    if exs:
                        bb = h.bucket
                        if (len(bb) != 1 or bb[0].upper_bound != math.inf
                                or bb[0].cumulative_count != h.sample_count):
                            bad(w, "want one +Inf bucket carrying the exemplar, got %s" % bb)
                        else:
                            check_exemplar(w + " +Inf bucket", bb[0].exemplar, exs[-1])
                    elif h.bucket:
                        bad(w, "a native-only histogram has classic buckets")
    if problems:
        print("\n".join(problems[:40]))
        print("%d problems" % len(problems))
        return 1
    print("%d families ok" % len(fams))
    return 0


if __name__ == "__main__":
    sys.exit(main())
