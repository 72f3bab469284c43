'use strict';
// collectDefaultMetrics(): sonde's process collector (process_cpu_seconds_total,
// process_resident_memory_bytes, process_virtual_memory_bytes, process_open_fds,
// process_max_fds, process_start_time_seconds, process_threads: read from /proc
// by libsonde at scrape time) plus Node's own metrics under prom-client's names.
const { monitorEventLoopDelay, PerformanceObserver, constants: perfConstants } = require('perf_hooks');
const v8 = require('v8');
const native = require('./native');
const { Gauge, Histogram, register: globalRegistry } = require('./metrics');

const GC_KINDS = {
	[perfConstants.NODE_PERFORMANCE_GC_MINOR]: 'minor',
	[perfConstants.NODE_PERFORMANCE_GC_MAJOR]: 'major',
	[perfConstants.NODE_PERFORMANCE_GC_INCREMENTAL]: 'incremental',
	[perfConstants.NODE_PERFORMANCE_GC_WEAKCB]: 'weakcb',
};

const started = new WeakMap();

function collectDefaultMetrics(config = {}) {
	if (config === null || typeof config !== 'object') throw new TypeError('collectDefaultMetrics takes an options object');
	const registry = config.register || globalRegistry;
	const prefix = config.prefix || '';
	const labels = config.labels || {};
	const labelNames = Object.keys(labels);
	if (started.has(registry)) return started.get(registry);
	const registers = [registry];
	const made = [];

	native.processCollector(registry._handle, true);

	const histogram = monitorEventLoopDelay({ resolution: config.eventLoopMonitoringPrecision || 10 });
	histogram.enable();
	const lagGauges = {};
	for (const [k, help] of [
		['min', 'The minimum recorded event loop delay.'],
		['max', 'The maximum recorded event loop delay.'],
		['mean', 'The mean of the recorded event loop delays.'],
		['stddev', 'The standard deviation of the recorded event loop delays.'],
		['p50', 'The 50th percentile of the recorded event loop delays.'],
		['p90', 'The 90th percentile of the recorded event loop delays.'],
		['p99', 'The 99th percentile of the recorded event loop delays.'],
	]) {
		lagGauges[k] = new Gauge({ name: `${prefix}nodejs_eventloop_lag_${k}_seconds`, help, labelNames, registers });
		made.push(lagGauges[k]);
	}
	const lag = new Gauge({
		name: `${prefix}nodejs_eventloop_lag_seconds`,
		help: 'Lag of event loop in seconds.',
		labelNames,
		registers,
		collect() {
			const start = process.hrtime.bigint();
			const h = histogram;
			const read = (v) => (Number.isFinite(v) ? v / 1e9 : 0);
			lagGauges.min.set(labels, read(h.min));
			lagGauges.max.set(labels, read(h.max));
			lagGauges.mean.set(labels, read(h.mean));
			lagGauges.stddev.set(labels, read(h.stddev));
			lagGauges.p50.set(labels, read(h.percentile(50)));
			lagGauges.p90.set(labels, read(h.percentile(90)));
			lagGauges.p99.set(labels, read(h.percentile(99)));
			h.reset();
			return new Promise((resolve) => {
				setImmediate(() => {
					this.set(labels, Number(process.hrtime.bigint() - start) / 1e9);
					resolve();
				});
			});
		},
	});
	made.push(lag);

	const mem = (name, help, pick) =>
		made.push(
			new Gauge({
				name: `${prefix}${name}`,
				help,
				labelNames,
				registers,
				collect() {
					this.set(labels, pick(process.memoryUsage()));
				},
			})
		);
	mem('nodejs_heap_size_total_bytes', 'Process heap size from Node.js in bytes.', (m) => m.heapTotal);
	mem('nodejs_heap_size_used_bytes', 'Process heap size used from Node.js in bytes.', (m) => m.heapUsed);
	mem('nodejs_external_memory_bytes', 'Node.js external memory size in bytes.', (m) => m.external);

	const spaceLabels = labelNames.concat(['space']);
	const spaces = {};
	for (const [k, help] of [
		['total', 'Process heap space size total from Node.js in bytes.'],
		['used', 'Process heap space size used from Node.js in bytes.'],
		['available', 'Process heap space size available from Node.js in bytes.'],
	]) {
		spaces[k] = new Gauge({ name: `${prefix}nodejs_heap_space_size_${k}_bytes`, help, labelNames: spaceLabels, registers });
		made.push(spaces[k]);
	}
	const spaceCollect = spaces.total;
	spaceCollect.collect = () => {
		for (const s of v8.getHeapSpaceStatistics()) {
			const l = { ...labels, space: s.space_name.replace(/_space$/, '') };
			spaces.total.set(l, s.space_size);
			spaces.used.set(l, s.space_used_size);
			spaces.available.set(l, s.space_available_size);
		}
	};

	made.push(
		new Gauge({
			name: `${prefix}nodejs_active_handles_total`,
			help: 'Total number of active handles.',
			labelNames,
			registers,
			collect() {
				const info = process.getActiveResourcesInfo ? process.getActiveResourcesInfo() : [];
				this.set(labels, info.length);
			},
		})
	);
	made.push(
		new Gauge({
			name: `${prefix}nodejs_active_requests_total`,
			help: 'Total number of active requests.',
			labelNames,
			registers,
			collect() {
				const info = process.getActiveResourcesInfo ? process.getActiveResourcesInfo() : [];
				this.set(labels, info.filter((t) => t.endsWith('ReqWrap') || t === 'FSReqCallback').length);
			},
		})
	);

	const [major, minor, patch] = process.versions.node.split('.');
	const version = new Gauge({
		name: `${prefix}nodejs_version_info`,
		help: 'Node.js version info.',
		labelNames: labelNames.concat(['version', 'major', 'minor', 'patch']),
		registers,
	});
	version.set({ ...labels, version: process.version, major, minor, patch }, 1);
	made.push(version);

	const gc = new Histogram({
		name: `${prefix}nodejs_gc_duration_seconds`,
		help: 'Garbage collection duration by kind, one of major, minor, incremental or weakcb.',
		labelNames: labelNames.concat(['kind']),
		buckets: config.gcDurationBuckets || [0.001, 0.01, 0.1, 1, 2, 5],
		registers,
	});
	made.push(gc);
	const obs = new PerformanceObserver((list) => {
		for (const e of list.getEntries()) {
			const kind = GC_KINDS[e.detail ? e.detail.kind : e.kind] || 'unknown';
			gc.observe({ ...labels, kind }, e.duration / 1000);
		}
	});
	obs.observe({ entryTypes: ['gc'] });

	const handle = {
		metrics: made,
		stop() {
			obs.disconnect();
			histogram.disable();
			started.delete(registry);
		},
	};
	started.set(registry, handle);
	return handle;
}

collectDefaultMetrics.metricsList = [
	'process_cpu_seconds_total',
	'process_resident_memory_bytes',
	'process_virtual_memory_bytes',
	'process_open_fds',
	'process_max_fds',
	'process_start_time_seconds',
	'process_threads',
	'nodejs_eventloop_lag_seconds',
	'nodejs_heap_size_total_bytes',
	'nodejs_heap_size_used_bytes',
	'nodejs_external_memory_bytes',
	'nodejs_heap_space_size_total_bytes',
	'nodejs_active_handles_total',
	'nodejs_active_requests_total',
	'nodejs_version_info',
	'nodejs_gc_duration_seconds',
];

module.exports = { collectDefaultMetrics };
