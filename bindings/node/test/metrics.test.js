'use strict';
// prom-client's API over sonde; expectations ported from prom-client's own
// test files (counterTest, gaugeTest, histogramTest, summaryTest,
// registerTest) where they apply, and every exposition read back by the
// official Python parsers and promtool.
const test = require('node:test');
const assert = require('node:assert');
const sonde = require('..');
const { parse, family, sample, promtool } = require('./helpers');
const native = require('../lib/native');

const { Registry, Counter, Gauge, Histogram, Summary } = sonde;

async function scrape(reg, fmt) {
	return parse(await reg.metrics(), fmt);
}

test('counter: inc, inc(v), labels, object labels, 0 at start, parsed by prometheus_client', async () => {
	const reg = new Registry();
	const c = new Counter({ name: 'test_requests_total', help: 'Requests.', registers: [reg] });
	let f = await scrape(reg);
	assert.strictEqual(sample(f, 'test_requests_total').value, 0); // prom-client: "should init counter to 0"
	c.inc();
	c.inc(100);
	c.inc(0);
	f = await scrape(reg);
	assert.strictEqual(family(f, 'test_requests').type, 'counter');
	assert.strictEqual(sample(f, 'test_requests_total').value, 101);
	const l = new Counter({ name: 'test_hits_total', help: 'Hits.', labelNames: ['method', 'code'], registers: [reg] });
	l.inc({ method: 'GET', code: 200 });
	l.inc({ method: 'GET', code: 200 }, 4);
	l.labels('POST', '500').inc();
	l.labels({ method: 'PUT', code: 201 }).inc(2.5);
	f = await scrape(reg);
	assert.strictEqual(sample(f, 'test_hits_total', { method: 'GET', code: '200' }).value, 5);
	assert.strictEqual(sample(f, 'test_hits_total', { method: 'POST', code: '500' }).value, 1);
	assert.strictEqual(sample(f, 'test_hits_total', { method: 'PUT', code: '201' }).value, 2.5);
	const got = await l.get();
	assert.strictEqual(got.type, 'counter');
	assert.deepStrictEqual(got.values.find((v) => v.labels.method === 'GET'), { value: 5, labels: { method: 'GET', code: '200' } });
	const pt = promtool(await reg.metrics());
	if (!pt.skipped) assert.strictEqual(pt.status, 0, pt.output);
});

test('counter: bad input throws TypeError/RangeError, never crashes', () => {
	const reg = new Registry();
	const c = new Counter({ name: 'bad_total', help: 'h', labelNames: ['a'], registers: [reg] });
	assert.throws(() => c.inc({ a: 'x' }, -1), RangeError); // "should not be possible to decrease a counter"
	assert.throws(() => c.inc({ a: 'x' }, NaN), RangeError);
	assert.throws(() => c.inc({ a: 'x' }, '1'), TypeError); // "should throw an error when the value is not a number"
	assert.throws(() => c.inc({ b: 'x' }), /Added label "b" is not included/);
	assert.throws(() => c.labels('x', 'y'), (e) => e instanceof TypeError && e.code === 'SONDE_EINVAL' && /1 label|2 label values/.test(e.message));
	assert.throws(() => c.labels({ a: {} }), TypeError);
	assert.throws(() => c.labels('x'.repeat(2000)), (e) => e instanceof RangeError && /more than the limit/.test(e.message));
	assert.throws(() => c.labels('\uDC00ok').inc() && false || c.labels(Symbol('s')), TypeError);
	assert.throws(() => new Counter({ name: '9bad', help: 'h', registers: [reg] }), (e) => e instanceof TypeError && e.status === -1 && /metric name "9bad" is invalid/.test(e.message));
	assert.throws(() => new Counter({ name: 'x'.repeat(1 << 20), help: 'h', registers: [reg] }), RangeError);
	assert.throws(() => new Counter({ help: 'h' }), /Missing mandatory name/);
	assert.throws(() => new Counter({ name: 'nohelp' }), /Missing mandatory help/);
	assert.throws(() => new Counter({ name: 'l_total', help: 'h', labelNames: ['__x'], registers: [reg] }), (e) => e.code === 'SONDE_EINVAL');
	assert.throws(() => new Counter({ name: 'l2_total', help: 'h', labelNames: [7], registers: [reg] }), TypeError);
	assert.throws(() => new Counter(undefined), TypeError);
	assert.throws(() => new Counter({ name: 'nul\u0000x', help: 'h', registers: [reg] }), /NUL/);
});

