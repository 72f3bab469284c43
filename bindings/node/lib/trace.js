'use strict';
// Trace context for JavaScript: sonde's spans (ids, sampling, W3C
// traceparent, the span histogram and span log line of the C library)
// with the current context kept in AsyncLocalStorage, so it follows awaits,
// timers and callbacks. Log records and exemplars made inside a span carry
// its trace id.
const native = require('./native');
const { als, currentStore, currentContext, traceIdOf, spanIdOf } = require('./context');

const KIND = { internal: 1, server: 2, client: 3, producer: 4, consumer: 5 };
const STATUS = { unset: 0, ok: 1, error: 2 };

function describe(ctx) {
	if (!ctx) return null;
	return {
		traceId: traceIdOf(ctx),
		spanId: spanIdOf(ctx),
		traceFlags: ctx[24],
		isRemote: ctx[25] === 1,
	};
}

class Span {
	constructor(name, opts = {}) {
		if (opts === null || typeof opts !== 'object') throw new TypeError('span options must be an object');
		let parent = opts.parent === undefined ? currentContext() : opts.parent;
		if (parent instanceof Span) parent = parent._ctx;
		else if (parent && parent.buffer instanceof Buffer) parent = parent.buffer; // an extract() result
		if (parent !== null && parent !== undefined && !(parent instanceof Buffer)) throw new TypeError('parent must be a Span, an extracted context or null');
		const kind = opts.kind === undefined ? 1 : typeof opts.kind === 'number' ? opts.kind : KIND[opts.kind];
		if (kind === undefined) throw new TypeError(`unknown span kind ${opts.kind}`);
		this.name = name;
		this._h = native.spanStart(name, parent || null, kind);
		this._ctx = native.spanContext(this._h);
		this.ended = false;
		this.duration = undefined;
		if (opts.attributes) this.setAttributes(opts.attributes);
	}

	spanContext() {
		return describe(this._ctx);
	}

	get traceId() {
		return traceIdOf(this._ctx);
	}

	get spanId() {
		return spanIdOf(this._ctx);
	}

	setAttribute(k, v) {
		native.spanAttr(this._h, k, v);
		return this;
	}

	setAttributes(o) {
		for (const k of Object.keys(o)) this.setAttribute(k, o[k]);
		return this;
	}

	// setStatus({code: 'ok' | 'error' | 0..2, message})
	setStatus(s) {
		const code = typeof s.code === 'number' ? s.code : STATUS[s.code];
		if (code === undefined) throw new TypeError(`unknown span status ${s.code}`);
		native.spanStatus(this._h, code, s.message === undefined ? null : String(s.message));
		return this;
	}

	recordException(e) {
		const err = e instanceof Error ? e : new Error(String(e));
		native.spanException(this._h, err.name || 'Error', String(err.message), err.stack ? String(err.stack) : null);
		return this;
	}

	// ends the span (its duration goes to the span histogram and log line
	// when those are on); returns the duration in seconds
	end() {
		this.duration = native.spanEnd(this._h);
		this.ended = true;
		return this.duration;
	}
}

function startSpan(name, opts) {
	return new Span(name, opts);
}

// Runs fn(span) with the span as the current context. Like
// OpenTelemetry's startActiveSpan, the span is not ended for you.
function startActiveSpan(name, opts, fn) {
	if (typeof opts === 'function') {
		fn = opts;
		opts = {};
	}
	const span = new Span(name, opts);
	return als.run({ ctx: span._ctx, span }, fn, span);
}

// Runs fn(span) in a new span and ends it when fn returns or its promise
// settles; a throw or a rejection records the exception and sets the
// status to error.
function withSpan(name, opts, fn) {
	if (typeof opts === 'function') {
		fn = opts;
		opts = {};
	}
	const span = new Span(name, opts);
	const fail = (e) => {
		span.recordException(e);
		span.setStatus({ code: 'error', message: e && e.message });
	};
	return als.run({ ctx: span._ctx, span }, () => {
		let r;
		try {
			r = fn(span);
		} catch (e) {
			fail(e);
			span.end();
			throw e;
		}
		if (r && typeof r.then === 'function') {
			return r.then(
				(v) => {
					span.end();
					return v;
				},
				(e) => {
					fail(e);
					span.end();
					throw e;
				}
			);
		}
		span.end();
		return r;
	});
}

function headerList(headers) {
	const names = [];
	const values = [];
	if (!headers) return [names, values];
	const add = (k, v) => {
		if (Array.isArray(v)) for (const x of v) add(k, x);
		else if (v !== undefined && v !== null && names.length < 64) {
			// a value far past the spec's sizes (baggage: 8192 bytes) is
			// dropped here: it cannot be valid, and it is network input
			const s = String(v);
			if (s.length > 16384) return;
			names.push(String(k));
			values.push(s);
		}
	};
	if (typeof headers.forEach === 'function' && !(headers instanceof Array) && typeof headers.get === 'function') headers.forEach((v, k) => add(k, v));
	else for (const k of Object.keys(headers)) if (/^(traceparent|tracestate|baggage|x-request-id|x-correlation-id)$/i.test(k)) add(k, headers[k]);
	return [names, values];
}

// The context of an incoming request (W3C traceparent, tracestate,
// baggage; a new trace when there is no valid traceparent). headers: a
// Node IncomingHttpHeaders object, a fetch Headers or a plain object.
function extract(headers) {
	const [names, values] = headerList(headers);
	const [buffer, continued, tracestate, baggage] = native.extract(names, values);
	return { buffer, continued, tracestate, baggage, ...describe(buffer) };
}

// Adds traceparent (and tracestate when the context came with one) for an
// outgoing request made in ctx (default: the current context).
function inject(headers = {}, ctx) {
	let c = ctx === undefined ? currentStore() : ctx;
	let tracestate = '';
	if (c instanceof Span) c = c._ctx;
	else if (c && c.ctx) {
		tracestate = c.tracestate || '';
		c = c.ctx;
	} else if (c && c.buffer) {
		tracestate = c.tracestate || '';
		c = c.buffer;
	}
	if (!c) c = native.newRoot();
	headers.traceparent = native.traceparent(c);
	if (tracestate) headers.tracestate = tracestate;
	return headers;
}

// Runs fn with ctx (a Span, an extract() result or null) as the current context.
function withContext(ctx, fn, ...args) {
	let store = null;
	if (ctx instanceof Span) store = { ctx: ctx._ctx, span: ctx };
	else if (ctx && ctx.buffer) store = { ctx: ctx.buffer, span: null, tracestate: ctx.tracestate };
	else if (ctx) throw new TypeError('withContext takes a Span, an extracted context or null');
	return als.run(store, fn, ...args);
}

function activeSpan() {
	const s = currentStore();
	return s ? s.span : undefined;
}

function current() {
	return describe(currentContext());
}

// sonde's span histogram: every ended span observed in
// <metricName>{name, status} (default span_duration_seconds).
function enableSpanMetrics(registry, metricName) {
	const reg = registry || require('./metrics').register;
	native.spanMetrics(reg._handle, metricName === undefined ? null : metricName);
}

module.exports = {
	trace: { Span, startSpan, startActiveSpan, withSpan, extract, inject, withContext, activeSpan, current, enableSpanMetrics },
};
