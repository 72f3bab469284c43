"""sonde-push-example (examples/push.c, over sonde_push) against the real
Prometheus Pushgateway (Debian's prometheus-pushgateway), started here on a
free loopback port with in-memory persistence. What the gateway then serves
on /metrics is read with prometheus_client's own text parser.

Usage: push_gateway.py PATH/TO/sonde-push-example
"""
import os
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request

sys.dont_write_bytecode = True  # no __pycache__ in the source tree
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from demo_lib import SANITIZER_MARKS, Problems, die_with_parent, free_port  # noqa: E402
from prometheus_client.parser import text_string_to_metric_families as text_parse  # noqa: E402

GATEWAY = shutil.which("prometheus-pushgateway") or shutil.which("pushgateway")


def start_gateway(tmp):
    for _ in range(5):
        port = free_port()
        log = open(os.path.join(tmp, "pgw.log"), "w")
        proc = subprocess.Popen([GATEWAY, "--web.listen-address=127.0.0.1:%d" % port,
                                 "--persistence.file="], stdout=subprocess.DEVNULL,
                                stderr=log, preexec_fn=die_with_parent)
        deadline = time.time() + 15
        while time.time() < deadline and proc.poll() is None:
            try:
                urllib.request.urlopen("http://127.0.0.1:%d/-/ready" % port, timeout=1)
                return proc, port
            except OSError:
                time.sleep(0.1)
        proc.kill()
        proc.wait()
    raise RuntimeError("the Pushgateway did not start: " +
                       open(os.path.join(tmp, "pgw.log")).read()[-2000:])


def samples(port):
    """{(name, sorted label pairs): value} of the gateway's own /metrics."""
    with urllib.request.urlopen("http://127.0.0.1:%d/metrics" % port, timeout=10) as r:
        text = r.read().decode()
    out = {}
    for fam in text_parse(text):
        for s in fam.samples:
            out[(s.name, tuple(sorted(s.labels.items())))] = s.value
    return out


def group(page, **labels):
    """The samples of one group (pushgateway's own push_time_seconds and
    push_failure_time_seconds left out), keyed by name and extra labels."""
    want = set(labels.items())
    out = {}
    for (name, labs), v in page.items():
        if name.startswith("push_") or not want <= set(labs):
            continue
        extra = tuple((k, x) for k, x in labs if (k, x) not in want)
        if len(want) + len(extra) == len(labs) and set(k for k, _ in labs) >= set(labels):
            out[(name, extra)] = v
    return out


def raw_put(port, path, body, method="PUT"):
    req = urllib.request.Request("http://127.0.0.1:%d%s" % (port, path), data=body.encode(),
                                 method=method)
    req.add_header("Content-Type", "text/plain; version=0.0.4")
    urllib.request.urlopen(req, timeout=10).read()


