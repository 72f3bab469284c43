'use strict';
// prom-client's API over sonde's registry: a service switches by changing
// its import. Every metric is a sonde family in a process-wide registry, so
// worker_threads and native code of the process write the same per-thread
// cells and one scrape sees all of them.
const native = require('./native');
const { currentContext, traceIdOf, spanIdOf } = require('./context');

const TYPE = { counter: 1, gauge: 2, histogram: 3, summary: 4 };
const PROMETHEUS_CONTENT_TYPE = 'text/plain; version=0.0.4; charset=utf-8';
const OPENMETRICS_CONTENT_TYPE = 'application/openmetrics-text; version=1.0.0; charset=utf-8';
const LABEL_NAME = /^[a-zA-Z_][a-zA-Z0-9_]*$/;

function labelValue(v, name) {
	switch (typeof v) {
	case 'string':
		return v;
	case 'number':
	case 'bigint':
	case 'boolean':
		return String(v);
	case 'undefined':
		return ''; // an absent label: the empty value, as Prometheus reads it
	default:
		throw new TypeError(`label "${name}" must be a string or a number, got ${v === null ? 'null' : typeof v}`);
	}
}

// ---- counter increments, batched per event-loop turn ----
// A native call through N-API costs about 20 ns; prom-client's increment is
// a JavaScript add. So an increment adds to the child's pending sum in
// JavaScript (counter.inc() without labels: the metric's own, Metric._p),
// and the children with a pending sum are handed to libsonde
// (one native add each) when anything reads them (get(), every registry
// rendering), at the end of the current event-loop turn (setImmediate), and
// at the thread's exit. A reader outside JavaScript (a C exporter thread of
// the process) sees a thread's increments at most one turn of its event
// loop late; a thread killed mid-turn (worker.terminate() during a
// synchronous loop) loses that turn's increments.
const pendingChildren = [];
let flushScheduled = false;

function flushIncrements() {
	flushScheduled = false;
	for (let i = 0; i < pendingChildren.length; i++) {
		const c = pendingChildren[i];
		const v = c._p;
		c._p = 0;
		if (v !== 0) c._n.add(v);
	}
	pendingChildren.length = 0;
}
process.on('exit', flushIncrements);

function queueIncrement(c) {
	pendingChildren.push(c);
	if (!flushScheduled) {
		flushScheduled = true;
		setImmediate(flushIncrements);
	}
}

// the native add's refusals, before the value is queued
function checkIncrement(v) {
	if (typeof v !== 'number') {
		const e = new TypeError(`counter increment must be a number, got ${v === null ? 'null' : typeof v}`);
		e.code = 'ERR_INVALID_ARG_TYPE';
		throw e;
	}
	if (Number.isNaN(v)) throw new RangeError('counter increment must be a number, got nan');
	if (v < 0) throw new RangeError('counter increment must not be negative: a counter only goes up (use a Gauge)');
	return v;
}

function childKey(values) {
	if (values.length === 0) return '';
	for (const v of values) if (v.indexOf('\u0000') >= 0) return 's' + JSON.stringify(values);
	return 'j' + values.join('\u0000');
}

