'use strict';
// bench.js - sonde's Node binding beside prom-client and winston / pino,
// installed from npm (`npm install` in bindings/node), in the same run:
// each row times both sides in alternation (best of several rounds) and
// prints the ratio baseline / sonde (above 1: sonde is faster).
//   node bench.js            (make bench-node)
const fs = require('fs');
const os = require('os');
const path = require('path');
const sonde = require('.');

function need(name) {
	try {
		return require(name);
	} catch (e) {
		console.error(`bench.js: ${name} is not installed: run npm install in bindings/node`);
		process.exit(2);
	}
}
const prom = need('prom-client');
const winston = need('winston');
const pino = need('pino');

const ROUNDS = 7;

// ns per call of fn, best of `rounds` rounds of n calls (the first rounds
// warm the JIT up)
function perCall(fn, n, between, rounds = ROUNDS) {
	let best = Infinity;
	for (let r = 0; r < rounds; r++) {
		const t0 = process.hrtime.bigint();
		fn(n);
		const ns = Number(process.hrtime.bigint() - t0) / n;
		if (ns < best) best = ns;
		if (between) between();
	}
	return best;
}

async function perCallAsync(fn, n) {
	let best = Infinity;
	for (let r = 0; r < ROUNDS; r++) {
		const t0 = process.hrtime.bigint();
		for (let i = 0; i < n; i++) await fn();
		const ns = Number(process.hrtime.bigint() - t0) / n;
		if (ns < best) best = ns;
	}
	return best;
}

const rows = [];
function row(name, unit, sondeNs, baseName, baseNs) {
	rows.push({ name, unit, sondeNs, baseName, baseNs });
}

function fmt(ns, unit) {
	return unit === 'ms' ? `${(ns / 1e6).toFixed(2)} ms` : `${ns.toFixed(1)} ns`;
}

async function main() {
	const N = 2_000_000;
	// counter inc
	{
		const sr = new sonde.Registry();
		const pr = new prom.Registry();
		const sc = new sonde.Counter({ name: 'b_inc_total', help: 'h', registers: [sr] });
		const pc = new prom.Counter({ name: 'b_inc_total', help: 'h', registers: [pr] });
		const a = perCall((n) => { for (let i = 0; i < n; i++) sc.inc(); }, N);
		const b = perCall((n) => { for (let i = 0; i < n; i++) pc.inc(); }, N);
		row('counter inc()', 'ns', a, 'prom-client', b);
	}
	// labels().inc
	{
		const sr = new sonde.Registry();
		const pr = new prom.Registry();
		const sc = new sonde.Counter({ name: 'b_lab_total', help: 'h', labelNames: ['method', 'code'], registers: [sr] });
		const pc = new prom.Counter({ name: 'b_lab_total', help: 'h', labelNames: ['method', 'code'], registers: [pr] });
		const a = perCall((n) => { for (let i = 0; i < n; i++) sc.labels('GET', '200').inc(); }, N);
		const b = perCall((n) => { for (let i = 0; i < n; i++) pc.labels('GET', '200').inc(); }, N);
		row("labels('GET','200').inc()", 'ns', a, 'prom-client', b);
		const a2 = perCall((n) => { for (let i = 0; i < n; i++) sc.inc({ method: 'GET', code: '200' }); }, N);
		const b2 = perCall((n) => { for (let i = 0; i < n; i++) pc.inc({ method: 'GET', code: '200' }); }, N);
		row('inc({method, code})', 'ns', a2, 'prom-client', b2);
	}
	// histogram observe
	{
		const sr = new sonde.Registry();
		const pr = new prom.Registry();
		const sh = new sonde.Histogram({ name: 'b_h_seconds', help: 'h', registers: [sr] });
		const ph = new prom.Histogram({ name: 'b_h_seconds', help: 'h', registers: [pr] });
		const a = perCall((n) => { for (let i = 0; i < n; i++) sh.observe((i & 1023) / 1000); }, N);
		const b = perCall((n) => { for (let i = 0; i < n; i++) ph.observe((i & 1023) / 1000); }, N);
		row('histogram observe(v)', 'ns', a, 'prom-client', b);
	}
	// scrape of 10 000 series
	{
		const sr = new sonde.Registry();
		const pr = new prom.Registry();
		const sc = new sonde.Counter({ name: 'b_series_total', help: 'h', labelNames: ['id', 'kind'], registers: [sr] });
		const pc = new prom.Counter({ name: 'b_series_total', help: 'h', labelNames: ['id', 'kind'], registers: [pr] });
		for (let i = 0; i < 10000; i++) {
			sc.inc({ id: String(i), kind: 'k' + (i % 7) }, i);
			pc.inc({ id: String(i), kind: 'k' + (i % 7) }, i);
		}
		const st = await sr.metrics();
		const pt = await pr.metrics();
		if (st.split('\n').length !== pt.split('\n').length) throw new Error('the two pages differ in lines');
		const a = await perCallAsync(() => sr.metrics(), 20);
		const b = await perCallAsync(() => pr.metrics(), 20);
		row('register.metrics(), 10 000 series', 'ms', a, 'prom-client', b);
	}
	// a log call with three fields, measured on the calling thread; the
	// writers drain between rounds (not timed): sonde's backend thread,
	// pino's and winston's streams
	{
		const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sonde-bench-'));
		const sl = sonde.createLogger({ file: '/dev/null', service: 'bench' });
		const pdest = pino.destination({ dest: '/dev/null', sync: false, minLength: 4096 });
		await new Promise((r) => pdest.once('ready', r));
		const pl = pino({ base: { service: 'bench' } }, pdest);
		const wl = winston.createLogger({ level: 'info', format: winston.format.json(), defaultMeta: { service: 'bench' },
			transports: [new winston.transports.Stream({ stream: fs.createWriteStream('/dev/null') })] });
		const BATCH = 500; // below what one ring holds, so nothing is dropped
		const LR = 80; // rounds: small batches, so more of them to warm up
		const before = require('./lib/log').logStats().dropped;
		const a = perCall((n) => { for (let i = 0; i < n; i++) sl.info('request done', { status: 200, path: '/a/b', ms: 1.25 }); }, BATCH, () => sl.flush(), LR);
		const b = perCall((n) => { for (let i = 0; i < n; i++) pl.info({ status: 200, path: '/a/b', ms: 1.25 }, 'request done'); }, BATCH, () => pdest.flushSync(), LR);
		const c = perCall((n) => { for (let i = 0; i < n; i++) wl.info('request done', { status: 200, path: '/a/b', ms: 1.25 }); }, BATCH, null, LR);
		const dropped = require('./lib/log').logStats().dropped - before;
		row('log call, 3 fields', 'ns', a, 'pino', b);
		row('log call, 3 fields', 'ns', a, 'winston', c);
		if (dropped !== 0) console.log(`note: sonde dropped ${dropped} records (ring full): the log row is not valid`);
		fs.rmSync(dir, { recursive: true, force: true });
	}
	console.log(`sonde ${sonde.version}, node ${process.version}, prom-client ${require('prom-client/package.json').version}, pino ${require('pino/package.json').version}, winston ${require('winston/package.json').version}`);
	console.log('| operation | sonde | baseline | baseline time | ratio (baseline / sonde) |');
	console.log('|---|---|---|---|---|');
	for (const r of rows) console.log(`| ${r.name} | ${fmt(r.sondeNs, r.unit)} | ${r.baseName} | ${fmt(r.baseNs, r.unit)} | ${(r.baseNs / r.sondeNs).toFixed(2)}x |`);
}

main().catch((e) => {
	console.error(e);
	process.exit(1);
});