test('registry: duplicate names, getSingleMetric, removeSingleMetric, clear, resetMetrics', async () => {
	const reg = new Registry();
	const c = new Counter({ name: 'dup_total', help: 'h', registers: [reg] });
	assert.throws(() => new Counter({ name: 'dup_total', help: 'h', registers: [reg] }), /has already been registered/);
	assert.strictEqual(reg.getSingleMetric('dup_total'), c);
	c.inc(3);
	assert.match(await reg.getSingleMetricAsString('dup_total'), /dup_total 3/);
	reg.resetMetrics();
	assert.strictEqual(sample(await scrape(reg), 'dup_total').value, 0);
	reg.removeSingleMetric('dup_total');
	assert.strictEqual(reg.getSingleMetric('dup_total'), undefined);
	assert.doesNotMatch(await reg.metrics(), /dup_total/);
	const again = new Counter({ name: 'dup_total', help: 'other help', registers: [reg] });
	again.inc();
	assert.strictEqual(sample(await scrape(reg), 'dup_total').value, 1);
	reg.clear();
	assert.strictEqual(await reg.metrics(), '');
	// registers: [] then registerMetric
	const later = new Counter({ name: 'later_total', help: 'h', registers: [] });
	reg.registerMetric(later);
	later.inc(2);
	assert.strictEqual(sample(await scrape(reg), 'later_total').value, 2);
	assert.strictEqual(reg.contentType, Registry.PROMETHEUS_CONTENT_TYPE);
	assert.throws(() => reg.setContentType('text/html'), TypeError);
});

test('gauge: set, inc, dec, setToCurrentTime, startTimer, labels', async () => {
	const reg = new Registry();
	const g = new Gauge({ name: 'test_gauge', help: 'G', labelNames: ['k'], registers: [reg] });
	const g0 = new Gauge({ name: 'test_gauge0', help: 'G', registers: [reg] });
	g0.set(10);
	g0.inc();
	g0.inc(5);
	g0.dec(2);
	g0.dec();
	g.set({ k: 'a' }, -3.5);
	g.labels('b').inc(2);
	const before = Date.now() / 1000;
	g.setToCurrentTime({ k: 'now' });
	const end = g.startTimer({ k: 'timer' });
	await new Promise((r) => setTimeout(r, 20));
	const took = end();
	let f = await scrape(reg);
	assert.strictEqual(sample(f, 'test_gauge0').value, 13);
	assert.strictEqual(sample(f, 'test_gauge', { k: 'a' }).value, -3.5);
	assert.strictEqual(sample(f, 'test_gauge', { k: 'b' }).value, 2);
	const now = sample(f, 'test_gauge', { k: 'now' }).value;
	assert.ok(now >= Math.floor(before) && now <= Date.now() / 1000 + 1, `${now}`);
	const t = sample(f, 'test_gauge', { k: 'timer' }).value;
	assert.ok(t >= 0.015 && Math.abs(t - took) < 1e-9, `${t} ${took}`);
	assert.throws(() => g0.set(), TypeError);
	assert.throws(() => g0.set('x'), TypeError);
	g0.set(Infinity);
	f = await scrape(reg);
	assert.strictEqual(sample(f, 'test_gauge0').value, 'inf');
	g.remove('a');
	g.remove('never-there'); // prom-client: a no-op
	f = await scrape(reg);
	assert.strictEqual(sample(f, 'test_gauge', { k: 'a' }), undefined);
	assert.strictEqual(sample(f, 'test_gauge', { k: 'b' }).value, 2);
});

