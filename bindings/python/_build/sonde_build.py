"""sonde_build - the PEP 517 build backend of bindings/python (standard
library only, so `pip install` needs nothing from a package index).

build_wheel compiles libsonde from the C sources two folders up (lib/,
include/, as the Makefile does: C11, -fvisibility=hidden, the version
script, zlib when a program using it links) in a temporary directory, and
writes a wheel holding the `sonde` package with libsonde.so.0 inside it.
The wheel is tagged for this platform (py3-none-<platform>): it carries a
compiled library but no Python extension. CC picks the compiler (default
cc); SONDE_ZLIB=0 builds without zlib.
"""

import base64
import concurrent.futures
import hashlib
import os
import re
import shutil
import subprocess
import sysconfig
import tempfile
import zipfile

HERE = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))  # bindings/python
ROOT = os.path.abspath(os.path.join(HERE, "..", ".."))


def _project():
    text = open(os.path.join(HERE, "pyproject.toml"), encoding="utf-8").read()
    try:
        import tomllib
        p = tomllib.loads(text)["project"]
        return p["name"], p["version"], p.get("description", "")
    except ImportError:  # Python < 3.11
        get = lambda k: re.search(r'^%s = "([^"]*)"' % k, text, re.M).group(1)
        return get("name"), get("version"), get("description")


def _tag():
    plat = re.sub(r"[^A-Za-z0-9_]", "_", sysconfig.get_platform())
    return "py3-none-" + plat


def get_requires_for_build_wheel(config_settings=None):
    return []


def get_requires_for_build_sdist(config_settings=None):
    return []


def _metadata(name, version, summary):
    return ("Metadata-Version: 2.1\nName: %s\nVersion: %s\nSummary: %s\nLicense: MIT\n"
            "Requires-Python: >=3.8\n" % (name, version, summary))


def prepare_metadata_for_build_wheel(metadata_directory, config_settings=None):
    name, version, summary = _project()
    di = "%s-%s.dist-info" % (name, version)
    os.makedirs(os.path.join(metadata_directory, di), exist_ok=True)
    with open(os.path.join(metadata_directory, di, "METADATA"), "w") as f:
        f.write(_metadata(name, version, summary))
    with open(os.path.join(metadata_directory, di, "WHEEL"), "w") as f:
        f.write(_wheel_file())
    return di


def _wheel_file():
    return ("Wheel-Version: 1.0\nGenerator: sonde_build\nRoot-Is-Purelib: false\nTag: %s\n"
            % _tag())


def _run(cmd):
    r = subprocess.run(cmd, capture_output=True, text=True)
    if r.returncode != 0:
        raise RuntimeError("sonde: %s failed:\n%s%s" % (" ".join(cmd), r.stdout, r.stderr))


def build_libsonde(out_dir, version):
    """Compiles lib/*/*.c into out_dir/libsonde.so.<major>; returns its path."""
    lib = os.path.join(ROOT, "lib")
    include = os.path.join(ROOT, "include")
    vscript = os.path.join(lib, "api", "sonde.map")
    if not os.path.exists(vscript):
        raise RuntimeError("sonde: no C sources at %s: build the package from a sonde "
                           "checkout (bindings/python inside it)" % lib)
    cc = os.environ.get("CC") or "cc"
    if not shutil.which(cc.split()[0]):
        raise RuntimeError("sonde: no C compiler (%s) to build libsonde: install one "
                           "(Debian: apt-get install build-essential) or set CC" % cc)
    sources = sorted(os.path.join(lib, d, f) for d in os.listdir(lib)
                     if os.path.isdir(os.path.join(lib, d))
                     for f in os.listdir(os.path.join(lib, d)) if f.endswith(".c"))
    zlib = False
    if os.environ.get("SONDE_ZLIB", "1") != "0":
        probe = os.path.join(out_dir, "zprobe.c")
        with open(probe, "w") as f:
            f.write("#include <zlib.h>\nint main(void){return zlibVersion() == 0;}\n")
        zlib = subprocess.run([cc, probe, "-lz", "-o", os.path.join(out_dir, "zprobe")],
                              capture_output=True).returncode == 0
    flags = ["-std=c11", "-D_GNU_SOURCE", "-O2", "-g", "-fPIC", "-fvisibility=hidden",
             "-DSONDE_BUILDING", "-I", include, "-I", lib]
    if zlib:
        flags.append("-DSONDE_HAVE_ZLIB=1")
    objs = []
    cmds = []
    for i, s in enumerate(sources):
        o = os.path.join(out_dir, "%d-%s.o" % (i, os.path.basename(s)[:-2]))
        objs.append(o)
        cmds.append([cc] + flags + ["-c", s, "-o", o])
    jobs = max(1, min(os.cpu_count() or 1, 4))
    with concurrent.futures.ThreadPoolExecutor(jobs) as ex:
        for fut in [ex.submit(_run, c) for c in cmds]:
            fut.result()
    major = version.split(".")[0]
    so = os.path.join(out_dir, "libsonde.so." + major)
    _run([cc, "-shared", "-Wl,-soname,libsonde.so." + major, "-Wl,--version-script=" + vscript,
          "-Wl,--no-undefined", "-o", so] + objs + ["-lpthread"] + (["-lz"] if zlib else []))
    return so


def _record_line(arcname, data):
    digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()
    return "%s,sha256=%s,%d" % (arcname, digest, len(data))


def build_wheel(wheel_directory, config_settings=None, metadata_directory=None):
    name, version, summary = _project()
    tag = _tag()
    wheel_name = "%s-%s-%s.whl" % (name, version, tag)
    di = "%s-%s.dist-info" % (name, version)
    major = version.split(".")[0]
    with tempfile.TemporaryDirectory(prefix="sonde-build-") as tmp:
        so = build_libsonde(tmp, version)
        entries = []
        pkg = os.path.join(HERE, "sonde")
        for f in sorted(os.listdir(pkg)):
            if f.endswith(".py") and f != "_install.py":
                entries.append(("sonde/" + f, open(os.path.join(pkg, f), "rb").read(), 0o644))
        entries.append(("sonde/libsonde.so." + major, open(so, "rb").read(), 0o755))
        entries.append((di + "/METADATA", _metadata(name, version, summary).encode(), 0o644))
        entries.append((di + "/WHEEL", _wheel_file().encode(), 0o644))
        record = [_record_line(a, d) for a, d, _ in entries] + [di + "/RECORD,,"]
        entries.append((di + "/RECORD", ("\n".join(record) + "\n").encode(), 0o644))
        path = os.path.join(wheel_directory, wheel_name)
        with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as z:
            for arc, data, mode in entries:
                info = zipfile.ZipInfo(arc, date_time=(2020, 1, 1, 0, 0, 0))
                info.external_attr = (0o100000 | mode) << 16
                info.compress_type = zipfile.ZIP_DEFLATED
                z.writestr(info, data)
    return wheel_name
