'use strict';
// build.js - compiles the N-API addon (src/sonde_node.c) with the system C
// compiler, without node-gyp and without downloading headers. Run by
// `npm install` (the "install" script) and by bindings/run-tests.sh.
//
// Headers: $NODE_API_HEADERS_DIR, else the npm package node-api-headers when
// it is installed, else Node's own (process.execPath/../include/node, then
// /usr/include/node: Debian's libnode-dev and nodejs packages).
// libsonde: $SONDE_BUILD/libsonde.a (default: the source tree's build/,
// made with `make` when missing). The archive is linked in whole-symbol
// hidden form (libsonde is built with -fvisibility=hidden), so the addon
// carries one copy of sonde for every thread of the process and needs no
// run-time library path.
//
// SONDE_NODE_LINK=shared links $SONDE_BUILD/libsonde.so instead (rpath
// set), for a process where other native code uses that library: one copy.
// SONDE_NODE_SANITIZE=address|thread builds build/sonde-<sanitizer>.node
// from lib/'s sources with -fsanitize=address,undefined or thread, for
// bindings/run-tests.sh's sanitizer runs (node started with the runtime
// in LD_PRELOAD; the tests load it through $SONDE_NODE_ADDON).
const { execFileSync } = require('child_process');
const fs = require('fs');
const path = require('path');

const here = __dirname;
const root = path.resolve(here, '..', '..');
const build = process.env.SONDE_BUILD || path.join(root, 'build');
const sanitize = process.env.SONDE_NODE_SANITIZE || '';
const out = path.join(here, 'build', sanitize ? `sonde-${sanitize}.node` : 'sonde.node');
const cc = process.env.CC || 'cc';

function findHeaders() {
	const cands = [];
	if (process.env.NODE_API_HEADERS_DIR) cands.push(process.env.NODE_API_HEADERS_DIR);
	try {
		cands.push(require('node-api-headers').include_dir);
	} catch (e) {
		/* not installed: fall back to Node's own headers */
	}
	cands.push(path.resolve(path.dirname(process.execPath), '..', 'include', 'node'));
	cands.push('/usr/include/node');
	for (const d of cands) if (d && fs.existsSync(path.join(d, 'node_api.h'))) return d;
	throw new Error('build.js: node_api.h not found (install libnode-dev or the npm package node-api-headers)');
}

function libSources() {
	const files = [];
	for (const d of fs.readdirSync(path.join(root, 'lib')).sort()) {
		const dir = path.join(root, 'lib', d);
		if (!fs.statSync(dir).isDirectory()) continue;
		for (const f of fs.readdirSync(dir).sort()) if (f.endsWith('.c')) files.push(path.join(dir, f));
	}
	return files;
}

function main() {
	const shared = process.env.SONDE_NODE_LINK === 'shared';
	const lib = path.join(build, shared ? 'libsonde.so' : 'libsonde.a');
	if (!sanitize && !fs.existsSync(lib)) {
		execFileSync('make', ['-C', root, '-s', `BUILD=${build}`, `${path.relative(root, lib)}`], { stdio: 'inherit' });
	}
	// zlib: libsonde.a needs -lz when it was built with it
	let zlib = [];
	try {
		const v = execFileSync('make', ['-C', root, '-s', `BUILD=${build}`, 'print-LIBS_ZLIB'], { encoding: 'utf8' });
		const m = /LIBS_ZLIB=(.*)/.exec(v);
		if (m && m[1].trim()) zlib = m[1].trim().split(/\s+/);
	} catch (e) {
		zlib = [];
	}
	fs.mkdirSync(path.dirname(out), { recursive: true });
	let link;
	let flags = ['-O2'];
	if (sanitize === 'address') flags = ['-O1', '-fno-omit-frame-pointer', '-fsanitize=address,undefined', '-fno-sanitize-recover=undefined'];
	else if (sanitize === 'thread') flags = ['-O1', '-fno-omit-frame-pointer', '-fsanitize=thread'];
	else if (sanitize) throw new Error(`build.js: SONDE_NODE_SANITIZE=${sanitize}: address or thread`);
	if (sanitize) {
		// libsonde compiled in, with the same instrumentation
		link = ['-DSONDE_BUILDING', `-I${path.join(root, 'lib')}`, ...(zlib.length ? ['-DSONDE_HAVE_ZLIB=1'] : []), ...libSources()];
	} else if (shared) {
		link = [`-L${build}`, `-Wl,-rpath,${build}`, '-lsonde'];
	} else {
		link = [lib];
	}
	const args = [
		'-std=c11', '-D_GNU_SOURCE', ...flags, '-g', '-fPIC', '-shared', '-fvisibility=hidden',
		'-Wall', '-Wextra', '-Werror', '-Wno-unused-parameter',
		'-DNAPI_VERSION=8', `-I${findHeaders()}`, `-I${path.join(root, 'include')}`,
		'-o', out, path.join(here, 'src', 'sonde_node.c'), path.join(here, 'src', 'relabel.c'), ...link, '-lpthread', ...zlib, '-lm',
	];
	// the napi_* symbols are left undefined: the node executable provides them at load
	execFileSync(cc, args, { stdio: 'inherit' });
	process.stdout.write(`build.js: ${path.relative(process.cwd(), out) || out}\n`);
}

main();