test('histogram: buckets, sum, count, labels, startTimer, zero, le refused', async () => {
	const reg = new Registry();
	const h = new Histogram({ name: 'test_histogram', help: 'H', buckets: [0.5, 1, 5], labelNames: ['m'], registers: [reg] });
	h.observe({ m: 'a' }, 0.5);
	h.observe({ m: 'a' }, 3);
	h.labels('a').observe(10);
	h.zero({ m: 'z' });
	const end = h.startTimer({ m: 't' });
	end();
	const f = await scrape(reg);
	assert.strictEqual(sample(f, 'test_histogram_bucket', { m: 'a', le: '0.5' }).value, 1);
	assert.strictEqual(sample(f, 'test_histogram_bucket', { m: 'a', le: '1' }).value, 1);
	assert.strictEqual(sample(f, 'test_histogram_bucket', { m: 'a', le: '5' }).value, 2);
	assert.strictEqual(sample(f, 'test_histogram_bucket', { m: 'a', le: '+Inf' }).value, 3);
	assert.strictEqual(sample(f, 'test_histogram_sum', { m: 'a' }).value, 13.5);
	assert.strictEqual(sample(f, 'test_histogram_count', { m: 'a' }).value, 3);
	assert.strictEqual(sample(f, 'test_histogram_count', { m: 'z' }).value, 0);
	assert.strictEqual(sample(f, 'test_histogram_count', { m: 't' }).value, 1);
	const d = new Histogram({ name: 'test_default_buckets', help: 'H', registers: [reg] });
	d.observe(0.3);
	assert.strictEqual(sample(await scrape(reg), 'test_default_buckets_bucket', { le: '0.5' }).value, 1);
	assert.throws(() => new Histogram({ name: 'bad_le', help: 'H', labelNames: ['le'], registers: [reg] }), (e) => e.code === 'SONDE_EINVAL' && /le/.test(e.message));
	assert.throws(() => new Histogram({ name: 'bad_b', help: 'H', buckets: [2, 1, NaN], registers: [reg] }), RangeError);
	assert.throws(() => new Histogram({ name: 'bad_b2', help: 'H', buckets: 'x', registers: [reg] }), TypeError);
	assert.throws(() => h.observe({ m: 'a' }, NaN), RangeError);
	assert.throws(() => h.observe({ m: 'a' }), TypeError);
	assert.deepStrictEqual(sonde.linearBuckets(1, 2, 3), [1, 3, 5]);
	assert.deepStrictEqual(sonde.exponentialBuckets(1, 2, 3), [1, 2, 4]);
});

test('summary: percentiles, maxAgeSeconds, ageBuckets, quantile refused', async () => {
	const reg = new Registry();
	const s = new Summary({ name: 'test_summary', help: 'S', percentiles: [0.5, 0.9], maxAgeSeconds: 60, ageBuckets: 3, registers: [reg] });
	for (let i = 1; i <= 100; i++) s.observe(i);
	const f = await scrape(reg);
	const p50 = sample(f, 'test_summary', { quantile: '0.5' }).value;
	assert.ok(Math.abs(p50 - 50) / 50 < 0.01, `${p50}`);
	assert.strictEqual(sample(f, 'test_summary_count').value, 100);
	assert.strictEqual(sample(f, 'test_summary_sum').value, 5050);
	assert.throws(() => new Summary({ name: 'bad_q', help: 'S', labelNames: ['quantile'], registers: [reg] }), TypeError);
	assert.throws(() => new Summary({ name: 'bad_age', help: 'S', ageBuckets: 99, registers: [reg] }), RangeError);
	assert.throws(() => new Summary({ name: 'bad_p', help: 'S', percentiles: [0.9, 0.5], registers: [reg] }), (e) => e.code === 'SONDE_EINVAL');
});

test('collect callbacks run before the scrape (sync and async)', async () => {
	const reg = new Registry();
	let n = 0;
	new Gauge({ name: 'collected', help: 'c', registers: [reg], collect() { this.set(++n); } });
	new Gauge({ name: 'collected_async', help: 'c', registers: [reg], async collect() { await new Promise((r) => setTimeout(r, 5)); this.set(42); } });
	const f = await scrape(reg);
	assert.strictEqual(sample(f, 'collected').value, 1);
	assert.strictEqual(sample(f, 'collected_async').value, 42);
});

