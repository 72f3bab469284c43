#!/usr/bin/env node
// tests/otlp/otlp_decode.js - decodes what sonde's OTLP exporter sent with the
// OpenTelemetry project's own definitions: the protobufjs root shipped by
// @opentelemetry/otlp-transformer@0.52.1 (installed next to this file by
// `make otlp-deps`, i.e. npm install --prefix tests/otlp).
//
// Usage:
//   otlp_decode.js traces|logs FILE.pb [FILE.json]
//     decodes FILE.pb as ExportTraceServiceRequest / ExportLogsServiceRequest
//     and prints it flattened, one "path=value" line per field (ids in hex,
//     64-bit integers as decimal strings, attributes as attributes[key]);
//     with FILE.json, also reads that OTLP/JSON body (ids in hex, as the
//     OTLP JSON mapping says), checks every key is a field of the message,
//     converts it with the same definitions (fromObject) and checks it
//     equals the protobuf body's decoding, printing "json: equal".
//   otlp_decode.js traces|logs FILE.json --json-only
//     the JSON checks and the flattened lines of the JSON body alone.
//   otlp_decode.js traces|logs --many [--json] FILE...
//     each file decoded (protobuf, or OTLP/JSON with --json), its lines
//     preceded by a line "== FILE" (one node start for many requests).
// Exits 1 with a message on any decoding error or difference.
"use strict";
const fs = require("fs");
const path = require("path");

const rootPath = path.join(__dirname, "node_modules", "@opentelemetry", "otlp-transformer",
  "build", "src", "generated", "root.js");
if (!fs.existsSync(rootPath)) {
  console.error("otlp_decode: " + rootPath + " missing (run make otlp-deps)");
  process.exit(2);
}
const root = require(rootPath);
const P = root.opentelemetry.proto;

const kind = process.argv[2];
const T = kind === "logs" ? P.collector.logs.v1.ExportLogsServiceRequest
  : kind === "traces" ? P.collector.trace.v1.ExportTraceServiceRequest : null;
if (!T || process.argv.length < 4) {
  console.error("usage: otlp_decode.js traces|logs FILE.pb [FILE.json]");
  process.exit(2);
}

const ID_KEYS = new Set(["traceId", "spanId", "parentSpanId"]);
const OPTS = { longs: String, enums: Number, bytes: String, json: true, arrays: true };

// base64 ids (toObject) to hex
function idsToHex(v) {
  if (Array.isArray(v)) return v.map(idsToHex);
  if (v && typeof v === "object") {
    const o = {};
    for (const k of Object.keys(v)) {
      o[k] = ID_KEYS.has(k) && typeof v[k] === "string"
        ? Buffer.from(v[k], "base64").toString("hex") : idsToHex(v[k]);
    }
    return o;
  }
  return v;
}

// OTLP/JSON hex ids to the base64 fromObject reads
function idsToBase64(v) {
  if (Array.isArray(v)) return v.map(idsToBase64);
  if (v && typeof v === "object") {
    const o = {};
    for (const k of Object.keys(v)) {
      if (ID_KEYS.has(k)) {
        if (typeof v[k] !== "string" || !/^([0-9a-f]{2})*$/.test(v[k]))
          throw new Error("JSON " + k + " is not lowercase hex: " + JSON.stringify(v[k]));
        o[k] = Buffer.from(v[k], "hex").toString("base64");
      } else {
        o[k] = idsToBase64(v[k]);
      }
    }
    return o;
  }
  return v;
}

