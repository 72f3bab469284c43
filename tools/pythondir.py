#!/usr/bin/env python3
"""tools/pythondir.py PREFIX - where `make install PREFIX=...` puts the
Python package: the directory under PREFIX that this Python already
searches (Debian's PREFIX/lib/python3.X/dist-packages for /usr/local),
else the standard PREFIX/lib/python3.X/site-packages (then PYTHONPATH must
name it). Prints one absolute path."""

import os
import sys
import sysconfig

prefix = os.path.abspath(sys.argv[1])
ver = "python%d.%d" % sys.version_info[:2]
candidates = [os.path.join(prefix, "lib", ver, "dist-packages"),
              os.path.join(prefix, "lib", "python3", "dist-packages"),
              os.path.join(prefix, "lib", ver, "site-packages")]
for c in candidates:
    if c in (os.path.abspath(p) for p in sys.path if p):
        print(c)
        break
else:
    print(sysconfig.get_path("purelib", "posix_prefix", vars={"base": prefix, "platbase": prefix}))
