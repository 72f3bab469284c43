'use strict';
// sonde for Node.js: prom-client shaped metrics, a winston shaped logger,
// trace context over AsyncLocalStorage, health checks and an HTTP
// middleware, all over libsonde (one registry and one logger per process,
// shared by every worker thread and native library).
const native = require('./lib/native');
const metrics = require('./lib/metrics');
const { collectDefaultMetrics } = require('./lib/defaults');

module.exports = {
	...metrics,
	collectDefaultMetrics,
	version: native.version(),
};

// the parts below load lazily: a metrics-only user pays for none of them
for (const [name, file] of [
	['createLogger', './lib/log'],
	['format', './lib/log'],
	['runWithContext', './lib/log'],
	['logContext', './lib/log'],
	['logSampledTotal', './lib/log'],
	['trace', './lib/trace'],
	['otlp', './lib/otlp'],
	['Health', './lib/health'],
	['middleware', './lib/http'],
	['metricsHandler', './lib/http'],
]) {
	Object.defineProperty(module.exports, name, {
		enumerable: true,
		get() {
			return require(file)[name];
		},
	});
}
