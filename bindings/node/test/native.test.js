'use strict';
// The addon's own entry points given wrong arguments of every kind: each
// call returns or throws a TypeError / RangeError / Error with a message;
// none crashes the process (this file would not finish).
const test = require('node:test');
const assert = require('node:assert');
const native = require('../lib/native');
const sonde = require('..');

test('every native function, every odd argument: an error, never a crash', async () => {
	const reg = new sonde.Registry();
	const c = new sonde.Counter({ name: 'robust_total', help: 'h', labelNames: ['a'], registers: [reg] });
	const log = sonde.createLogger({ file: '/dev/null', service: 'robust' });
	const span = sonde.trace.startSpan('robust');
	const handles = [reg._handle, c._family, log._h, span._h, new sonde.Health()._h];
	const odd = [undefined, null, 0, -1, NaN, Infinity, 2 ** 64, '', 'x', 'x'.repeat(1 << 17), '\u0000', {}, [], ['a', 1], [null], () => 1, Symbol('s'), 10n, Buffer.alloc(3), Buffer.alloc(native.contextSize), ...handles];
	let calls = 0;
	let threw = 0;
	for (const name of Object.keys(native)) {
		const fn = native[name];
		if (typeof fn !== 'function' || name === 'logFlush' || name === 'healthEvaluate') continue;
		for (const a of odd) {
			for (const b of [undefined, 'x', 1, [], handles[1]]) {
				calls++;
				try {
					fn(a, b, a);
				} catch (e) {
					threw++;
					assert.ok(e instanceof Error, `${name}: threw a non-Error`);
					assert.ok(typeof e.message === 'string' && e.message.length > 0, `${name}: empty message`);
				}
			}
		}
	}
	span.end();
	assert.ok(calls > 1000 && threw > calls / 2, `${calls} calls, ${threw} threw`);
	// (some of those calls were valid: familyUnregister took the family
	// out, and sonde now refuses new children of it, with its message)
	assert.throws(() => c.inc({ a: 'new' }), /unregistered/);
	// the process and the library still work
	const d = new sonde.Counter({ name: 'robust_after_total', help: 'h', labelNames: ['a'], registers: [reg] });
	d.inc({ a: 'ok' });
	assert.match(await reg.metrics(), /^robust_after_total\{a="ok"\} 1$/m);
});

test('a handle of one kind where another is expected is a TypeError', () => {
	const reg = new sonde.Registry();
	const c = new sonde.Counter({ name: 'kinds_total', help: 'h', registers: [reg] });
	const log = sonde.createLogger({ file: '/dev/null', service: 'kinds' });
	assert.throws(() => native.expose(c._family, 0, null), /not a sonde handle of this kind/);
	assert.throws(() => native.child(reg._handle, 1, []), TypeError);
	assert.throws(() => native.loggerWrite(c._family, 2, 'x', null), TypeError);
	assert.throws(() => native.spanEnd(log._h), TypeError);
	assert.throws(() => native.loggerWrite(log._h, 2, 'x', Buffer.alloc(5)), /not a sonde span context/);
});
