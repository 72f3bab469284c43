#!/usr/bin/env node
// tests/otlp/otlp_response.js - a collector's partial-success answer made with
// the OpenTelemetry project's own definitions (the protobufjs root shipped by
// @opentelemetry/otlp-transformer@0.52.1), for otlp_receiver.py.
//
// Usage: otlp_response.js traces|logs N MESSAGE pb|pbhex|json
//   writes Export{Trace,Logs}ServiceResponse { partial_success { rejected_* = N,
//   error_message = MESSAGE } } to stdout: protobuf bytes, or OTLP/JSON as
//   protobufjs's toObject gives it (int64 as a decimal string); pbhex: the
//   protobuf bytes as hex (for a test reading text).
"use strict";
const path = require("path");

const root = require(path.join(__dirname, "node_modules", "@opentelemetry", "otlp-transformer",
  "build", "src", "generated", "root.js"));
const C = root.opentelemetry.proto.collector;
const [kind, n, message, enc] = process.argv.slice(2);
if (!["traces", "logs"].includes(kind) || !["pb", "pbhex", "json"].includes(enc) || !/^\d+$/.test(n || "")) {
  console.error("usage: otlp_response.js traces|logs N MESSAGE pb|pbhex|json");
  process.exit(2);
}
const T = kind === "traces" ? C.trace.v1.ExportTraceServiceResponse : C.logs.v1.ExportLogsServiceResponse;
const partial = { errorMessage: message };
partial[kind === "traces" ? "rejectedSpans" : "rejectedLogRecords"] = n;
const m = T.fromObject({ partialSuccess: partial });
if (enc === "pb")
  process.stdout.write(Buffer.from(T.encode(m).finish()));
else if (enc === "pbhex")
  process.stdout.write(Buffer.from(T.encode(m).finish()).toString("hex"));
else
  process.stdout.write(JSON.stringify(T.toObject(m, { longs: String })));
