"""Shared helpers for the tests: where the repository's headers and the
library are, and building small C shared objects linked to libsonde."""

import os
import shutil
import subprocess
import tempfile

import sonde

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.environ.get("SONDE_SRC_DIR") or os.path.abspath(os.path.join(HERE, "..", "..", ".."))
INCLUDE = os.path.join(REPO, "include")
LIBDIR = os.path.dirname(os.path.realpath(sonde.library_path)) if os.path.sep in \
    sonde.library_path else None
CC = os.environ.get("CC") or shutil.which("cc") or shutil.which("gcc")

_tmp = tempfile.mkdtemp(prefix="sonde-pytest-")


def build_shared(name, source):
    """Compiles source into a shared object linked against the libsonde the
    binding loaded; returns its path (None when there is no compiler)."""
    if not CC or not LIBDIR:
        return None
    src = os.path.join(_tmp, name + ".c")
    out = os.path.join(_tmp, "lib" + name + ".so")
    with open(src, "w") as f:
        f.write(source)
    cmd = [CC, "-std=c11", "-D_GNU_SOURCE", "-O1", "-Wall", "-Werror", "-shared", "-fPIC",
           "-I", INCLUDE, "-o", out, src, "-L", LIBDIR, "-l:" + os.path.basename(
               os.path.realpath(sonde.library_path)), "-Wl,-rpath," + LIBDIR]
    subprocess.run(cmd, check=True, capture_output=True, text=True)
    return out
