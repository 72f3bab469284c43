'use strict';
// RED for an HTTP server in one line: app.use(sonde.middleware()).
// Per request: the request id (x-request-id / x-correlation-id kept, else
// a UUID v4) on req.id and the response, a server span continuing the
// caller's W3C trace (the
// current context for everything the handler does, logs included),
// http_requests_in_flight, and at the end http_requests_total and
// http_request_duration_seconds by method, route and status code.
const { Counter, Gauge, Histogram, register } = require('./metrics');
const { trace } = require('./trace');
const { als } = require('./context');

const { randomUUID } = require('crypto');

const made = new WeakMap();

// The request id, as sonde's C side reads it: x-request-id, else
// x-correlation-id, when 1..64 characters of [A-Za-z0-9._:/+=@-];
// otherwise a fresh UUID v4.
const ID_RE = /^[A-Za-z0-9._:/+=@-]{1,64}$/;
function requestId(headers) {
	for (const k of ['x-request-id', 'x-correlation-id']) {
		const v = headers && headers[k];
		if (typeof v === 'string' && ID_RE.test(v)) return v;
	}
	return randomUUID();
}

function instruments(registry, prefix, buckets) {
	let m = made.get(registry);
	if (m && m.prefix === prefix) return m;
	const registers = [registry];
	const labelNames = ['method', 'route', 'status_code'];
	m = {
		prefix,
		requests: registry.getSingleMetric(`${prefix}http_requests_total`) || new Counter({ name: `${prefix}http_requests_total`, help: 'HTTP requests handled.', labelNames, registers }),
		duration: registry.getSingleMetric(`${prefix}http_request_duration_seconds`) || new Histogram({ name: `${prefix}http_request_duration_seconds`, help: 'HTTP request duration in seconds.', labelNames, buckets, registers }),
		inflight: registry.getSingleMetric(`${prefix}http_requests_in_flight`) || new Gauge({ name: `${prefix}http_requests_in_flight`, help: 'HTTP requests being handled.', registers }),
	};
	made.set(registry, m);
	return m;
}

// Collapses the ids in a path (numbers, UUIDs, long hex) to ":id", so that
// an unrouted path does not make a series per id.
function normalizePath(url) {
	const path = String(url || '/').split('?')[0];
	return path.replace(/\/(\d+|[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}|[0-9a-fA-F]{16,})(?=\/|$)/g, '/:id');
}

function routeOf(req, normalize) {
	if (req.route && req.route.path) return (req.baseUrl || '') + req.route.path; // Express
	return normalize(req.originalUrl || req.url);
}

// middleware({registry, prefix, buckets, normalizePath, trace: true})
function middleware(opts = {}) {
	const registry = opts.registry || register;
	const m = instruments(registry, opts.prefix || '', opts.buckets);
	const normalize = opts.normalizePath || normalizePath;
	const traced = opts.trace !== false;
	return function sondeMiddleware(req, res, next) {
		const start = process.hrtime.bigint();
		// the request id: on req.id (as express-request-id) and on the
		// response, before the handler writes its head
		req.id = requestId(req.headers);
		res.setHeader('x-request-id', req.id);
		m.inflight._noLabels._n.add(1);
		let span = null;
		if (traced) {
			span = trace.startSpan(`${req.method} ${normalize(req.url)}`, { parent: trace.extract(req.headers), kind: 'server' });
			span.setAttribute('http.request.method', String(req.method));
		}
		let done = false;
		const finish = () => {
			if (done) return;
			done = true;
			m.inflight._noLabels._n.add(-1);
			const s = Number(process.hrtime.bigint() - start) / 1e9;
			const labels = { method: String(req.method), route: routeOf(req, normalize), status_code: String(res.statusCode) };
			m.requests.inc(labels);
			m.duration.observe(labels, s);
			if (span) {
				span.setAttribute('http.route', labels.route);
				span.setAttribute('http.response.status_code', res.statusCode);
				if (res.statusCode >= 500) span.setStatus({ code: 'error', message: `HTTP ${res.statusCode}` });
				span.end();
			}
		};
		res.once('finish', finish);
		res.once('close', finish);
		if (span) als.run({ ctx: span._ctx, span }, next);
		else next();
	};
}

// A /metrics handler: the format the scraper's Accept header asks for
// (OpenMetrics or text 0.0.4), rendered from the registry.
function metricsHandler(registry = register) {
	return (req, res) => {
		registry.metricsFor(req.headers && req.headers.accept).then(
			({ contentType, body }) => {
				res.statusCode = 200;
				res.setHeader('Content-Type', contentType);
				res.end(body);
			},
			(e) => {
				res.statusCode = 500;
				res.end(String(e && e.message));
			}
		);
	};
}

module.exports = { middleware, metricsHandler, normalizePath };
