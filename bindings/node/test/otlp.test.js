'use strict';
// Spans from JavaScript over OTLP/HTTP to a stand-in collector
// (tests/otlp/otlp_receiver.py), decoded with the OpenTelemetry project's
// own definitions (tests/otlp/otlp_decode.js: the protobufjs root of
// @opentelemetry/otlp-transformer), in protobuf and in OTLP/JSON.
const test = require('node:test');
const assert = require('node:assert');
const fs = require('fs');
const os = require('os');
const path = require('path');
const { spawn, spawnSync } = require('child_process');
const sonde = require('..');

const OTLP = path.join(__dirname, '..', '..', '..', 'tests', 'otlp');
const HAVE = fs.existsSync(path.join(OTLP, 'node_modules', '@opentelemetry', 'otlp-transformer', 'package.json'));
const PY = process.env.PYTHON || '/usr/bin/python3';

function receiver(plan) {
	const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sonde-node-otlp-'));
	const proc = spawn(PY, [path.join(OTLP, 'otlp_receiver.py'), dir, plan], { stdio: ['ignore', 'pipe', 'inherit'] });
	return new Promise((resolve, reject) => {
		let out = '';
		proc.stdout.on('data', (d) => {
			out += d;
			const m = /port (\d+)/.exec(out);
			if (m) resolve({ proc, dir, url: `http://127.0.0.1:${m[1]}/v1/traces` });
		});
		proc.on('exit', (c) => reject(new Error(`receiver exited ${c}`)));
	});
}

// every saved request decoded: {file -> {path=value}} as lines
function decoded(dir, json) {
	const files = fs.readdirSync(dir).filter((f) => f.endsWith('.body')).sort().map((f) => path.join(dir, f));
	const args = [path.join(OTLP, 'otlp_decode.js'), 'traces', '--many'];
	if (json) args.push('--json');
	const r = spawnSync('node', args.concat(files), { encoding: 'utf8' });
	assert.strictEqual(r.status, 0, `decode failed: ${r.stdout}${r.stderr}`);
	return r.stdout.split('\n');
}

// the flattened fields of the spans named name (one request's spans are
// resourceSpans.0.scopeSpans.0.spans.N.*; attribute values as
// attributes[key].stringValue=...)
function spanFields(lines, name) {
	const byIdx = new Map();
	let req = '';
	for (const l of lines) {
		if (l.startsWith('== ')) {
			req = l;
			continue;
		}
		const m = /^resourceSpans\.0\.scopeSpans\.0\.spans\.(\d+)\.([^=]*)=(.*)$/.exec(l);
		if (!m) continue;
		const k = `${req}#${m[1]}`;
		if (!byIdx.has(k)) byIdx.set(k, {});
		byIdx.get(k)[m[2]] = m[3];
	}
	return [...byIdx.values()].filter((f) => f.name === name);
}