test('setDefaultLabels: every sample, the metric\'s own label wins, escaping', async () => {
	const reg = new Registry();
	const c = new Counter({ name: 'dl_total', help: 'h', labelNames: ['env'], registers: [reg] });
	const h = new Histogram({ name: 'dl_seconds', help: 'h', buckets: [1], registers: [reg] });
	reg.setDefaultLabels({ app: 'my "app"\\x', env: 'prod' });
	c.inc({ env: 'dev' });
	h.observe(0.5);
	const f = await scrape(reg);
	assert.deepStrictEqual(sample(f, 'dl_total').labels, { app: 'my "app"\\x', env: 'dev' });
	assert.deepStrictEqual(sample(f, 'dl_seconds_bucket', { le: '1' }).labels, { app: 'my "app"\\x', env: 'prod', le: '1' });
	assert.deepStrictEqual(sample(f, 'dl_seconds_sum').labels, { app: 'my "app"\\x', env: 'prod' });
	assert.throws(() => reg.setDefaultLabels({ 'bad-name': 'x' }), TypeError);
	const pt = promtool(await reg.metrics());
	if (!pt.skipped) assert.strictEqual(pt.status, 0, pt.output);
});

// A page over 16 KiB reaches V8 without a copy through V8's string
// factory when it is ASCII (an external string over a pooled buffer), and
// as a UTF-8 copy when a label value is not: both read back exactly, and
// an earlier page keeps its text while later scrapes reuse the buffers of
// collected ones.
test('large pages: ASCII and UTF-8, with default labels, stay intact across scrapes and GC', async () => {
	const reg = new Registry();
	const c = new Counter({ name: 'big_total', help: 'h', labelNames: ['id'], registers: [reg] });
	for (let i = 0; i < 2000; i++) c.inc({ id: `item-${i}` }, i + 1);
	const first = await reg.metrics();
	assert.ok(first.length > 32 * 1024, `page of ${first.length} bytes`);
	const kept = Buffer.from(first, 'utf8').toString('utf8'); // a copy of its own
	let f = parse(first);
	assert.strictEqual(family(f, 'big').samples.length, 2000);
	assert.strictEqual(sample(f, 'big_total', { id: 'item-1999' }).value, 2000);
	for (let k = 0; k < 30; k++) {
		c.inc({ id: 'item-0' });
		const page = await reg.metrics();
		assert.ok(page.includes(`big_total{id="item-0"} ${k + 2}\n`), `scrape ${k}`);
		if (global.gc) global.gc();
		await new Promise((r) => setImmediate(r));
	}
	assert.strictEqual(first, kept); // the first page never changed under it
	c.inc({ id: 'caf\u00e9-\u6f22\u5b57' }, 5); // now the page is not ASCII
	f = parse(await reg.metrics());
	assert.strictEqual(sample(f, 'big_total', { id: 'caf\u00e9-\u6f22\u5b57' }).value, 5);
	assert.strictEqual(family(f, 'big').samples.length, 2001);
	reg.setDefaultLabels({ app: 'a' });
	const relabeled = await reg.metrics();
	f = parse(relabeled);
	assert.deepStrictEqual(sample(f, 'big_total', { id: 'item-7' }).labels, { app: 'a', id: 'item-7' });
	const pt = promtool(relabeled);
	if (!pt.skipped) assert.strictEqual(pt.status, 0, pt.output);
});

