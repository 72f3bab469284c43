'use strict';
// Trace context over AsyncLocalStorage: spans, W3C extract and inject, the
// current context following async calls without leaking between them.
const test = require('node:test');
const assert = require('node:assert');
const sonde = require('..');
const { parse, sample } = require('./helpers');

const { trace } = sonde;
const TP = /^00-([0-9a-f]{32})-([0-9a-f]{16})-0[0-3]$/;

test('extract continues a valid traceparent, starts a new trace otherwise', () => {
	const c = trace.extract({ traceparent: '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01', tracestate: 'congo=t61rcWkgMzE', baggage: 'userId=alice' });
	assert.strictEqual(c.continued, true);
	assert.strictEqual(c.traceId, '4bf92f3577b34da6a3ce929d0e0e4736');
	assert.strictEqual(c.spanId, '00f067aa0ba902b7');
	assert.strictEqual(c.traceFlags & 1, 1);
	assert.strictEqual(c.isRemote, true);
	assert.strictEqual(c.tracestate, 'congo=t61rcWkgMzE');
	assert.strictEqual(c.baggage, 'userId=alice');
	for (const bad of ['00-4BF92F3577B34DA6A3CE929D0E0E4736-00F067AA0BA902B7-01', '00-00000000000000000000000000000000-00f067aa0ba902b7-01', 'ff-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01', 'garbage', 'x'.repeat(100000)]) {
		const n = trace.extract({ traceparent: bad });
		assert.strictEqual(n.continued, false, bad.slice(0, 60));
		assert.match(n.traceId, /^[0-9a-f]{32}$/);
		assert.notStrictEqual(n.traceId, '4bf92f3577b34da6a3ce929d0e0e4736');
	}
	assert.strictEqual(trace.extract({}).continued, false);
	assert.strictEqual(trace.extract(undefined).continued, false);
	assert.strictEqual(trace.extract({ traceparent: {} }).continued, false); // not a header value: a new trace
});

test('a server span continues the remote trace; inject hands it on', () => {
	const remote = trace.extract({ traceparent: '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01', tracestate: 'congo=t61rcWkgMzE' });
	const span = trace.startSpan('GET /a', { parent: remote, kind: 'server' });
	assert.strictEqual(span.traceId, remote.traceId);
	assert.notStrictEqual(span.spanId, remote.spanId);
	const h = trace.withContext(remote, () => trace.inject({}));
	assert.match(h.traceparent, TP);
	assert.strictEqual(TP.exec(h.traceparent)[1], remote.traceId);
	assert.strictEqual(h.tracestate, 'congo=t61rcWkgMzE');
	const out = trace.withContext(span, () => trace.inject({}));
	assert.deepStrictEqual(TP.exec(out.traceparent).slice(1, 3), [span.traceId, span.spanId]);
	assert.ok(span.end() >= 0);
	assert.strictEqual(span.ended, true);
	// without any context, inject starts a new trace
	const fresh = trace.inject({});
	assert.match(fresh.traceparent, TP);
});

test('the current context follows awaits and never leaks between concurrent tasks', async () => {
	assert.strictEqual(trace.current(), null);
	const seen = [];
	const task = (name, delay) =>
		trace.withSpan(name, async (span) => {
			const mine = span.traceId;
			for (let i = 0; i < 5; i++) {
				await new Promise((r) => setTimeout(r, delay));
				seen.push(trace.current().traceId === mine);
				await trace.withSpan(`${name}.child`, async (child) => {
					assert.strictEqual(child.traceId, mine); // same trace, child of the task's span
					await new Promise((r) => setImmediate(r));
					assert.strictEqual(trace.current().spanId, child.spanId);
				});
				assert.strictEqual(trace.activeSpan(), span);
			}
			return mine;
		});
	const ids = await Promise.all([task('a', 1), task('b', 2), task('c', 3)]);
	assert.strictEqual(new Set(ids).size, 3);
	assert.ok(seen.length === 15 && seen.every(Boolean));
	assert.strictEqual(trace.current(), null);
});

test('withSpan records a throw or a rejection as an error; span metrics count by status', async () => {
	const reg = new sonde.Registry();
	trace.enableSpanMetrics(reg, 'node_span_duration_seconds');
	trace.withSpan('ok-op', () => 1);
	assert.throws(() => trace.withSpan('sync-fail', () => { throw new Error('boom'); }), /boom/);
	await assert.rejects(trace.withSpan('async-fail', async () => { throw new Error('later'); }), /later/);
	const s = trace.startSpan('attrs', { attributes: { 'http.method': 'GET', n: 3, r: 0.5, b: true } });
	s.setStatus({ code: 'ok' });
	assert.throws(() => s.setAttribute('x', {}), TypeError);
	assert.throws(() => s.setAttribute(7, 'x'), TypeError);
	assert.throws(() => s.setStatus({ code: 'weird' }), TypeError);
	assert.throws(() => trace.startSpan('k', { kind: 'sideways' }), TypeError);
	assert.throws(() => trace.startSpan('p', { parent: 'nope' }), TypeError);
	assert.throws(() => trace.startSpan(undefined), TypeError);
	s.end();
	s.end(); // twice: ignored
	const f = parse(await reg.metrics());
	assert.strictEqual(sample(f, 'node_span_duration_seconds_count', { name: 'ok-op', status: 'ok' }).value, 1);
	assert.strictEqual(sample(f, 'node_span_duration_seconds_count', { name: 'sync-fail', status: 'error' }).value, 1);
	assert.strictEqual(sample(f, 'node_span_duration_seconds_count', { name: 'async-fail', status: 'error' }).value, 1);
	assert.strictEqual(sample(f, 'node_span_duration_seconds_count', { name: 'attrs', status: 'ok' }).value, 1);
});

test('exemplars take the current trace id when none are given', async () => {
	const reg = new sonde.Registry(sonde.Registry.OPENMETRICS_CONTENT_TYPE);
	const c = new sonde.Counter({ name: 'traced_requests', help: 'r', enableExemplars: true, registers: [reg] });
	let ids;
	trace.withSpan('req', (span) => {
		ids = span.spanContext();
		c.inc({ value: 1 });
	});
	const s = sample(parse(await reg.metrics(), 'openmetrics'), 'traced_requests_total');
	assert.deepStrictEqual(s.exemplar.labels, { trace_id: ids.traceId, span_id: ids.spanId });
});
