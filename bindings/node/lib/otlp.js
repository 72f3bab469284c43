'use strict';
// The OTLP/HTTP span exporter of libsonde (include/sonde/export.h): every
// sampled span ended in the process, by JavaScript, C or another binding,
// goes in batches to an OpenTelemetry Collector, Jaeger or anything that
// takes OTLP over HTTP, from a libsonde thread (the event loop never waits
// on the network).
//
//   const { otlp, trace } = require('sonde');
//   otlp.setService('checkout', { version: '1.4.2', environment: 'prod' });
//   otlp.start({ endpoint: 'http://localhost:4318/v1/traces' });
//   ...
//   otlp.shutdown(2000); // at most 2 s, then what is left is dropped
//
// start() with no options takes everything from the OTEL_* variables
// (OTEL_EXPORTER_OTLP_ENDPOINT, OTEL_SERVICE_NAME, OTEL_BSP_*, ...); an
// option given overrides its variable. Times are in milliseconds. It returns
// false when OTEL_SDK_DISABLED, or OTEL_TRACES_EXPORTER=none together with
// OTEL_LOGS_EXPORTER=none, keep it off.
// Errors: a bad option (wrong type, negative or fractional number, unknown
// protocol or compression, a NUL in a string) throws a TypeError or
// RangeError and nothing starts; a value libsonde refuses (an https:// or
// malformed endpoint, a bad OTEL_* variable, a batch above the queue size)
// throws its message after the exporter started with the default in its
// place (running() is then true). flush() and shutdown() block the calling
// thread for at most their timeout. One exporter per process: the one C
// code and the other bindings use.
// Log records: createLogger({ otlp: true }) (log.js) sends a logger's
// records to the logs endpoint as OTLP LogRecords (logsEndpoint, else
// OTEL_EXPORTER_OTLP_LOGS_ENDPOINT, else OTEL_EXPORTER_OTLP_ENDPOINT +
// '/v1/logs', else http://localhost:4318/v1/logs), encoded on sonde's
// backend thread; stats() counts them (logsHanded, logsExported,
// logsDropped*). Flush the logger (flush() of log.js) before otlp.flush().
const native = require('./native');

const PROTOCOL = { 'http/protobuf': 1, 'http/json': 2 };
const COMPRESSION = { none: 1, gzip: 2 };
const INTS = ['timeout', 'protocol', 'compression', 'scheduleDelay', 'exportTimeout',
	'maxQueueSize', 'maxExportBatchSize', 'retryInitial', 'retryMax'];

function count(opts, k) {
	const v = opts[k];
	if (v === undefined || v === null) return 0;
	if (typeof v !== 'number') throw new TypeError(`otlp: ${k} must be a number, got ${typeof v}`);
	if (!Number.isInteger(v) || v <= 0 || v > 2147483647) throw new RangeError(`otlp: ${k} must be an integer in [1, 2^31), got ${v}`);
	return v;
}

function choice(opts, k, table) {
	const v = opts[k];
	if (v === undefined || v === null) return 0;
	if (typeof v !== 'string' || !(v.toLowerCase() in table)) {
		throw new RangeError(`otlp: ${k} must be one of ${Object.keys(table).join(', ')}, got ${String(v)}`);
	}
	return table[v.toLowerCase()];
}

function start(opts = {}) {
	if (opts === null || typeof opts !== 'object') throw new TypeError('otlp: options must be an object');
	const endpoint = opts.endpoint === undefined ? null : opts.endpoint;
	if (endpoint !== null && typeof endpoint !== 'string') throw new TypeError('otlp: endpoint must be a string');
	const headers = opts.headers || {};
	if (typeof headers !== 'object') throw new TypeError('otlp: headers must be an object of strings');
	const names = Object.keys(headers);
	const values = names.map((k) => {
		if (typeof headers[k] !== 'string') throw new TypeError(`otlp: header ${k} must be a string`);
		return headers[k];
	});
	const ints = INTS.map((k) => k === 'protocol' ? choice(opts, k, PROTOCOL)
		: k === 'compression' ? choice(opts, k, COMPRESSION) : count(opts, k));
	const logsEndpoint = opts.logsEndpoint === undefined ? null : opts.logsEndpoint;
	if (logsEndpoint !== null && typeof logsEndpoint !== 'string') throw new TypeError('otlp: logsEndpoint must be a string');
	return native.otlpStart(endpoint, names, values, ints, logsEndpoint);
}

function timeoutOf(ms) {
	if (ms === undefined) return 5000;
	if (typeof ms !== 'number' || Number.isNaN(ms) || ms < 0) throw new RangeError('otlp: timeout must be a number of ms >= 0');
	return Math.min(Math.floor(ms), 2147483647);
}

function setService(name, { version, environment } = {}) {
	native.resourceService(name === undefined ? null : name, version === undefined ? null : version,
		environment === undefined ? null : environment);
}

module.exports.otlp = {
	start,
	running: () => native.otlpRunning(),
	flush: (ms) => native.otlpFlush(timeoutOf(ms)),
	shutdown: (ms) => native.otlpShutdown(timeoutOf(ms)),
	stats: () => native.otlpStats(),
	setService,
};