// Every key of the JSON body must be a field of its message (fromObject
// would silently skip an unknown one). The generated root is a static
// module without reflection, so the field names of each message are
// listed here (FIELDS, from the .proto files); a listed name that the root
// does not know would be dropped by fromObject and fail the comparison.
function checkKeys(obj, type, where) {
  const allowed = FIELDS[type];
  if (!allowed) return;
  for (const k of Object.keys(obj)) {
    if (!(k in allowed)) throw new Error("JSON key " + where + "." + k + " is not a field of " + type);
    const sub = allowed[k];
    if (sub && obj[k] !== null && typeof obj[k] === "object") {
      if (Array.isArray(obj[k])) obj[k].forEach((e, i) => checkKeys(e, sub, where + "." + k + "." + i));
      else checkKeys(obj[k], sub, where + "." + k);
    }
  }
}
// field name -> message type of the field (null: scalar), per message
const FIELDS = {
  TraceReq: { resourceSpans: "ResourceSpans" },
  LogsReq: { resourceLogs: "ResourceLogs" },
  ResourceSpans: { resource: "Resource", scopeSpans: "ScopeSpans", schemaUrl: null },
  ResourceLogs: { resource: "Resource", scopeLogs: "ScopeLogs", schemaUrl: null },
  Resource: { attributes: "KeyValue", droppedAttributesCount: null },
  ScopeSpans: { scope: "Scope", spans: "Span", schemaUrl: null },
  ScopeLogs: { scope: "Scope", logRecords: "LogRecord", schemaUrl: null },
  Scope: { name: null, version: null, attributes: "KeyValue", droppedAttributesCount: null },
  Span: {
    traceId: null, spanId: null, traceState: null, parentSpanId: null, flags: null, name: null,
    kind: null, startTimeUnixNano: null, endTimeUnixNano: null, attributes: "KeyValue",
    droppedAttributesCount: null, events: "Event", droppedEventsCount: null, links: "Link",
    droppedLinksCount: null, status: "Status",
  },
  Event: { timeUnixNano: null, name: null, attributes: "KeyValue", droppedAttributesCount: null },
  Link: {
    traceId: null, spanId: null, traceState: null, attributes: "KeyValue",
    droppedAttributesCount: null, flags: null,
  },
  Status: { message: null, code: null },
  KeyValue: { key: null, value: "AnyValue" },
  AnyValue: {
    stringValue: null, boolValue: null, intValue: null, doubleValue: null,
    arrayValue: "ArrayValue", kvlistValue: "KvList", bytesValue: null,
  },
  ArrayValue: { values: "AnyValue" },
  KvList: { values: "KeyValue" },
  LogRecord: {
    timeUnixNano: null, observedTimeUnixNano: null, severityNumber: null, severityText: null,
    body: "AnyValue", attributes: "KeyValue", droppedAttributesCount: null, flags: null,
    traceId: null, spanId: null, eventName: null,
  },
};

function flatten(v, prefix, out) {
  if (Array.isArray(v)) {
    v.forEach((e, i) => {
      if (e && typeof e === "object" && typeof e.key === "string" && "value" in e && !("values" in e))
        flatten(e.value, prefix + "[" + e.key + "]", out);
      else flatten(e, prefix + "." + i, out);
    });
    if (v.length === 0) out.push(prefix + "=[]");
  } else if (v && typeof v === "object") {
    const keys = Object.keys(v);
    if (keys.length === 0) out.push(prefix + "={}");
    for (const k of keys) flatten(v[k], prefix ? prefix + "." + k : k, out);
  } else {
    out.push(prefix + "=" + (typeof v === "string" ? v : JSON.stringify(v)));
  }
}

function canon(v) {
  if (Array.isArray(v)) return v.map(canon);
  if (v && typeof v === "object") {
    const o = {};
    for (const k of Object.keys(v).sort()) o[k] = canon(v[k]);
    return o;
  }
  return v;
}

function fromJson(file) {
  const text = fs.readFileSync(file, "utf8");
  const obj = JSON.parse(text);
  checkKeys(obj, kind === "logs" ? "LogsReq" : "TraceReq", "");
  const msg = T.fromObject(idsToBase64(obj));
  // the message must survive its own encoding: the JSON was well-typed
  const again = T.decode(T.encode(msg).finish());
  return idsToHex(T.toObject(again, OPTS));
}

try {
  let main;
  if (process.argv[3] === "--many") {
    const json = process.argv[4] === "--json";
    for (const f of process.argv.slice(json ? 5 : 4)) {
      const obj = json ? fromJson(f) : idsToHex(T.toObject(T.decode(fs.readFileSync(f)), OPTS));
      const lines = [];
      flatten(obj, "", lines);
      console.log("== " + f + "\n" + lines.join("\n"));
    }
    // no process.exit() here: it would cut the output still queued for a
    // pipe (node writes to pipes asynchronously)
  } else if (process.argv[4] === "--json-only") {
    main = fromJson(process.argv[3]);
  } else {
    const bytes = fs.readFileSync(process.argv[3]);
    main = idsToHex(T.toObject(T.decode(bytes), OPTS));
    if (process.argv[4]) {
      const j = fromJson(process.argv[4]);
      const a = JSON.stringify(canon(main)), b = JSON.stringify(canon(j));
      if (a !== b) throw new Error("json differs from protobuf:\n pb:   " + a + "\n json: " + b);
      console.log("json: equal");
    }
  }
  if (main) {
    const lines = [];
    flatten(main, "", lines);
    console.log(lines.join("\n"));
  }
} catch (e) {
  console.error("otlp_decode: " + (e && e.message ? e.message : e));
  process.exitCode = 1;
}