function escapeLabelValue(v) {
	return v.replace(/\\/g, '\\\\').replace(/\n/g, '\\n').replace(/"/g, '\\"');
}

class Registry {
	constructor(regContentType = PROMETHEUS_CONTENT_TYPE, handle) {
		Registry._checkContentType(regContentType);
		this._contentType = regContentType;
		this._handle = handle || native.registry('new');
		this._metrics = new Map();
		this._defaultLabels = null;
		this._defaultLabelsObj = {};
	}

	static _checkContentType(t) {
		if (t !== PROMETHEUS_CONTENT_TYPE && t !== OPENMETRICS_CONTENT_TYPE)
			throw new TypeError(`Content type ${t} is unsupported`);
	}

	get contentType() {
		return this._contentType;
	}

	setContentType(t) {
		Registry._checkContentType(t);
		this._contentType = t;
	}

	registerMetric(metric) {
		if (!(metric instanceof Metric)) throw new TypeError('registerMetric: not a sonde metric');
		const had = this._metrics.get(metric.name);
		if (had && had !== metric)
			throw new Error(`A metric with the name ${metric.name} has already been registered.`);
		if (had) return;
		metric._attach(this);
		this._metrics.set(metric.name, metric);
	}

	getSingleMetric(name) {
		return this._metrics.get(name);
	}

	getMetricsAsArray() {
		return Array.from(this._metrics.values());
	}

	async getMetricsAsJSON() {
		return Promise.all(this.getMetricsAsArray().map((m) => m.get()));
	}

	removeSingleMetric(name) {
		const m = this._metrics.get(name);
		if (!m) return;
		this._metrics.delete(name);
		native.familyUnregister(this._handle, m._family);
		m._detach();
	}

	clear() {
		for (const name of Array.from(this._metrics.keys())) this.removeSingleMetric(name);
		this._defaultLabels = null;
		this._defaultLabelsObj = {};
	}

	resetMetrics() {
		for (const m of this._metrics.values()) m.reset();
	}

	// sonde has no registry-wide labels: these are added to every sample
	// of the text rendering (one pass in C); a metric's own label of the
	// same name wins, as in prom-client.
	setDefaultLabels(labels) {
		if (labels === null || typeof labels !== 'object') throw new TypeError('setDefaultLabels takes an object');
		const kv = [];
		for (const [k, v] of Object.entries(labels)) {
			if (!LABEL_NAME.test(k) || k.startsWith('__')) throw new TypeError(`Invalid label name: ${k}`);
			kv.push(k, escapeLabelValue(labelValue(v, k)));
		}
		if (kv.length > 64) throw new RangeError('at most 32 default labels');
		this._defaultLabels = kv.length ? kv : null;
		this._defaultLabelsObj = { ...labels };
	}

	async _collect() {
		const pending = [];
		for (const m of this._metrics.values()) {
			if (typeof m.collect === 'function') {
				const r = m.collect();
				if (r && typeof r.then === 'function') pending.push(r);
			}
		}
		if (pending.length) await Promise.all(pending);
	}

	async metrics() {
		await this._collect();
		return this._render(this._contentType === OPENMETRICS_CONTENT_TYPE ? 1 : 0);
	}

	_render(format) {
		flushIncrements();
		return native.expose(this._handle, format, this._defaultLabels);
	}

	// For a /metrics handler: the format the Accept header asks for.
	async metricsFor(accept) {
		await this._collect();
		const [fmt, contentType] = native.negotiate(accept === undefined ? null : accept);
		return { contentType, body: this._render(fmt) };
	}

	async getSingleMetricAsString(name) {
		const m = this._metrics.get(name);
		if (!m) return '';
		if (typeof m.collect === 'function') await m.collect();
		const text = this._render(this._contentType === OPENMETRICS_CONTENT_TYPE ? 1 : 0);
		const out = [];
		let keep = false;
		for (const line of text.split('\n')) {
			const meta = /^# (HELP|TYPE|UNIT) (\S+)/.exec(line);
			if (meta) keep = meta[2] === m._exposedName(meta[2]);
			if (keep && line !== '# EOF') out.push(line);
		}
		return out.join('\n');
	}

	static merge() {
		throw new Error('Registry.merge is not needed with sonde: every thread of the process writes one registry');
	}
}
Registry.PROMETHEUS_CONTENT_TYPE = PROMETHEUS_CONTENT_TYPE;
Registry.OPENMETRICS_CONTENT_TYPE = OPENMETRICS_CONTENT_TYPE;

const globalRegistry = new Registry(PROMETHEUS_CONTENT_TYPE, native.registry('default'));

class Metric {
	constructor(config, type, extra) {
		// counter.inc() without labels adds to _p, the metric's own pending
		// sum (on the hot path one object fewer than the child's), and the
		// flush hands it to _n, the native handle of the series without
		// labels, found at the first inc() of a turn (null: not yet)
		this._p = 0;
		this._n = null;
		if (config === null || typeof config !== 'object') throw new TypeError('metric configuration must be an object');
		const { name, help, labelNames = [], registers, collect, enableExemplars = false } = config;
		if (typeof name !== 'string') throw new TypeError('Missing mandatory name parameter');
		if (typeof help !== 'string') throw new TypeError('Missing mandatory help parameter');
		if (!Array.isArray(labelNames)) throw new TypeError('labelNames must be an array');
		if (collect !== undefined && typeof collect !== 'function') throw new TypeError('collect must be a function');
		if (registers !== undefined && !Array.isArray(registers)) throw new TypeError('registers must be an array');
		this.name = name;
		this.help = help;
		this.labelNames = labelNames.slice();
		this.type = type;
		this.collect = collect;
		this.enableExemplars = !!enableExemplars;
		this.aggregator = config.aggregator || 'sum';
		this._opts = { type: TYPE[type], name, help, labelNames: this.labelNames, ...extra };
		this._children = new Map();
		this._registry = null;
		this._family = null;
		this._noLabels = null;
		const regs = registers === undefined ? [globalRegistry] : registers;
		if (regs.length === 0) {
			this._bind(native.registry('new'), null); // a registry of its own, never exposed
		} else {
			for (const r of regs) r.registerMetric(this);
		}
	}

	_bind(handle, registry) {
		if (this._p !== 0) {
			// pending for the family being left: it gets them, as the
			// children's pending sums go to their own
			this._n.add(this._p);
			this._p = 0;
		}
		this._n = null;
		this._handle = handle; // the registry's handle: children keep it alive
		this._family = native.familyNew(handle, this._opts);
		this._handle = handle;
		this._registry = registry;
		this._children.clear();
		this._tree = new Map();
		this._noLabels = this.labelNames.length === 0 ? this._child([]) : null;
	}

	_attach(registry) {
		if (this._registry === registry) return;
		if (this._registry !== null)
			throw new Error(`metric ${this.name} is already in another registry: a sonde metric lives in one registry`);
		if (this._family !== null) native.familyUnregister(this._handle, this._family);
		this._bind(registry._handle, registry);
	}

	_detach() {
		this._registry = null;
		this._bind(native.registry('new'), null); // a registry of its own, never exposed
	}

	_exposedName(n) {
		return n === this.name || (this.type === 'counter' && n === this.name.replace(/_total$/, '')) ? n : null;
	}

	_values(args) {
		if (args.length === 1 && args[0] !== null && typeof args[0] === 'object') return this._fromObject(args[0]);
		const vals = new Array(args.length);
		for (let i = 0; i < args.length; i++) vals[i] = labelValue(args[i], this.labelNames[i] || String(i));
		return vals;
	}

	_fromObject(labels) {
		const names = this.labelNames;
		for (const k in labels) {
			if (names.indexOf(k) < 0)
				throw new TypeError(`Added label "${k}" is not included in initial labelset: ${JSON.stringify(names)}`);
		}
		const vals = new Array(names.length);
		for (let i = 0; i < names.length; i++) vals[i] = labelValue(labels[names[i]], names[i]);
		return vals;
	}

	// children by label values: a Map per label position (no key string
	// to build on the hot path), and _children for iteration
	_child(values) {
		if (values.length !== this.labelNames.length) {
			// sonde refuses it, with its message (a TypeError)
			native.child(this._family, this._opts.type, values);
			throw new TypeError(`${this.name}: ${values.length} label values for ${this.labelNames.length} labels`);
		}
		let m = this._tree;
		const last = values.length - 1;
		for (let i = 0; i < last; i++) {
			let next = m.get(values[i]);
			if (next === undefined) {
				next = new Map();
				m.set(values[i], next);
			}
			m = next;
		}
		const leafKey = last >= 0 ? values[last] : '';
		let c = m.get(leafKey);
		if (c === undefined) {
			c = this._wrap(native.child(this._family, this._opts.type, values), values);
			m.set(leafKey, c);
			this._children.set(childKey(values), c);
		}
		return c;
	}

	_childFor(labels) {
		if (labels === undefined || labels === null) {
			if (this._noLabels) return this._noLabels;
			const c = this._child(this._fromObject({}));
			if (this.labelNames.length === 0) this._noLabels = c;
			return c;
		}
		if (typeof labels !== 'object') throw new TypeError('labels must be an object');
		const names = this.labelNames;
		let m = this._tree;
		let c;
		for (let i = 0; i < names.length && m !== undefined; i++) {
			const v = labels[names[i]];
			if (typeof v !== 'string') {
				m = undefined;
				break;
			}
			if (i === names.length - 1) c = m.get(v);
			else m = m.get(v);
		}
		if (c !== undefined) {
			let n = 0;
			for (const k in labels) n++;
			if (n === names.length) return c; // no label outside labelNames
		}
		return this._child(this._fromObject(labels));
	}

	labels() {
		const n = arguments.length;
		if (n === this.labelNames.length && n > 0 && !(n === 1 && arguments[0] !== null && typeof arguments[0] === 'object')) {
			let m = this._tree;
			for (let i = 0; i < n - 1 && m !== undefined; i++) m = typeof arguments[i] === 'string' ? m.get(arguments[i]) : undefined;
			if (m !== undefined && typeof arguments[n - 1] === 'string') {
				const c = m.get(arguments[n - 1]);
				if (c !== undefined) return c;
			}
		}
		return this._child(this._values(Array.prototype.slice.call(arguments)));
	}

	remove(...args) {
		const values = this._values(args);
		native.familyRemove(this._family, values);
		const gone = this._children.get(childKey(values));
		if (gone !== undefined && gone._p) gone._p = 0; // its pending increments go with it
		if (gone !== undefined && gone._n === this._n) {
			this._p = 0;
			this._n = null;
		}
		// the series without labels comes back at its next use, as
		// prom-client's does (not through the removed child)
		if (gone !== undefined && gone === this._noLabels) this._noLabels = null;
		this._children.delete(childKey(values));
		if (values.length !== this.labelNames.length) return;
		let m = this._tree;
		for (let i = 0; i < values.length - 1 && m !== undefined; i++) m = m.get(values[i]);
		if (m !== undefined) m.delete(values.length ? values[values.length - 1] : '');
	}

	reset() {
		for (const c of this._children.values()) if (c._p) c._p = 0; // pending increments too
		this._p = 0;
		this._n = null;
		native.familyClear(this._family);
		this._children.clear();
		this._tree = new Map();
		this._noLabels = this.labelNames.length === 0 ? this._child([]) : null;
	}

	_exemplar(labels) {
		if (labels) {
			const names = Object.keys(labels);
			return [names, names.map((k) => labelValue(labels[k], k))];
		}
		const ctx = currentContext();
		if (!ctx) return null;
		return [['trace_id', 'span_id'], [traceIdOf(ctx), spanIdOf(ctx)]];
	}

	_labelsOf(child) {
		const o = {};
		this.labelNames.forEach((n, i) => (o[n] = child.values[i]));
		return o;
	}
}

class CounterChild {
	constructor(n, values, owner) {
		this._n = n;
		this.values = values;
		this._owner = owner; // keeps the registry (and so the handle) alive
		this._p = 0; // increments not yet handed to libsonde (0: not queued)
	}
	inc(v) {
		if (v === undefined) v = 1;
		else if (checkIncrement(v) === 0) return; // adding 0: nothing to hand over
		// one field read: pending 0 means not queued (a queued child has
		// a positive sum until the flush zeroes it)
		const p = this._p;
		this._p = p + v;
		if (p === 0) queueIncrement(this);
	}
}

class Counter extends Metric {
	constructor(config) {
		super(config, 'counter', {});
	}

	_wrap(n, values) {
		return new CounterChild(n, values, this._handle);
	}

	// inc(), inc(v), inc(labels), inc(labels, v), and with enableExemplars
	// inc({labels, value, exemplarLabels})
	inc(labels, value) {
		if (labels === undefined) {
			const p = this._p;
			this._p = p + 1;
			if (p === 0) this._queueOwn();
			return;
		}
		if (typeof labels === 'number') return this._childFor(undefined).inc(labels);
		if (this.enableExemplars && labels !== null && typeof labels === 'object' && ('value' in labels || 'exemplarLabels' in labels || 'labels' in labels)) {
			const c = this._childFor(labels.labels);
			const v = labels.value === undefined ? 1 : labels.value;
			const ex = this._exemplar(labels.exemplarLabels);
			if (ex) return c._n.exemplar(v, ex[0], ex[1]);
			return c.inc(v);
		}
		return this._childFor(labels).inc(value);
	}

	// The first inc() of a turn: the series it counts (the child without
	// labels, made now if need be: a refusal throws here, with nothing
	// left pending), then the flush queue.
	_queueOwn() {
		if (this._n === null) {
			try {
				this._n = this._childFor(undefined)._n;
			} catch (e) {
				this._p = 0;
				throw e;
			}
		}
		queueIncrement(this);
	}

	async get() {
		flushIncrements();
		return {
			name: this.name,
			help: this.help,
			type: 'counter',
			aggregator: this.aggregator,
			values: Array.from(this._children.values(), (c) => ({ value: c._n.value(), labels: this._labelsOf(c) })),
		};
	}
}

class GaugeChild {
	constructor(n, values, owner) {
		this._n = n;
		this.values = values;
		this._owner = owner;
	}
	set(v) {
		this._n.set(v);
	}
	inc(v) {
		this._n.add(v === undefined ? 1 : v);
	}
	dec(v) {
		this._n.add(v === undefined ? -1 : -v);
	}
	setToCurrentTime() {
		this._n.now();
	}
	startTimer() {
		const start = process.hrtime.bigint();
		return () => {
			const s = Number(process.hrtime.bigint() - start) / 1e9;
			this._n.set(s);
			return s;
		};
	}
}

function splitArgs(labels, value) {
	// (value) or (labels, value)
	if (typeof labels === 'number') return [undefined, labels];
	return [labels, value];
}

class Gauge extends Metric {
	constructor(config) {
		super(config, 'gauge', {});
	}

	_wrap(n, values) {
		return new GaugeChild(n, values, this._handle);
	}

	set(labels, value) {
		const [l, v] = splitArgs(labels, value);
		if (v === undefined) throw new TypeError('Value is not a valid number: undefined');
		this._childFor(l).set(v);
	}

	inc(labels, value) {
		const [l, v] = splitArgs(labels, value);
		this._childFor(l).inc(v);
	}

	dec(labels, value) {
		const [l, v] = splitArgs(labels, value);
		this._childFor(l).dec(v);
	}

	setToCurrentTime(labels) {
		this._childFor(labels).setToCurrentTime();
	}

	startTimer(labels) {
		const start = process.hrtime.bigint();
		return (endLabels) => {
			const s = Number(process.hrtime.bigint() - start) / 1e9;
			this._childFor(endLabels ? { ...labels, ...endLabels } : labels).set(s);
			return s;
		};
	}

	async get() {
		return {
			name: this.name,
			help: this.help,
			type: 'gauge',
			aggregator: this.aggregator,
			values: Array.from(this._children.values(), (c) => ({ value: c._n.value(), labels: this._labelsOf(c) })),
		};
	}
}

class ObserveChild {
	constructor(n, values, owner) {
		this._n = n;
		this.values = values;
		this._owner = owner;
	}
	observe(v) {
		this._n.observe(v);
	}
	startTimer() {
		const start = process.hrtime.bigint();
		return () => {
			const s = Number(process.hrtime.bigint() - start) / 1e9;
			this._n.observe(s);
			return s;
		};
	}
}

class Histogram extends Metric {
	constructor(config) {
		const buckets = config && config.buckets !== undefined ? config.buckets : undefined;
		if (buckets !== undefined && !Array.isArray(buckets)) throw new TypeError('buckets must be an array of numbers');
		super(config, 'histogram', { buckets: buckets ? buckets.slice().sort((a, b) => a - b) : null });
		this.upperBounds = buckets ? buckets.slice().sort((a, b) => a - b) : exponentialDefaults();
	}

	_wrap(n, values) {
		return new ObserveChild(n, values, this._handle);
	}

	// observe(v), observe(labels, v), and with enableExemplars
	// observe({labels, value, exemplarLabels})
	observe(labels, value) {
		if (typeof labels === 'number') return this._childFor(undefined)._n.observe(labels);
		if (this.enableExemplars && labels !== null && typeof labels === 'object' && 'value' in labels) {
			const c = this._childFor(labels.labels);
			const ex = this._exemplar(labels.exemplarLabels);
			if (ex) return c._n.exemplar(labels.value, ex[0], ex[1]);
			return c._n.observe(labels.value);
		}
		return this._childFor(labels)._n.observe(value);
	}

	startTimer(labels, exemplarLabels) {
		const start = process.hrtime.bigint();
		return (endLabels) => {
			const s = Number(process.hrtime.bigint() - start) / 1e9;
			const c = this._childFor(endLabels ? { ...labels, ...endLabels } : labels);
			const ex = this.enableExemplars ? this._exemplar(exemplarLabels) : null;
			if (ex) c._n.exemplar(s, ex[0], ex[1]);
			else c._n.observe(s);
			return s;
		};
	}

	zero(labels) {
		this._childFor(labels);
	}

	async get() {
		const values = [];
		for (const c of this._children.values()) {
			const l = this._labelsOf(c);
			values.push({ metricName: `${this.name}_sum`, labels: l, value: c._n.sum() });
			values.push({ metricName: `${this.name}_count`, labels: l, value: c._n.count() });
		}
		return { name: this.name, help: this.help, type: 'histogram', aggregator: this.aggregator, values };
	}
}

function exponentialDefaults() {
	return [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];
}

class Summary extends Metric {
	constructor(config) {
		const c = config || {};
		super(config, 'summary', {
			percentiles: c.percentiles ? c.percentiles.slice() : [0.01, 0.05, 0.5, 0.9, 0.95, 0.99, 0.999],
			maxAgeSeconds: c.maxAgeSeconds,
			ageBuckets: c.ageBuckets,
		});
		this.percentiles = this._opts.percentiles;
	}

	_wrap(n, values) {
		return new ObserveChild(n, values, this._handle);
	}

	observe(labels, value) {
		if (typeof labels === 'number') return this._childFor(undefined)._n.observe(labels);
		return this._childFor(labels)._n.observe(value);
	}

	startTimer(labels) {
		const start = process.hrtime.bigint();
		return (endLabels) => {
			const s = Number(process.hrtime.bigint() - start) / 1e9;
			this._childFor(endLabels ? { ...labels, ...endLabels } : labels)._n.observe(s);
			return s;
		};
	}

	async get() {
		const values = [];
		for (const c of this._children.values()) {
			const l = this._labelsOf(c);
			for (const q of this.percentiles) values.push({ labels: { ...l, quantile: q }, value: c._n.quantile(q) });
			values.push({ metricName: `${this.name}_sum`, labels: l, value: c._n.sum() });
			values.push({ metricName: `${this.name}_count`, labels: l, value: c._n.count() });
		}
		return { name: this.name, help: this.help, type: 'summary', aggregator: this.aggregator, values };
	}
}

function linearBuckets(start, width, count) {
	if (!(count >= 1)) throw new RangeError('Linear buckets needs a positive count');
	return Array.from({ length: count }, (_, i) => start + i * width);
}

function exponentialBuckets(start, factor, count) {
	if (!(start > 0)) throw new RangeError('Exponential buckets needs a positive start');
	if (!(factor > 1)) throw new RangeError('Exponential buckets needs a factor greater than 1');
	if (!(count >= 1)) throw new RangeError('Exponential buckets needs a positive count');
	return Array.from({ length: count }, (_, i) => start * Math.pow(factor, i));
}

function validateMetricName(name) {
	return typeof name === 'string' && /^[a-zA-Z_:][a-zA-Z0-9_:]*$/.test(name);
}

function validateLabelName(names) {
	return (Array.isArray(names) ? names : [names]).every((n) => typeof n === 'string' && LABEL_NAME.test(n));
}

module.exports = {
	Registry,
	register: globalRegistry,
	Counter,
	Gauge,
	Histogram,
	Summary,
	Metric,
	linearBuckets,
	exponentialBuckets,
	validateMetricName,
	validateLabelName,
	PROMETHEUS_CONTENT_TYPE,
	OPENMETRICS_CONTENT_TYPE,
	prometheusContentType: PROMETHEUS_CONTENT_TYPE,
	openMetricsContentType: OPENMETRICS_CONTENT_TYPE,
};