for (const protocol of ['http/protobuf', 'http/json']) {
	test(`otlp: spans from JavaScript reach a collector (${protocol})`, { skip: !HAVE && 'make otlp-deps first' }, async () => {
		const r = await receiver('200');
		try {
			sonde.otlp.setService('node-otlp-test', { version: '2.0.0' });
			assert.strictEqual(sonde.otlp.start({
				endpoint: r.url, protocol, headers: { 'x-tenant': 'acme' }, scheduleDelay: 50, maxExportBatchSize: 16,
			}), true);
			assert.strictEqual(sonde.otlp.running(), true);
			const before = sonde.otlp.stats().spansEnded;
			const t0 = Date.now() * 1e6;
			let parentId = null;
			let traceId = null;
			sonde.trace.startActiveSpan('GET /cart', { kind: 'server' }, (s) => {
				parentId = s.spanId;
				traceId = s.traceId;
				s.setAttributes({ 'http.route': '/cart', 'http.response.status_code': 503, ratio: 0.25, cached: false });
				const c = sonde.trace.startSpan('SELECT cart', { kind: 'client' });
				c.setAttribute('db.system', 'postgresql');
				c.end();
				s.recordException(new RangeError('cart too big'));
				s.setStatus({ code: 'error', message: 'upstream 503' });
				s.end();
			});
			sonde.otlp.flush(10000);
			sonde.otlp.shutdown(5000);
			const st = sonde.otlp.stats();
			assert.strictEqual(st.spansEnded - before, 2);
			assert.strictEqual(st.spansExported, st.spansEnded);
			const lines = decoded(r.dir, protocol === 'http/json');
			const [p] = spanFields(lines, 'GET /cart');
			const [c] = spanFields(lines, 'SELECT cart');
			assert.ok(p && c, lines.join('\n'));
			assert.strictEqual(p.traceId, traceId);
			assert.strictEqual(p.spanId, parentId);
			assert.strictEqual(c.traceId, traceId);
			assert.strictEqual(c.parentSpanId, parentId);
			assert.strictEqual(p.kind, '2'); // SPAN_KIND_SERVER
			assert.strictEqual(c.kind, '3'); // SPAN_KIND_CLIENT
			assert.strictEqual(p['attributes[http.route].stringValue'], '/cart');
			assert.strictEqual(p['attributes[http.response.status_code].intValue'], '503');
			assert.strictEqual(p['attributes[ratio].doubleValue'], '0.25');
			assert.strictEqual(p['attributes[cached].boolValue'], 'false');
			assert.strictEqual(c['attributes[db.system].stringValue'], 'postgresql');
			assert.strictEqual(p['status.code'], '2');
			assert.strictEqual(p['status.message'], 'upstream 503');
			assert.strictEqual(p['events.0.name'], 'exception');
			assert.strictEqual(p['events.0.attributes[exception.type].stringValue'], 'RangeError');
			assert.strictEqual(p['events.0.attributes[exception.message].stringValue'], 'cart too big');
			assert.match(p['events.0.attributes[exception.stacktrace].stringValue'], /RangeError: cart too big/);
			const start = BigInt(p.startTimeUnixNano);
			const end = BigInt(p.endTimeUnixNano);
			assert.ok(start >= BigInt(Math.floor(t0)) - 5000000n && end >= start);
			assert.ok(lines.includes('resourceSpans.0.resource.attributes[service.name].stringValue=node-otlp-test'), lines.join('\n'));
			assert.ok(lines.includes('resourceSpans.0.resource.attributes[service.version].stringValue=2.0.0'));
			assert.ok(lines.includes('resourceSpans.0.scopeSpans.0.scope.name=sonde'));
			const meta = fs.readFileSync(path.join(r.dir, 'req-0.meta'), 'utf8');
			assert.match(meta, /^x-tenant: acme$/m);
			assert.match(meta, protocol === 'http/json' ? /^content-type: application\/json$/m : /^content-type: application\/x-protobuf$/m);
		} finally {
			r.proc.kill();
			if (sonde.otlp.running()) sonde.otlp.shutdown(1000);
		}
	});
}

