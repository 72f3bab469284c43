'use strict';
// Test helpers: the exposition is read back by the official parsers, never
// by one written here: prometheus_client's text_string_to_metric_families
// (text 0.0.4) and its OpenMetrics parser, and promtool check metrics.
const { spawnSync } = require('child_process');

const PY = `
import json, math, sys
fmt = sys.argv[1]
text = sys.stdin.read()
if fmt == "openmetrics":
    from prometheus_client.openmetrics.parser import text_string_to_metric_families
else:
    from prometheus_client.parser import text_string_to_metric_families
def num(v):
    if isinstance(v, float) and (math.isnan(v) or math.isinf(v)):
        return str(v)
    return v
out = []
for f in text_string_to_metric_families(text):
    out.append({"name": f.name, "type": f.type, "help": f.documentation, "samples": [
        {"name": s.name, "labels": s.labels, "value": num(s.value),
         "exemplar": None if s.exemplar is None else {"labels": s.exemplar.labels, "value": s.exemplar.value}}
        for s in f.samples]})
print(json.dumps(out))
`;

function parse(text, format = 'text') {
	const r = spawnSync(process.env.PYTHON || '/usr/bin/python3', ['-c', PY, format], { input: text, encoding: 'utf8' });
	if (r.status !== 0) throw new Error(`python parser rejected the exposition: ${r.stderr}`);
	return JSON.parse(r.stdout);
}

function family(fams, name) {
	return fams.find((f) => f.name === name);
}

function sample(fams, name, labels = {}) {
	for (const f of fams)
		for (const s of f.samples)
			if (s.name === name && Object.keys(labels).every((k) => s.labels[k] === labels[k])) return s;
	return undefined;
}

function promtool(text) {
	const r = spawnSync('promtool', ['check', 'metrics'], { input: text, encoding: 'utf8' });
	if (r.error && r.error.code === 'ENOENT') return { skipped: true };
	return { status: r.status, output: (r.stdout || '') + (r.stderr || '') };
}

module.exports = { parse, family, sample, promtool };
