'use strict';
// winston's shape over sonde's logger: records go through sonde's rings
// and are written by its backend thread; the file is read back as JSON.
const test = require('node:test');
const assert = require('node:assert');
const fs = require('fs');
const os = require('os');
const path = require('path');
const sonde = require('..');

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sonde-node-log-'));
let seq = 0;

function newLogger(opts = {}) {
	const file = path.join(dir, `log${++seq}.jsonl`);
	const log = sonde.createLogger({ file, ...opts });
	return { log, read: () => { log.flush(); return fs.readFileSync(file, 'utf8').split('\n').filter(Boolean); } };
}

test.after(() => fs.rmSync(dir, { recursive: true, force: true }));

test('createLogger: levels, defaultMeta, typed meta, JSON lines from the backend', () => {
	const { log, read } = newLogger({ level: 'info', defaultMeta: { service: 'checkout', region: 'eu' } });
	log.info('request done', { status: 200, path: '/a', ms: 1.25, ok: true, big: 12345678901234567890n, obj: { a: [1, 2] }, when: new Date(0), gone: undefined });
	log.debug('not written');
	log.warn('careful');
	log.log('error', 'via log()', { code: 'E1' });
	log.log({ level: 'info', message: 'object form', user: 'u1' });
	log.http('an http line');
	const lines = read().map((l) => JSON.parse(l));
	assert.strictEqual(lines.length, 5);
	const [a, b, c, d, e] = lines;
	assert.strictEqual(a.message, 'request done');
	assert.strictEqual(a.level, 'info');
	assert.strictEqual(a.service, 'checkout');
	assert.strictEqual(a.region, 'eu');
	assert.strictEqual(a.status, 200);
	assert.strictEqual(a.path, '/a');
	assert.strictEqual(a.ms, 1.25);
	assert.strictEqual(a.ok, true);
	assert.strictEqual(a.obj, '{"a":[1,2]}');
	assert.strictEqual(a.when, '1970-01-01T00:00:00.000Z');
	assert.ok(!('gone' in a));
	assert.match(a['@timestamp'], /^\d{4}-\d\d-\d\dT/);
	assert.strictEqual(b.level, 'warn');
	assert.strictEqual(c.level, 'error');
	assert.strictEqual(c.code, 'E1');
	assert.strictEqual(d.message, 'object form');
	assert.strictEqual(d.user, 'u1');
	assert.strictEqual(e.level, 'info');
	assert.strictEqual(log.isLevelEnabled('debug'), false);
	log.level = 'debug';
	log.debug('now written');
	assert.strictEqual(JSON.parse(read()[5]).level, 'debug');
});

test('child(meta), Error objects with their stacks, many fields', () => {
	const { log, read } = newLogger({ service: 'api' });
	const child = log.child({ component: 'db', shard: 3 });
	const err = new TypeError('bad thing');
	child.error(err);
	child.error('query failed', { err, query: 'SELECT 1' });
	const many = {};
	for (let i = 0; i < 20; i++) many[`k${i}`] = i;
	log.info('many', many);
	const [a, b, c] = read().map((l) => JSON.parse(l));
	assert.strictEqual(a.component, 'db');
	assert.strictEqual(a.shard, 3);
	assert.strictEqual(a.message, 'bad thing');
	// one error field, as winston's errors({stack: true}) names its parts
	assert.strictEqual(a.error.type, 'TypeError');
	assert.strictEqual(a.error.message, 'bad thing');
	assert.match(a.error.stack, /TypeError: bad thing\n\s+at /);
	assert.strictEqual(b.message, 'query failed');
	assert.strictEqual(b.error.message, 'bad thing');
	assert.strictEqual(b.query, 'SELECT 1');
	assert.strictEqual(c.k0, 0);
	assert.strictEqual(c.k13, 13);
	assert.deepStrictEqual(JSON.parse(c.meta), Object.fromEntries(Array.from({ length: 6 }, (_, i) => [`k${i + 14}`, i + 14])));
});

test('logfmt format, redaction', () => {
	const { log, read } = newLogger({ service: 'fmt', format: sonde.format.logfmt(), redact: ['password'] });
	log.info('hello world', { user: 'bob', password: 'hunter2' });
	const [line] = read();
	assert.match(line, /level=info/);
	assert.match(line, /msg="hello world"|message="hello world"/);
	assert.match(line, /user=bob/);
	assert.doesNotMatch(line, /hunter2/);
});