test('OpenMetrics content type and exemplars, parsed by the OpenMetrics parser', async () => {
	const reg = new Registry(Registry.OPENMETRICS_CONTENT_TYPE);
	const c = new Counter({ name: 'om_requests', help: 'R', labelNames: ['m'], enableExemplars: true, registers: [reg] });
	const h = new Histogram({ name: 'om_seconds', help: 'S', buckets: [0.1, 1], enableExemplars: true, registers: [reg] });
	c.inc({ labels: { m: 'GET' }, value: 2, exemplarLabels: { trace_id: 'abc123' } });
	h.observe({ value: 0.5, exemplarLabels: { trace_id: 'def456' } });
	const text = await reg.metrics();
	assert.match(text, /# EOF\n$/);
	const f = parse(text, 'openmetrics');
	const s = sample(f, 'om_requests_total', { m: 'GET' });
	assert.strictEqual(s.value, 2);
	assert.deepStrictEqual(s.exemplar, { labels: { trace_id: 'abc123' }, value: 2 });
	const b = sample(f, 'om_seconds_bucket', { le: '1.0' });
	assert.deepStrictEqual(b.exemplar, { labels: { trace_id: 'def456' }, value: 0.5 });
	assert.throws(() => c.inc({ labels: { m: 'x' }, value: 1, exemplarLabels: { t: 'x'.repeat(200) } }), (e) => e.code === 'SONDE_ELIMIT' && e instanceof RangeError);
	assert.strictEqual(reg.contentType, 'application/openmetrics-text; version=1.0.0; charset=utf-8');
});

test('the default register and collectDefaultMetrics: sonde process metrics plus Node\'s, prom-client names', async () => {
	const h = sonde.collectDefaultMetrics();
	assert.strictEqual(sonde.collectDefaultMetrics(), h); // idempotent per registry
	// make garbage until the GC observer has reported a collection
	let f;
	for (let i = 0; i < 100; i++) {
		let junk = [];
		for (let j = 0; j < 20000; j++) junk.push({ j, s: 'x' + j });
		junk = null;
		await new Promise((r) => setTimeout(r, 10));
		f = await scrape(sonde.register);
		if (family(f, 'nodejs_gc_duration_seconds')) break;
	}
	for (const n of ['process_cpu_seconds', 'process_resident_memory_bytes', 'process_open_fds', 'process_start_time_seconds',
		'nodejs_eventloop_lag_seconds', 'nodejs_eventloop_lag_p99_seconds', 'nodejs_heap_size_used_bytes', 'nodejs_heap_space_size_used_bytes',
		'nodejs_external_memory_bytes', 'nodejs_version_info', 'nodejs_gc_duration_seconds', 'nodejs_active_handles_total'])
		assert.ok(family(f, n), `missing ${n}`);
	assert.ok(sample(f, 'nodejs_heap_size_used_bytes').value > 0);
	assert.ok(sample(f, 'process_resident_memory_bytes').value > 0);
	assert.strictEqual(sample(f, 'nodejs_version_info').labels.version, process.version);
	assert.ok(sample(f, 'nodejs_heap_space_size_used_bytes', { space: 'new' }));
	h.stop();
	// promtool's only complaint is a lint about prom-client's own names
	// (gauges named *_total), kept for drop-in compatibility
	const pt = promtool(await sonde.register.metrics());
	if (!pt.skipped) {
		const problems = pt.output.split('\n').filter((l) => l && !/^nodejs_active_(handles|requests)_total non-counter metrics should not have "_total" suffix$/.test(l));
		assert.deepStrictEqual(problems, []);
	}
});

test('native threads through the C API and JavaScript land in one exposition', async () => {
	const reg = new Registry();
	const c = new Counter({ name: 'mixed_total', help: 'JS and C', registers: [reg] });
	c.inc(5);
	const native = require('../lib/native');
	assert.strictEqual(native.cThreads(c._family, 4, 10000), 4);
	assert.strictEqual(sample(await scrape(reg), 'mixed_total').value, 40005);
});

test('counter increments are batched per event-loop turn and never lost', async () => {
	const reg = new Registry();
	const c = new Counter({ name: 'batched_total', help: 'h', registers: [reg] });
	const l = new Counter({ name: 'batched_labels_total', help: 'h', labelNames: ['a'], registers: [reg] });
	const direct = () => native.expose(reg._handle, 0, null); // libsonde's view, no flush
	for (let i = 0; i < 1000; i++) c.inc();
	c.inc(0.5);
	l.labels('x').inc(2);
	l.inc({ a: 'x' }, 3);
	// a JavaScript reader flushes first
	assert.strictEqual((await c.get()).values[0].value, 1000.5);
	assert.match(await reg.metrics(), /^batched_labels_total\{a="x"\} 5$/m);
	// a reader outside JavaScript sees them at the end of the turn
	c.inc(7);
	await new Promise((r) => setImmediate(r));
	assert.match(direct(), /^batched_total 1007.5$/m);
	// reset discards what was pending, later increments count
	c.inc(100);
	c.reset();
	c.inc(1);
	await new Promise((r) => setImmediate(r));
	assert.match(direct(), /^batched_total 1$/m);
	// remove() takes the child's pending increments with it
	l.labels('y').inc(4);
	l.remove('y');
	l.labels('y').inc(1);
	assert.match(await reg.metrics(), /^batched_labels_total\{a="y"\} 1$/m);
	// a refused increment leaves nothing pending
	assert.throws(() => c.inc(-1), RangeError);
	assert.throws(() => c.inc(NaN), RangeError);
	assert.throws(() => c.labels().inc(null), TypeError);
	assert.throws(() => c.labels().inc('2'), TypeError);
	assert.strictEqual((await c.get()).values[0].value, 1);
	// adding 0 hands nothing over; the next increment still reaches libsonde
	c.reset();
	c.inc(0);
	c.labels().inc(-0);
	c.inc(2);
	c.inc(0);
	c.inc(3);
	await new Promise((r) => setImmediate(r));
	assert.match(direct(), /^batched_total 5$/m);
	// +Inf is an increment like any other
	c.inc(Infinity);
	assert.strictEqual((await c.get()).values[0].value, Infinity);
});

test('counter.inc() without labels: through remove(), reset(), a registry move and a refusal', async () => {
	const a = new Registry();
	const b = new Registry();
	const c = new Counter({ name: 'own_total', help: 'h', registers: [a] });
	const direct = (r) => native.expose(r._handle, 0, null); // libsonde's view, no flush
	c.inc();
	c.inc();
	assert.match(await a.metrics(), /^own_total 2$/m);
	// remove() takes the series and what was pending; the next inc()
	// starts it again, as prom-client does
	c.inc();
	c.remove();
	assert.doesNotMatch(await a.metrics(), /^own_total /m);
	c.inc();
	c.labels().inc(2);
	assert.match(await a.metrics(), /^own_total 3$/m);
	// so does a gauge's
	const g = new Gauge({ name: 'own_gauge', help: 'h', registers: [a] });
	g.set(4);
	g.remove();
	assert.doesNotMatch(await a.metrics(), /^own_gauge /m);
	g.set(5);
	assert.match(await a.metrics(), /^own_gauge 5$/m);
	// reset() drops what was pending
	c.inc();
	c.reset();
	assert.match(await a.metrics(), /^own_total 0$/m);
	// pending when the metric moves: the family it leaves gets them
	c.inc();
	c.inc();
	a.removeSingleMetric('own_total');
	b.registerMetric(c);
	c.inc();
	await new Promise((r) => setImmediate(r));
	assert.match(direct(b), /^own_total 1$/m);
	assert.doesNotMatch(direct(a), /^own_total/m);
	// a counter with labels: inc() counts the series with empty values,
	// and the series made at the first inc() of a turn
	const l = new Counter({ name: 'own_labeled_total', help: 'h', labelNames: ['k'], registers: [a] });
	l.inc();
	l.inc();
	l.inc({ k: 'x' });
	const f = parse(await a.metrics());
	assert.strictEqual(sample(f, 'own_labeled_total', { k: '' }).value, 2);
	assert.strictEqual(sample(f, 'own_labeled_total', { k: 'x' }).value, 1);
	// a series that cannot be made (the family is at sonde's default
	// limit of 10 000 children): inc() throws, nothing stays pending
	const full = new Counter({ name: 'own_full_total', help: 'h', labelNames: ['k'], registers: [a] });
	for (let i = 0; i < 10000; i++) full.labels(String(i)).inc();
	assert.throws(() => full.inc(), RangeError);
	assert.strictEqual(full._p, 0);
	assert.throws(() => full.inc(), RangeError); // again: still refused, still nothing pending
	assert.strictEqual(full._p, 0);
	const values = (await full.get()).values;
	assert.strictEqual(values.length, 10000);
	assert.strictEqual(values.reduce((t, v) => t + v.value, 0), 10000);
});

test('counter increments pending at a worker thread\'s exit reach the registry', async () => {
	const { Worker } = require('worker_threads');
	const reg = require('..').register;
	const name = 'worker_exit_total';
	const code = `
		const sonde = require(${JSON.stringify(require.resolve('..'))});
		const c = new sonde.Counter({ name: ${JSON.stringify(name)}, help: 'h' });
		for (let i = 0; i < 5000; i++) c.inc();
		process.exit(0); // synchronously: the end-of-turn flush never runs, the exit hook does
	`;
	await new Promise((resolve, reject) => {
		const w = new Worker(code, { eval: true });
		w.on('error', reject);
		w.on('exit', resolve);
	});
	assert.match(await reg.metrics(), new RegExp(`^${name} 5000$`, 'm'));
});
