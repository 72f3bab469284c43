'use strict';
// One registry across worker_threads: every worker loads the addon (per
// environment instance data) and increments the same sonde counter; one
// scrape from the main thread shows the exact total.
const test = require('node:test');
const assert = require('node:assert');
const path = require('path');
const { Worker } = require('worker_threads');
const sonde = require('..');
const { parse, sample, promtool } = require('./helpers');

const WORKER = `
const { parentPort, workerData } = require('worker_threads');
const sonde = require(${JSON.stringify(path.join(__dirname, '..'))});
const c = new sonde.Counter({ name: 'worker_jobs_total', help: 'Jobs done by all threads.', labelNames: ['kind'] });
const plain = new sonde.Counter({ name: 'worker_ticks_total', help: 'Ticks.' });
const child = c.labels('a');
for (let i = 0; i < workerData.n; i++) {
	child.inc();
	c.inc({ kind: 'b' }, 2);
	plain.inc();
}
parentPort.postMessage('done');
`;

test('worker_threads: 8 workers increment one counter, one scrape shows the exact total', async () => {
	const workers = 8;
	const n = 25000;
	const main = new sonde.Counter({ name: 'worker_ticks_total', help: 'Ticks.' });
	main.inc(7);
	await Promise.all(
		Array.from({ length: workers }, () => new Promise((resolve, reject) => {
			const w = new Worker(WORKER, { eval: true, workerData: { n } });
			w.on('message', () => {});
			w.on('error', reject);
			w.on('exit', (code) => (code === 0 ? resolve() : reject(new Error(`worker exit ${code}`))));
		}))
	);
	const text = await sonde.register.metrics();
	const f = parse(text);
	assert.strictEqual(sample(f, 'worker_jobs_total', { kind: 'a' }).value, workers * n);
	assert.strictEqual(sample(f, 'worker_jobs_total', { kind: 'b' }).value, 2 * workers * n);
	assert.strictEqual(sample(f, 'worker_ticks_total').value, workers * n + 7);
	const pt = promtool(text.split('\n').filter((l) => !/nodejs_active_(handles|requests)_total/.test(l)).join('\n'));
	if (!pt.skipped) assert.strictEqual(pt.status, 0, pt.output);
	// the workers are gone; the registry and its counts stay
	const again = parse(await sonde.register.metrics());
	assert.strictEqual(sample(again, 'worker_ticks_total').value, workers * n + 7);
});

test('worker_threads: a worker that exits mid-way and one that throws leave the process working', async () => {
	const code = `
const sonde = require(${JSON.stringify(path.join(__dirname, '..'))});
const c = new sonde.Counter({ name: 'worker_crash_total', help: 'c' });
c.inc(3);
try { c.inc(-1) } catch (e) { if (!(e instanceof RangeError)) process.exit(9) }
require('worker_threads').parentPort.postMessage(sonde.register.contentType);
process.exit(0);
`;
	for (let i = 0; i < 3; i++) {
		await new Promise((resolve, reject) => {
			const w = new Worker(code, { eval: true });
			w.on('error', reject);
			w.on('exit', (c) => (c === 0 ? resolve() : reject(new Error(`exit ${c}`))));
		});
	}
	const f = parse(await sonde.register.metrics());
	assert.strictEqual(sample(f, 'worker_crash_total').value, 9);
});
