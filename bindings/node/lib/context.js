'use strict';
// The current trace context of JavaScript code: AsyncLocalStorage carries
// {ctx, span} across awaits, timers and callbacks. ctx is a Buffer holding
// sonde's sonde_span_context; it is handed to every native call that
// needs a context (log records, exemplars, child spans), since the C
// library's own per-thread context cannot follow async JavaScript.
const { AsyncLocalStorage } = require('async_hooks');

const als = new AsyncLocalStorage();

function currentStore() {
	return als.getStore();
}

function currentContext() {
	const s = als.getStore();
	return s ? s.ctx : null;
}

function traceIdOf(ctx) {
	return ctx ? ctx.toString('hex', 0, 16) : '';
}

function spanIdOf(ctx) {
	return ctx ? ctx.toString('hex', 16, 24) : '';
}

module.exports = { als, currentStore, currentContext, traceIdOf, spanIdOf };
