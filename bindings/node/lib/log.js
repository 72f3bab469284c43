'use strict';
// winston's shape over sonde's logger: createLogger({level, defaultMeta,
// format}), logger.info(message, meta) and the other levels, child(meta).
// A call copies its values into the calling thread's ring (no formatting,
// no I/O on the event loop); sonde's backend thread formats the JSON (or
// logfmt) line and writes it. Every record carries the trace id and span
// id of the current AsyncLocalStorage context (see trace.js).
const { AsyncLocalStorage } = require('async_hooks');
const native = require('./native');
const { currentContext } = require('./context');

// ---- scoped context fields ----------------------------------------------------------
// runWithContext(fields, fn, ...args): like AsyncLocalStorage.run, every
// record logged (through any sonde logger) by fn and by the async work it
// starts (awaits, timers, callbacks) carries fields, after the trace
// context and before the record's own; nested contexts nest (an inner
// field beats an outer one, a record's own field beats both). The store
// holds the flattened pairs (the last of a key kept, at most 16 keys);
// around each synchronous write they are pushed as C scopes on the
// calling thread (sonde_log_scope_push) and popped after it, so the key
// rules and the record layout are the C library's. Checked on entry with
// the C library's limits: a TypeError (code 'SONDE_EINVAL': an empty key,
// one over 64 bytes ...) or a RangeError (code 'SONDE_ELIMIT': more than
// 16 keys, keys and strings of one context over 1024 bytes).
const logAls = new AsyncLocalStorage();

function flattenPairs(outer, fields) {
	const pairs = [];
	for (const k in fields) pushField(pairs, k, fields[k]);
	const all = outer.concat(pairs);
	const out = [];
	for (let i = 0; i < all.length; i += 2) {
		let later = false;
		for (let j = i + 2; j < all.length; j += 2) if (all[j] === all[i]) { later = true; break; }
		if (!later) out.push(all[i], all[i + 1]);
	}
	return out;
}

function runWithContext(fields, fn, ...args) {
	if (fields === null || typeof fields !== 'object') throw new TypeError('runWithContext(fields, fn): fields must be an object');
	if (typeof fn !== 'function') throw new TypeError('runWithContext(fields, fn): fn must be a function');
	const pairs = flattenPairs(logAls.getStore() || [], fields);
	native.logScopeCheck(pairs);
	return logAls.run(pairs, fn, ...args);
}

// The fields the running code's context carries, as an object.
function logContext() {
	const p = logAls.getStore() || [];
	const o = {};
	for (let i = 0; i < p.length; i += 2) o[p[i]] = p[i + 1];
	return o;
}

// sonde's levels: trace 0, debug 1, info 2, warn 3, error 4, fatal 5, off 6
const SONDE = { trace: 0, debug: 1, info: 2, warn: 3, error: 4, fatal: 5, off: 6 };
// winston's npm levels onto them (http, verbose and silly have no sonde
// level of their own: they are written as info, debug and trace)
const LEVELS = { error: 4, warn: 3, info: 2, http: 2, verbose: 1, debug: 1, silly: 0, trace: 0, fatal: 5 };
const MAX_FIELDS = 15;

const FORMATS = { json: 0, logfmt: 1, ecs: 2, otel: 3, console: 4 };
const format = {
	json: () => ({ sondeFormat: 0 }),
	logfmt: () => ({ sondeFormat: 1 }),
	// Elastic Common Schema, the OpenTelemetry log data model, a human line
	// (coloured on a terminal unless NO_COLOR): sonde's profiles
	ecs: () => ({ sondeFormat: 2 }),
	otel: () => ({ sondeFormat: 3 }),
	console: () => ({ sondeFormat: 4 }),
	// winston's format.combine(...) of the formats above: the last wins
	combine: (...fs) => fs.reduce((a, f) => (f && f.sondeFormat !== undefined ? f : a), { sondeFormat: 0 }),
	// format.errors({stack}) and format.timestamp(): what sonde always does
	errors: () => ({}),
	timestamp: () => ({}),
};

