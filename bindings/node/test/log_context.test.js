'use strict';
// Scoped context fields (runWithContext, AsyncLocalStorage-shaped, mapped
// onto the C scope around each synchronous write) and call-site sampling:
// lines written by sonde's backend, read back and parsed as JSON.
const test = require('node:test');
const assert = require('node:assert');
const fs = require('fs');
const os = require('os');
const path = require('path');
const sonde = require('..');

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sonde-node-ctx-'));
let seq = 0;

function newLogger(opts = {}) {
	const file = path.join(dir, `log${++seq}.jsonl`);
	const log = sonde.createLogger({ file, ...opts });
	const read = () => {
		log.flush();
		return fs.readFileSync(file, 'utf8').split('\n').filter(Boolean);
	};
	return { log, read };
}

// the line without its timestamp, keys in their order
const tail = (l) => l.slice(l.indexOf('"level"'));

test.after(() => fs.rmSync(dir, { recursive: true, force: true }));

test('runWithContext: nested, inner wins, call wins, across awaits and timers', async () => {
	const { log, read } = newLogger({ service: 'svc' });
	log.info('before');
	await sonde.runWithContext({ user_id: 'u1', tenant: 7 }, async () => {
		log.info('outer', { items: 3 });
		assert.deepStrictEqual(sonde.logContext(), { user_id: 'u1', tenant: 7 });
		await new Promise((r) => setTimeout(r, 5));
		sonde.runWithContext({ user_id: 'u2', session_id: 's9' }, () => {
			log.info('inner', { tenant: 8 });
		});
		await null;
		log.warn('after await');
	});
	log.info('after');
	assert.deepStrictEqual(read().map(tail), [
		'"level":"info","message":"before","service":"svc"}',
		'"level":"info","message":"outer","service":"svc","user_id":"u1","tenant":7,"items":3}',
		'"level":"info","message":"inner","service":"svc","user_id":"u2","session_id":"s9","tenant":8}',
		'"level":"warn","message":"after await","service":"svc","user_id":"u1","tenant":7}',
		'"level":"info","message":"after","service":"svc"}',
	]);
});

test('runWithContext: concurrent async tasks each see their own', async () => {
	const { log, read } = newLogger({ service: 'svc' });
	const task = (n) => sonde.runWithContext({ request_id: `r${n}` }, async () => {
		for (let i = 0; i < 5; i++) {
			await new Promise((r) => setImmediate(r));
			log.info('step', { n });
		}
	});
	await Promise.all([0, 1, 2, 3].map(task));
	const recs = read().map((l) => JSON.parse(l));
	assert.strictEqual(recs.length, 20);
	for (const r of recs) assert.strictEqual(r.request_id, `r${r.n}`);
});

test('runWithContext: refusals at entry, nothing left pushed', () => {
	assert.throws(() => sonde.runWithContext({ '': 1 }, () => {}), (e) => e instanceof TypeError && e.code === 'SONDE_EINVAL');
	assert.throws(() => sonde.runWithContext({ ['k'.repeat(65)]: 1 }, () => {}), (e) => e.code === 'SONDE_EINVAL');
	assert.throws(() => sonde.runWithContext({ big: 'x'.repeat(2000) }, () => {}), (e) => e instanceof RangeError && e.code === 'SONDE_ELIMIT');
	const many = {};
	for (let i = 0; i < 17; i++) many[`k${i}`] = i;
	assert.throws(() => sonde.runWithContext(many, () => {}), (e) => e.code === 'SONDE_ELIMIT');
	assert.throws(() => sonde.runWithContext(null, () => {}), TypeError);
	assert.throws(() => sonde.runWithContext({}, null), TypeError);
	// 16 keys across two levels fit
	const a = {}, b = {};
	for (let i = 0; i < 8; i++) { a[`a${i}`] = i; b[`b${i}`] = i; }
	const { log, read } = newLogger({ service: 'svc' });
	sonde.runWithContext(a, () => sonde.runWithContext(b, () => log.info('sixteen')));
	log.info('none');
	const [x, y] = read().map((l) => JSON.parse(l));
	assert.strictEqual(x.a0, 0);
	assert.strictEqual(x.b7, 7);
	assert.strictEqual(y.a0, undefined);
	assert.strictEqual(sonde.runWithContext({ v: 1 }, (p, q) => p + q, 2, 3), 5);
});

test('sampling: first N then 1 in M per call site, errors untouched, counted', () => {
	const before = sonde.logSampledTotal('info');
	const errBefore = sonde.logSampledTotal('error');
	const { log, read } = newLogger({ service: 'svc', sample: { first: 2, thereafter: 5, intervalMs: 0xffffffff } });
	for (let i = 1; i <= 12; i++) log.info('hot', { i });
	for (let i = 0; i < 3; i++) log.error('bad');
	const recs = read().map((l) => JSON.parse(l));
	assert.deepStrictEqual(recs.filter((r) => r.message === 'hot').map((r) => r.i), [1, 2, 7, 12]);
	assert.strictEqual(recs.filter((r) => r.message === 'bad').length, 3);
	assert.strictEqual(sonde.logSampledTotal('info') - before, 8);
	assert.strictEqual(sonde.logSampledTotal('error') - errBefore, 0);
	assert.throws(() => sonde.createLogger({ sample: { first: -1 } }), RangeError);
});
