// tests/logprofiles/compare.js - formats the record described by a spec
// with a real formatter and compares it, key by key, with the line sonde
// wrote for the same record.
//
//   node compare.js ecs|winston <sonde-line-file> <spec.json>
//
// ecs:     @elastic/ecs-winston-format's ecsFormat() on a winston logger
// winston: winston's format.json() after format.timestamp() (the winston
//          guides' default), the level upper-cased when spec.upper
// spec: {service, level, message, fields: {...}, error: {type, message,
//        stack}, upper, required: [dotted keys both must write]}
// Both lines are flattened to dotted keys (objects are walked, arrays are
// leaves); every key both write must agree (a timestamp: to the
// millisecond, winston's precision), and every required key must be one
// of them. Prints "ok N keys" or the differences (exit 1).
'use strict';
const fs = require('fs');
const path = require('path');
const { Writable } = require('stream');
const winston = require(path.join(__dirname, 'node_modules', 'winston'));
const { ecsFormat } = require(path.join(__dirname, 'node_modules', '@elastic', 'ecs-winston-format'));

const [mode, linePath, specPath] = process.argv.slice(2);
const sondeLine = fs.readFileSync(linePath, 'utf8').trim();
const spec = JSON.parse(fs.readFileSync(specPath, 'utf8'));
const sonde = JSON.parse(sondeLine);

// the formatter's clock reads sonde's time for the record
const tsKey = mode === 'ecs' ? '@timestamp' : 'timestamp';
const at = Date.parse(sonde[tsKey]);
if (Number.isNaN(at)) {
  console.log('sonde line has no parsable ' + tsKey + ': ' + sondeLine);
  process.exit(1);
}
const RealDate = Date;
global.Date = class extends RealDate {
  constructor(...a) {
    if (a.length === 0) super(at);
    else super(...a);
  }
  static now() { return at; }
};

let out = '';
const sink = new Writable({ write(c, e, cb) { out += c.toString(); cb(); } });
let format;
if (mode === 'ecs') {
  format = ecsFormat({ convertErr: true, serviceName: spec.service });
} else {
  const upper = winston.format((info) => {
    if (spec.upper) info.level = info.level.toUpperCase();
    return info;
  });
  format = winston.format.combine(winston.format.timestamp(), upper(), winston.format.json());
}
const logger = winston.createLogger({
  level: 'silly',
  format,
  defaultMeta: mode === 'ecs' ? undefined : { service: spec.service },
  transports: [new winston.transports.Stream({ stream: sink })],
});
const meta = Object.assign({}, spec.fields || {});
if (spec.error) {
  // an Error subclass named as the type (ECS's error.type is the
  // constructor's name)
  const Named = { [spec.error.type]: class extends Error {} }[spec.error.type];
  const e = new Named(spec.error.message);
  e.stack = spec.error.stack;
  meta.err = e;
}
logger.log(spec.level, spec.message, meta);
logger.end();

setImmediate(() => {
  const theirLine = out.trim();
  let theirs;
  try {
    theirs = JSON.parse(theirLine);
  } catch (e) {
    console.log('formatter output is not JSON: ' + theirLine);
    process.exit(1);
  }
  const flat = (o, pre, acc) => {
    for (const [k, v] of Object.entries(o)) {
      const key = pre ? pre + '.' + k : k;
      if (v && typeof v === 'object' && !Array.isArray(v)) flat(v, key, acc);
      else acc[key] = v;
    }
    return acc;
  };
  const a = flat(sonde, '', {});
  const b = flat(theirs, '', {});
  const common = Object.keys(a).filter((k) => k in b);
  const probs = [];
  for (const k of common) {
    let x = a[k];
    const y = b[k];
    if (k === tsKey) {
      // sonde writes microseconds, winston milliseconds
      x = new RealDate(RealDate.parse(x)).toISOString();
    }
    if (JSON.stringify(x) !== JSON.stringify(y))
      probs.push(k + ': sonde ' + JSON.stringify(a[k]) + ', formatter ' + JSON.stringify(y));
  }
  for (const k of spec.required || [])
    if (!common.includes(k))
      probs.push('required key ' + k + ' not written by both (sonde ' + (k in a) + ', formatter ' + (k in b) + ')');
  if (probs.length) {
    console.log(probs.join('\n'));
    console.log('sonde:     ' + sondeLine);
    console.log('formatter: ' + theirLine);
    process.exit(1);
  }
  console.log('ok ' + common.length + ' keys');
});