// (SONDE_LOG_FORMAT, when set, overrides it, as LOG_LEVEL does the level)
function formatCode(f) {
	if (f === undefined || f === null) return 0;
	if (typeof f === 'string' && Object.prototype.hasOwnProperty.call(FORMATS, f)) return FORMATS[f];
	if (typeof f === 'object' && Number.isInteger(f.sondeFormat) && f.sondeFormat >= 0 && f.sondeFormat <= 4) return f.sondeFormat;
	throw new TypeError('format must be sonde.format.json(), .logfmt(), .ecs(), .otel(), .console() or one of their names: lines are formatted on sonde\'s backend thread, not by JavaScript');
}

function levelCode(l, what = 'level') {
	if (typeof l !== 'string' || !(l in LEVELS) && !(l in SONDE))
		throw new TypeError(`${what} must be one of ${Object.keys(LEVELS).concat('off').join(', ')}, got ${typeof l === 'string' ? JSON.stringify(l) : typeof l}`);
	return l in LEVELS ? LEVELS[l] : SONDE[l];
}

// meta values onto sonde's field types: strings, numbers, booleans and
// bigints as they are; an Error, on a record, as one error field (its key
// "error" for error and err: ECS error.type/message/stack_trace, OTel
// exception.*, json {type, message, stack} as winston's errors({stack})
// writes), and as error.type, error.message, error.stack_trace strings in
// bound and context fields; a Date as its ISO text; other objects as JSON.
function pushField(out, k, v, record = false) {
	switch (typeof v) {
	case 'string':
	case 'number':
	case 'boolean':
	case 'bigint':
		out.push(k, v);
		return;
	case 'undefined':
	case 'function':
	case 'symbol':
		return;
	default:
		if (v === null) out.push(k, 'null');
		else if (v instanceof Error) pushError(out, v, k === 'error' || k === 'err' ? 'error' : k, record);
		else if (v instanceof Date) out.push(k, v.toISOString());
		else {
			let s;
			try {
				s = JSON.stringify(v);
			} catch (e) {
				s = `[unserializable: ${e.message}]`;
			}
			out.push(k, s === undefined ? 'null' : s);
		}
	}
}

function pushError(out, e, prefix = 'error', record = false) {
	if (record) out.push(prefix, [e.name || 'Error', String(e.message), e.stack ? String(e.stack) : null]);
	else out.push(`${prefix}.type`, e.name || 'Error', `${prefix}.message`, String(e.message), `${prefix}.stack_trace`, String(e.stack || ''));
}

class Logger {
	constructor(handle, level, minLevel) {
		this._h = handle;
		this._level = level;
		this._min = minLevel;
		this.levels = { error: 0, warn: 1, info: 2, http: 3, verbose: 4, debug: 5, silly: 6 };
	}

	get level() {
		return this._level;
	}

	set level(l) {
		const c = levelCode(l);
		native.loggerLevel(this._h, c);
		this._level = l;
		this._min = c;
	}

	isLevelEnabled(l) {
		return levelCode(l) >= this._min;
	}

	// log(level, message, meta) or log({level, message, ...meta})
	log(level, message, meta) {
		if (level !== null && typeof level === 'object') {
			const { level: l, message: m, ...rest } = level;
			return this._write(levelCode(l), m, rest);
		}
		return this._write(levelCode(level), message, meta);
	}

	_write(lv, message, meta) {
		if (lv < this._min) return this;
		const args = [this._h, lv, '', currentContext()];
		if (message instanceof Error) {
			pushError(args, message, 'error', true);
			args[2] = message.message;
		} else if (typeof message === 'string') {
			args[2] = message;
		} else if (message !== null && typeof message === 'object' && meta === undefined) {
			// logger.info({message, ...fields})
			const { message: m, ...rest } = message;
			args[2] = m === undefined ? '' : String(m);
			meta = rest;
		} else if (message !== undefined) {
			args[2] = String(message);
		}
		if (meta !== undefined && meta !== null) {
			if (meta instanceof Error) pushError(args, meta, 'error', true);
			else if (typeof meta === 'object') for (const k in meta) pushField(args, k, meta[k], true);
			else pushField(args, 'meta', meta, true);
		}
		if (args.length > 4 + 2 * MAX_FIELDS) {
			// more fields than a record holds: the rest as one JSON field
			const rest = {};
			for (let i = 4 + 2 * (MAX_FIELDS - 1); i < args.length; i += 2) rest[args[i]] = args[i + 1];
			args.length = 4 + 2 * (MAX_FIELDS - 1);
			args.push('meta', JSON.stringify(rest, (k, v) => (typeof v === 'bigint' ? String(v) : v)));
		}
		const scoped = logAls.getStore();
		if (scoped !== undefined && scoped.length) {
			args.splice(4, 0, scoped);
			native.loggerWriteScoped.apply(null, args);
		} else {
			native.loggerWrite.apply(null, args);
		}
		return this;
	}

