'use strict';
// Health checks (async JavaScript functions run by sonde's evaluator) and
// the one-line RED middleware on a real node:http server.
const test = require('node:test');
const assert = require('node:assert');
const http = require('http');
const sonde = require('..');
const { parse, sample, promtool } = require('./helpers');

function get(port, path, headers = {}) {
	return new Promise((resolve, reject) => {
		http.get({ port, path, headers }, (res) => {
			let body = '';
			res.setEncoding('utf8');
			res.on('data', (d) => (body += d));
			res.on('end', () => resolve({ status: res.statusCode, headers: res.headers, body }));
		}).on('error', reject);
	});
}

test('health: async checks, warn, fail, throw, timeout, cache; sonde\'s JSON and metrics', async () => {
	const h = new sonde.Health({ version: '1.2.3' });
	let dbRuns = 0;
	h.addCheck('database', async () => {
		dbRuns++;
		await new Promise((r) => setTimeout(r, 10));
	}, { probes: ['readiness', 'startup'], cache: 60000, timeout: 20000 });
	// generous timeouts where the test expects an answer (sanitizer runs on
	// a loaded machine are slow); the timeout case below has its own
	h.addCheck('cache', async () => ['warn', '3 of 4 nodes'], { timeout: 20000 });
	const ok = await h.evaluate('readiness');
	assert.strictEqual(ok.code, 200);
	const body = JSON.parse(ok.body);
	assert.strictEqual(body.status, 'degraded');
	assert.strictEqual(body.version, '1.2.3');
	assert.strictEqual(body.checks.database.status, 'pass');
	assert.strictEqual(body.checks.cache.status, 'warn');
	assert.strictEqual(body.checks.cache.message, '3 of 4 nodes');
	await h.evaluate('readiness');
	assert.strictEqual(dbRuns, 1); // cached
	assert.strictEqual((await h.evaluate('liveness')).code, 200); // no liveness checks: healthy

	h.addCheck('search', async () => { throw new Error('connection refused'); }, { timeout: 20000 });
	h.addCheck('queue', () => { throw new TypeError('sync throw'); }, { timeout: 20000 });
	h.addCheck('slow', () => new Promise((r) => setTimeout(r, 2000)), { timeout: 100 });
	const t0 = Date.now();
	const bad = await h.evaluate('readiness');
	const took = Date.now() - t0;
	assert.strictEqual(bad.code, 503);
	const b = JSON.parse(bad.body);
	assert.strictEqual(b.status, 'unhealthy');
	assert.strictEqual(b.checks.search.error, 'Error: connection refused');
	assert.strictEqual(b.checks.queue.error, 'TypeError: sync throw');
	assert.match(b.checks.slow.error, /timed out after 100 ms/);
	assert.ok(took < 1900, `the probe waited ${took} ms, past the slow check's 100 ms (it never answers before 2000 ms)`);
	const f = parse(await sonde.register.metrics());
	assert.strictEqual(sample(f, 'sonde_health_check_status', { check: 'cache', probe: 'readiness' }).value, 0.5);
	assert.strictEqual(sample(f, 'sonde_health_check_status', { check: 'search', probe: 'readiness' }).value, 0);
	assert.throws(() => h.addCheck('database', () => true), (e) => e.code === 'SONDE_EEXIST');
	assert.throws(() => h.addCheck('bad name!', () => true), (e) => e.code === 'SONDE_EINVAL');
	assert.throws(() => h.addCheck('x', 'not a function'), TypeError);
	assert.throws(() => h.addCheck('y', () => true, { probes: ['sideways'] }), TypeError);
	assert.throws(() => h.addCheck('z', () => true, { timeout: -1 }), RangeError);
	await assert.rejects(h.evaluate('sideways'), TypeError);
});

test('middleware: RED metrics, in-flight, a server span continuing the caller\'s trace, /metrics negotiation', async () => {
	const reg = new sonde.Registry();
	const mw = sonde.middleware({ registry: reg });
	const log = [];
	const server = http.createServer((req, res) => {
		mw(req, res, () => {
			if (req.url === '/metrics') return sonde.metricsHandler(reg)(req, res);
			const cur = sonde.trace.current();
			log.push(cur && cur.traceId);
			setTimeout(() => {
				res.statusCode = req.url.startsWith('/fail') ? 500 : 200;
				res.end('ok');
			}, 5);
		});
	});
	await new Promise((r) => server.listen(0, '127.0.0.1', r));
	const port = server.address().port;
	try {
		await get(port, '/users/123');
		await get(port, '/users/456');
		await get(port, '/fail');
		const withId = await get(port, '/x', { traceparent: '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01', 'x-request-id': 'abc-1' });
		assert.strictEqual(withId.headers['x-request-id'], 'abc-1');
		const fresh = await get(port, '/users/789');
		assert.match(fresh.headers['x-request-id'], /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
		log.pop();
		assert.strictEqual(log[3], '4bf92f3577b34da6a3ce929d0e0e4736');
		assert.notStrictEqual(log[0], log[1]);
		const text = await get(port, '/metrics');
		assert.strictEqual(text.headers['content-type'], 'text/plain; version=0.0.4; charset=utf-8');
		const f = parse(text.body);
		assert.strictEqual(sample(f, 'http_requests_total', { method: 'GET', route: '/users/:id', status_code: '200' }).value, 3);
		assert.strictEqual(sample(f, 'http_requests_total', { route: '/fail', status_code: '500' }).value, 1);
		assert.strictEqual(sample(f, 'http_request_duration_seconds_count', { route: '/users/:id' }).value, 3);
		assert.ok(sample(f, 'http_request_duration_seconds_sum', { route: '/users/:id' }).value >= 0.008);
		assert.strictEqual(sample(f, 'http_requests_in_flight').value, 1); // the /metrics request itself
		const pt = promtool(text.body);
		if (!pt.skipped) assert.strictEqual(pt.status, 0, pt.output);
		const om = await get(port, '/metrics', { accept: 'application/openmetrics-text; version=1.0.0' });
		assert.match(om.headers['content-type'], /^application\/openmetrics-text; version=1.0.0/);
		assert.ok(sample(parse(om.body, 'openmetrics'), 'http_requests_total', { route: '/fail' }));
	} finally {
		server.close();
	}
});