def main():
    example = sys.argv[1]
    p = Problems("push_gateway")
    tmp = tempfile.mkdtemp()
    proc, port = start_gateway(tmp)
    gw = "http://127.0.0.1:%d" % port

    def run(*args):
        r = subprocess.run([example, "--gateway", gw] + list(args), capture_output=True,
                           text=True, timeout=60, preexec_fn=die_with_parent)
        for mark in SANITIZER_MARKS:
            p.check(mark not in r.stderr, "sanitizer report: " + r.stderr[-2000:])
        return r

    try:
        # PUT: a job with a '/', an empty grouping value and UTF-8 travel
        # in the gateway's base64 form and come back exact
        t0 = time.time()
        r = run("--job", "night/ly", "--label", "instance=host 1", "--label", "zone=",
                "--label", "city=Zürich", "--items", "5")
        p.eq(r.returncode, 0, "PUT exit status (%s)" % r.stderr.strip())
        key = dict(job="night/ly", instance="host 1", zone="", city="Zürich")
        g = group(samples(port), **key)
        p.eq(g.get(("batch_items_processed_total", ())), 5.0, "pushed counter")
        p.eq(g.get(("batch_item_duration_seconds_count", ())), 5.0, "pushed histogram count")
        p.check(abs(g.get(("batch_item_duration_seconds_sum", ()), 0) - 0.03) < 1e-12,
                "pushed histogram sum: %r" % g.get(("batch_item_duration_seconds_sum", ())))
        p.eq(g.get(("batch_item_duration_seconds_bucket", (("le", "0.01"),))), 5.0,
             "bucket le=0.01")
        ts = g.get(("batch_last_success_timestamp_seconds", ()), 0)
        p.check(t0 - 1 <= ts <= time.time() + 1, "last success timestamp %r" % ts)

        # POST merges by name, PUT replaces the group: a metric another
        # client put into the same group survives --add, not a plain push
        path = ("/metrics/job@base64/bmlnaHQvbHk/instance/host%%201/zone@base64/="
                "/city@base64/%s" % "WsO8cmljaA")
        raw_put(port, path, "other_metric 42\n", method="POST")
        p.eq(group(samples(port), **key).get(("other_metric", ())), 42.0, "raw POST landed")
        r = run("--job", "night/ly", "--label", "instance=host 1", "--label", "zone=",
                "--label", "city=Zürich", "--items", "2", "--add")
        p.eq(r.returncode, 0, "POST exit status (%s)" % r.stderr.strip())
        g = group(samples(port), **key)
        p.eq(g.get(("other_metric", ())), 42.0, "POST keeps the group's other metrics")
        p.eq(g.get(("batch_items_processed_total", ())), 2.0, "POST replaces same-named ones")
        r = run("--job", "night/ly", "--label", "instance=host 1", "--label", "zone=",
                "--label", "city=Zürich", "--items", "1")
        g = group(samples(port), **key)
        p.eq(r.returncode, 0, "second PUT exit status")
        p.check(("other_metric", ()) not in g, "PUT replaced the whole group")
        p.eq(g.get(("batch_items_processed_total", ())), 1.0, "second PUT value")

        # protobuf (native buckets included) is read by the gateway too
        r = run("--job", "proto", "--protobuf", "--items", "4")
        p.eq(r.returncode, 0, "protobuf push exit status (%s)" % r.stderr.strip())
        g = group(samples(port), job="proto")
        p.eq(g.get(("batch_items_processed_total", (("instance", ""),))), 4.0,
             "protobuf counter")
        p.eq(g.get(("batch_item_duration_seconds_count", (("instance", ""),))), 4.0,
             "protobuf histogram count")

        # DELETE removes the group and nothing else
        r = run("--job", "night/ly", "--label", "instance=host 1", "--label", "zone=",
                "--label", "city=Zürich", "--delete")
        p.eq(r.returncode, 0, "DELETE exit status (%s)" % r.stderr.strip())
        page = samples(port)
        p.eq(group(page, **key), {}, "the deleted group is gone")
        p.check(group(page, job="proto"), "the other group stays")

        # the gateway's refusal: a name another group pushed with another type
        raw_put(port, "/metrics/job/proto", "", method="DELETE")
        raw_put(port, "/metrics/job/clash", "# TYPE batch_items_processed_total gauge\n"
                "batch_items_processed_total 1\n")
        r = run("--job", "clash2")
        p.eq(r.returncode, 1, "a rejected push exits 1")
        p.check("answered 400" in r.stderr and "clash2" in r.stderr,
                "the message quotes the 400 and names the group: %r" % r.stderr)

        # nobody listening, https, a bad grouping label: clear messages
        dead = free_port()
        r = subprocess.run([example, "--gateway", "http://127.0.0.1:%d" % dead, "--job", "j"],
                           capture_output=True, text=True, timeout=30)
        p.check(r.returncode == 1 and "refused" in r.stderr, "dead gateway: %r" % r.stderr)
        r = subprocess.run([example, "--gateway", "https://127.0.0.1:%d" % port, "--job", "j"],
                           capture_output=True, text=True, timeout=30)
        p.check(r.returncode == 1 and "https" in r.stderr, "https: %r" % r.stderr)
        r = run("--job", "j", "--label", "job=x")
        p.check(r.returncode == 1 and "is the job" in r.stderr, "job label: %r" % r.stderr)
    finally:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        shutil.rmtree(tmp, ignore_errors=True)
    return p.report()


if __name__ == "__main__":
    sys.exit(main())