test('otlp: log records from createLogger({otlp: true}) reach a collector', { skip: !HAVE && 'make otlp-deps first' }, async () => {
	const r = await receiver('200');
	try {
		const logsUrl = r.url.replace('/v1/traces', '/v1/logs');
		assert.strictEqual(sonde.otlp.start({ endpoint: r.url, logsEndpoint: logsUrl, protocol: 'http/protobuf', scheduleDelay: 50 }), true);
		const before = sonde.otlp.stats();
		const log = sonde.createLogger({ service: 'node-logs', level: 'info', otlp: true, stream: 'none' });
		let traceId = null;
		let spanId = null;
		sonde.trace.startActiveSpan('req', (s) => {
			traceId = s.traceId;
			spanId = s.spanId;
			log.info('paid', { amount: 42, user: 'u1', ms: 1.5, ok: true });
			s.end();
		});
		log.warn('outside');
		log.debug('below the level');
		log.flush();
		sonde.otlp.flush(10000);
		const st = sonde.otlp.stats();
		const handed = st.logsHanded - before.logsHanded;
		assert.ok(handed >= 2, JSON.stringify(st));
		assert.strictEqual(st.logsExported - before.logsExported, handed);
		assert.strictEqual(st.logsDroppedQueueFull + st.logsDroppedRejected + st.logsDroppedFailed, 0);
		const files = fs.readdirSync(r.dir).filter((f) => f.endsWith('.meta'))
			.filter((f) => /^path: \/v1\/logs$/m.test(fs.readFileSync(path.join(r.dir, f), 'utf8')))
			.map((f) => path.join(r.dir, f.replace(/\.meta$/, '.body')));
		assert.ok(files.length > 0, 'no request on /v1/logs');
		const d = spawnSync('node', [path.join(OTLP, 'otlp_decode.js'), 'logs', '--many'].concat(files), { encoding: 'utf8' });
		assert.strictEqual(d.status, 0, `decode failed: ${d.stdout}${d.stderr}`);
		const byIdx = new Map();
		const scopes = new Set();
		let req = '';
		for (const l of d.stdout.split('\n')) {
			if (l.startsWith('== ')) {
				req = l;
				continue;
			}
			const sc = /^resourceLogs\.\d+\.scopeLogs\.\d+\.scope\.name=(.*)$/.exec(l);
			if (sc) scopes.add(sc[1]);
			const m = /^resourceLogs\.\d+\.scopeLogs\.(\d+)\.logRecords\.(\d+)\.([^=]*)=(.*)$/.exec(l);
			if (!m) continue;
			const k = `${req}#${m[1]}.${m[2]}`;
			if (!byIdx.has(k)) byIdx.set(k, {});
			byIdx.get(k)[m[3]] = m[4];
		}
		const recs = {};
		for (const f of byIdx.values()) recs[f['body.stringValue']] = f;
		assert.ok(scopes.has('node-logs'), d.stdout);
		assert.strictEqual(recs['below the level'], undefined);
		const paid = recs.paid;
		assert.ok(paid, d.stdout);
		assert.strictEqual(paid.severityNumber, '9');
		assert.strictEqual(paid.severityText, 'INFO');
		assert.strictEqual(paid.traceId, traceId);
		assert.strictEqual(paid.spanId, spanId);
		assert.strictEqual(paid['attributes[amount].intValue'], '42');
		assert.strictEqual(paid['attributes[user].stringValue'], 'u1');
		assert.strictEqual(paid['attributes[ms].doubleValue'], '1.5');
		assert.strictEqual(paid['attributes[ok].boolValue'], 'true');
		const outside = recs.outside;
		assert.ok(outside, d.stdout);
		assert.strictEqual(outside.severityNumber, '13');
		assert.strictEqual(outside.traceId, undefined);
		assert.throws(() => sonde.otlp.start({ logsEndpoint: 5 }), TypeError);
	} finally {
		r.proc.kill();
		if (sonde.otlp.running()) sonde.otlp.shutdown(1000);
	}
});

test('otlp: bad options throw before anything starts', () => {
	assert.throws(() => sonde.otlp.start(5), TypeError);
	assert.throws(() => sonde.otlp.start({ endpoint: 7 }), TypeError);
	assert.throws(() => sonde.otlp.start({ protocol: 'grpc' }), RangeError);
	assert.throws(() => sonde.otlp.start({ compression: 'zstd' }), RangeError);
	assert.throws(() => sonde.otlp.start({ timeout: -1 }), RangeError);
	assert.throws(() => sonde.otlp.start({ timeout: 1.5 }), RangeError);
	assert.throws(() => sonde.otlp.start({ maxQueueSize: '10' }), TypeError);
	assert.throws(() => sonde.otlp.start({ headers: { a: 1 } }), TypeError);
	assert.throws(() => sonde.otlp.start({ endpoint: 'http://x\u0000y' }), /NUL/);
	assert.throws(() => sonde.otlp.flush(-5), RangeError);
	assert.strictEqual(sonde.otlp.running(), false);
	// refused by libsonde: it says why, and runs with the default endpoint
	assert.throws(() => sonde.otlp.start({ endpoint: 'https://collector:4318' }), /https/);
	assert.strictEqual(sonde.otlp.running(), true);
	sonde.otlp.shutdown(1000);
	assert.strictEqual(sonde.otlp.running(), false);
});
