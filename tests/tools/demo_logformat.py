#!/usr/bin/python3
"""demo_logformat.py SONDE_DEMO - sonde-demo's log shape follows SONDE_LOG_FORMAT
(issue 15.7): with ecs, every line is an ECS record (strict JSON, no
duplicate key) and a 5xx request line carries its request_id and the error
object ECS defines (error.type, error.message); with otel, a line of the
OpenTelemetry log data model whose 5xx request line has severity 17 and the
exception.* attributes; an unknown value leaves the default shape and says
so on stderr. The field names ECS and OTel define are checked by the
profile tests against @elastic/ecs-winston-format and the OTLP definitions;
here the demo's use of them."""
import json
import os
import sys

sys.dont_write_bytecode = True  # no __pycache__ in the source tree
sys.path.insert(0, os.path.dirname(__file__))
from demo_lib import Demo, Problems, main_guard  # noqa: E402


def strict(pairs):
    keys = [k for k, _ in pairs]
    if len(keys) != len(set(keys)):
        raise ValueError(f"duplicate keys {keys}")
    return dict(pairs)


def records(p, d):
    out = []
    for i, line in enumerate(d.log_lines()):
        try:
            out.append(json.loads(line, object_pairs_hook=strict,
                                  parse_constant=lambda c: (_ for _ in ()).throw(ValueError(c))))
        except ValueError as e:
            p.check(False, f"line {i + 1} is not strict JSON ({e}): {line[:300]!r}")
    return out


def run(binary, fmt, p):
    with Demo(binary, env={"SONDE_LOG_FORMAT": fmt}) as d:
        p.eq(d.get("/work?ms=1")[0], 200, f"{fmt}: GET /work")
        st, hdr, _ = d.get("/work?ms=1&status=503", headers={"X-Request-Id": "req-503"})
        p.eq(st, 503, f"{fmt}: GET /work?status=503")
        p.eq(hdr.get("x-request-id"), "req-503", f"{fmt}: x-request-id echoed")
        d.check_clean_exit(p, d.stop())
        return records(p, d), d.stderr()


def main(argv):
    binary = argv[0]
    p = Problems("demo_logformat")

    recs, _ = run(binary, "ecs", p)
    p.check(len(recs) > 3, f"ecs: {len(recs)} lines")
    for r in recs:
        p.check("@timestamp" in r and "log.level" in r and r.get("ecs.version"),
                f"ecs: line without @timestamp/log.level/ecs.version: {r}")
        p.eq(r.get("service"), {"name": "sonde-demo"}, "ecs: service object")
    err = [r for r in recs if r.get("message") == "request" and r.get("status") == 503]
    if p.eq(len(err), 1, "ecs: the 503 request line"):
        r = err[0]
        p.eq(r.get("log.level"), "error", "ecs: log.level of a 5xx")
        p.eq(r.get("request_id"), "req-503", "ecs: scoped request_id")
        p.eq(r.get("error"), {"type": "HTTPError", "message": "503 Service Unavailable"},
             "ecs: error object of a 5xx")
        p.check(isinstance(r.get("trace"), dict) and len(r["trace"].get("id", "")) == 32,
                f"ecs: trace.id: {r.get('trace')}")

    recs, _ = run(binary, "otel", p)
    for r in recs:
        p.check(isinstance(r.get("timestamp"), int) and isinstance(r.get("severity_number"), int)
                and "body" in r and r.get("resource") == {"service.name": "sonde-demo"},
                f"otel: not a log data model line: {r}")
    err = [r for r in recs if r.get("body") == "request"
           and r.get("attributes", {}).get("status") == 503]
    if p.eq(len(err), 1, "otel: the 503 request line"):
        a = err[0]["attributes"]
        p.eq((err[0].get("severity_text"), err[0].get("severity_number")), ("ERROR", 17),
             "otel: severity of a 5xx")
        p.eq((a.get("exception.type"), a.get("exception.message")),
             ("HTTPError", "503 Service Unavailable"), "otel: exception attributes")
        p.eq(a.get("request_id"), "req-503", "otel: scoped request_id")

    recs, err_text = run(binary, "yaml", p)
    p.check(all("@timestamp" in r and "level" in r for r in recs),
            "an unknown SONDE_LOG_FORMAT keeps the default JSON shape")
    p.check("SONDE_LOG_FORMAT" in err_text, "an unknown SONDE_LOG_FORMAT is reported on stderr")
    return p.report()


if __name__ == "__main__":
    main_guard(main)