test('the current trace id and span id on every record, across awaits', async () => {
	const { log, read } = newLogger({ service: 'traced' });
	let ids;
	await sonde.trace.withSpan('outer', async (span) => {
		ids = span.spanContext();
		await new Promise((r) => setTimeout(r, 5));
		log.info('inside');
		await Promise.resolve();
		setImmediate(() => log.info('in a callback'));
		await new Promise((r) => setImmediate(r));
	});
	log.info('outside');
	// sonde's own span log line goes to the process's default logger,
	// which may be this one: leave it out here
	const [a, b, c] = read().map((l) => JSON.parse(l)).filter((r) => r.message !== 'span');
	assert.strictEqual(a.trace_id, ids.traceId);
	assert.strictEqual(a.span_id, ids.spanId);
	assert.strictEqual(b.trace_id, ids.traceId);
	assert.strictEqual(c.trace_id, undefined);
});

test('bad input throws TypeError/RangeError, never crashes', () => {
	assert.throws(() => sonde.createLogger({ level: 'loud' }), TypeError);
	assert.throws(() => sonde.createLogger({ format: () => {} }), /backend thread/);
	assert.throws(() => sonde.createLogger({ service: '' }), (e) => e.code === 'SONDE_EINVAL');
	assert.throws(() => sonde.createLogger({ file: '/nonexistent-dir/x.log' }), (e) => e.code === 'SONDE_EIO');
	assert.throws(() => sonde.createLogger({ service: 7 }), TypeError);
	const { log, read } = newLogger({ service: 'bad' });
	assert.throws(() => log.log('nope', 'x'), TypeError);
	assert.throws(() => log.child(null), TypeError);
	assert.throws(() => log.info('x', { '': 1 }), (e) => e.code === 'SONDE_EINVAL');
	log.info('huge', { body: 'y'.repeat(10 << 20) }); // cut to fit the ring, flagged
	log.info(undefined);
	log.info(42);
	const lines = read().map((l) => JSON.parse(l));
	assert.strictEqual(lines[0].message, 'huge');
	assert.strictEqual(lines[0]._truncated, true);
	assert.ok(lines[0].body.length < 10 << 20);
	assert.strictEqual(lines[1].message, '');
	assert.strictEqual(lines[2].message, '42');
});

test('worker_threads log through the same backend', async () => {
	const { Worker } = require('worker_threads');
	const file = path.join(dir, 'workers.jsonl');
	const code = `
const { workerData } = require('worker_threads');
const sonde = require(${JSON.stringify(path.join(__dirname, '..'))});
const log = sonde.createLogger({ file: workerData.file, service: 'w' });
for (let i = 0; i < 100; i++) log.info('tick', { worker: workerData.id, i });
log.flush();
`;
	await Promise.all([1, 2, 3].map((id) => new Promise((res, rej) => {
		const w = new Worker(code, { eval: true, workerData: { file, id } });
		w.on('error', rej);
		w.on('exit', (c) => (c === 0 ? res() : rej(new Error(`exit ${c}`))));
	})));
	const lines = fs.readFileSync(file, 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l));
	assert.strictEqual(lines.length, 300);
	for (const id of [1, 2, 3]) {
		const mine = lines.filter((l) => l.worker === id).map((l) => l.i);
		assert.deepStrictEqual(mine, Array.from({ length: 100 }, (_, i) => i)); // each thread in order
	}
});

test('ecs, otel and console profiles; an Error as ECS error.* and OTel exception.*', () => {
	const err = new RangeError('too deep');
	{
		const { log, read } = newLogger({ service: 'ecs-svc', format: sonde.format.ecs() });
		log.error('failed', { err, user_id: 7 });
		const [r] = read().map((l) => JSON.parse(l));
		assert.strictEqual(r['log.level'], 'error');
		assert.strictEqual(r.message, 'failed');
		assert.ok(r['ecs.version']);
		assert.deepStrictEqual(r.service, { name: 'ecs-svc' });
		assert.strictEqual(r.error.type, 'RangeError');
		assert.strictEqual(r.error.message, 'too deep');
		assert.match(r.error.stack_trace, /RangeError: too deep\n\s+at /);
		assert.strictEqual(r.user_id, 7);
	}
	{
		const { log, read } = newLogger({ service: 'otel-svc', format: 'otel' });
		log.warn(err);
		const [r] = read().map((l) => JSON.parse(l));
		assert.strictEqual(r.severity_text, 'WARN');
		assert.strictEqual(r.severity_number, 13);
		assert.strictEqual(r.body, 'too deep');
		assert.strictEqual(r.attributes['exception.type'], 'RangeError');
		assert.match(r.attributes['exception.stacktrace'], /RangeError: too deep/);
		assert.deepStrictEqual(r.resource, { 'service.name': 'otel-svc' });
	}
	{
		const { log, read } = newLogger({ service: 'con', format: sonde.format.console() });
		log.info('hello', { a: 1 });
		const [line] = read();
		assert.match(line, /INFO\s+hello .*a=1/); // a file: no colour
		assert.doesNotMatch(line, /\x1b\[/);
	}
	assert.throws(() => sonde.createLogger({ format: 'yaml' }), TypeError);
	assert.throws(() => sonde.createLogger({ format: { sondeFormat: 9 } }), TypeError);
});
