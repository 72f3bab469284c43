'use strict';
// Health checks: JavaScript functions (sync or async) as sonde checks.
// sonde evaluates a probe on a libuv pool thread: it runs the probe's
// checks in parallel, each with its timeout and cache, and asks the event
// loop to call each JavaScript check; the JSON body, the aggregation
// (healthy / degraded / unhealthy, 200 / 503) and the metrics
// (sonde_health_check_status{check,probe}, the duration histogram) are
// libsonde's, the same as for C, Go, Rust and Python checks.
const native = require('./native');
const { register } = require('./metrics');

const PROBES = { liveness: 1, readiness: 2, startup: 4 };
const RESULT = { pass: 0, warn: 1, fail: 2 };

function errorText(e) {
	if (e instanceof Error) return e.message ? `${e.name}: ${e.message}` : e.name;
	return String(e);
}

// What a check returns decides its result: undefined or true pass, false
// fails, 'pass' / 'warn' / 'fail' say so, {status, message} or
// [status, message] add a message; a throw or a rejection fails with its
// text.
function verdict(r) {
	if (r === undefined || r === null || r === true) return [0, ''];
	if (r === false) return [2, ''];
	if (typeof r === 'string' && r in RESULT) return [RESULT[r], ''];
	if (Array.isArray(r) && r.length === 2 && r[0] in RESULT) return [RESULT[r[0]], String(r[1])];
	if (typeof r === 'object' && r.status in RESULT) return [RESULT[r.status], r.message === undefined ? '' : String(r.message)];
	return [2, `unexpected check result ${typeof r === 'string' ? JSON.stringify(r) : typeof r}`];
}

class Health {
	// opts: {version}; the metrics go to the process's default registry
	constructor(opts = {}) {
		if (opts === null || typeof opts !== 'object') throw new TypeError('Health takes an options object');
		this._h = native.healthNew(opts.version === undefined ? null : String(opts.version));
	}

	// addCheck(name, fn, {probes: ['readiness'], timeout: ms, cache: ms})
	addCheck(name, fn, opts = {}) {
		if (typeof fn !== 'function') throw new TypeError('a check must be a function');
		const probes = (opts.probes || ['readiness']).reduce((m, p) => {
			if (!(p in PROBES)) throw new TypeError(`unknown probe ${p}: liveness, readiness or startup`);
			return m | PROBES[p];
		}, 0);
		const ms = (v, what) => {
			if (v === undefined) return 0;
			if (typeof v !== 'number' || !Number.isInteger(v) || v < 0 || v > 0xffffffff) throw new RangeError(`${what} must be a whole number of milliseconds`);
			return v;
		};
		const wrapper = (settle) => {
			let p;
			try {
				p = fn();
			} catch (e) {
				settle(2, errorText(e));
				return;
			}
			Promise.resolve(p).then(
				(r) => settle(...verdict(r)),
				(e) => settle(2, errorText(e))
			);
		};
		native.healthAddCheck(this._h, name, wrapper, probes, ms(opts.timeout, 'timeout'), ms(opts.cache, 'cache'));
		return this;
	}

	// evaluate('readiness') -> {code: 200 | 503, status, body (JSON text)}
	async evaluate(probe = 'readiness') {
		if (!(probe in PROBES)) throw new TypeError(`unknown probe ${probe}: liveness, readiness or startup`);
		return native.healthEvaluate(this._h, PROBES[probe]);
	}

	// an HTTP handler (req, res) for one probe
	handler(probe = 'readiness') {
		return (req, res) => {
			this.evaluate(probe).then(
				(r) => {
					res.statusCode = r.code;
					res.setHeader('Content-Type', 'application/json');
					res.end(r.body);
				},
				(e) => {
					res.statusCode = 500;
					res.end(String(e && e.message));
				}
			);
		};
	}
}

module.exports = { Health, registry: register };