	error(m, meta) {
		return this._write(4, m, meta);
	}
	warn(m, meta) {
		return this._write(3, m, meta);
	}
	info(m, meta) {
		return this._write(2, m, meta);
	}
	http(m, meta) {
		return this._write(2, m, meta);
	}
	verbose(m, meta) {
		return this._write(1, m, meta);
	}
	debug(m, meta) {
		return this._write(1, m, meta);
	}
	silly(m, meta) {
		return this._write(0, m, meta);
	}
	trace(m, meta) {
		return this._write(0, m, meta);
	}
	fatal(m, meta) {
		return this._write(5, m, meta);
	}

	// bound fields, written on every record of the child (rendered once,
	// by sonde, when the child is made)
	child(meta) {
		if (meta === null || typeof meta !== 'object') throw new TypeError('child(meta) takes an object');
		const args = [this._h];
		for (const k in meta) pushField(args, k, meta[k]);
		if (args.length > 1 + 64) throw new RangeError('child(meta): at most 32 bound fields');
		const h = native.loggerChild.apply(null, args);
		const c = new Logger(h, this._level, this._min);
		c._parent = this;
		return c;
	}

	// waits until every record emitted so far is written (blocks the thread)
	flush() {
		native.logFlush();
		return this;
	}

	end() {
		this.flush();
	}

	close() {
		this.flush();
	}
}

// createLogger({level = 'info', defaultMeta, format, service, file, stream, otlp,
//               redact, sample})
//   service: the record's "service" (default: defaultMeta.service, else
//            "node"); file: append to this path; stream: 'stdout' (default),
//            'stderr' or 'none' (no line output: with otlp); otlp: true also
//            sends the records to the OTLP exporter's logs endpoint as
//            OTLP LogRecords (see otlp.js; the scope name is service);
//            redact: field keys written as "[REDACTED]";
//   sample: {first, thereafter = 0, intervalMs = 1000, errors = false}:
//            per (level, field keys) combination and interval, the first
//            `first` records are written, then one in `thereafter`; error
//            and fatal only with errors: true. Off when absent.
function createLogger(opts = {}) {
	if (opts === null || typeof opts !== 'object') throw new TypeError('createLogger takes an options object');
	const level = opts.level === undefined ? 'info' : opts.level;
	const code = levelCode(level);
	const meta = opts.defaultMeta && typeof opts.defaultMeta === 'object' ? { ...opts.defaultMeta } : {};
	let service = opts.service;
	if (service === undefined && typeof meta.service === 'string') {
		service = meta.service;
		delete meta.service;
	}
	const sample = opts.sample === undefined || opts.sample === null ? {} : opts.sample;
	if (typeof sample !== 'object') throw new TypeError('sample must be an object {first, thereafter, intervalMs, errors}');
	const u32 = (v, what) => {
		if (v === undefined) return 0;
		if (!Number.isInteger(v) || v < 0 || v > 0xffffffff) throw new RangeError(`sample.${what} must be an integer in 0..2**32-1`);
		return v;
	};
	const h = native.loggerNew({
		sampleFirst: u32(sample.first, 'first'),
		sampleThereafter: u32(sample.thereafter, 'thereafter'),
		sampleIntervalMs: u32(sample.intervalMs, 'intervalMs'),
		sampleErrors: !!sample.errors,
		service: service === undefined ? 'node' : service,
		level: code,
		format: formatCode(opts.format),
		file: opts.file,
		stream: opts.stream,
		otlp: !!opts.otlp,
		redact: opts.redact,
	});
	const root = new Logger(h, level, code);
	return Object.keys(meta).length ? Object.assign(root.child(meta), { _root: root }) : root;
}

function logStats() {
	return native.logStats();
}

// Records left out by sampling at this level (a name), all loggers.
function logSampledTotal(level) {
	return native.logSampledTotal(levelCode(level));
}

module.exports = { createLogger, format, Logger, logStats, logSampledTotal, runWithContext, logContext, LEVELS };
