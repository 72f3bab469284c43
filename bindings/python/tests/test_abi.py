"""The ctypes struct layouts equal the C compiler's: sizeof, alignment and
the offset of every field, generated from sonde._lib.STRUCTS."""

import ctypes
import unittest

from sonde import _lib

from _support import CC, build_shared


class TestABI(unittest.TestCase):
    def test_struct_layouts_match_c(self):
        if not CC:
            self.skipTest("no C compiler to check against")
        rows = []
        for cname, cls in _lib.STRUCTS.items():
            rows.append((cname, None, ctypes.sizeof(cls)))
            rows.append((cname, "@align", ctypes.alignment(cls)))
            for fname, _ in cls._fields_:
                rows.append((cname, fname, getattr(cls, fname).offset))
        lines = ["#include <stddef.h>", "#include <sonde.h>", "#include <sonde/log.h>",
                 "size_t layout(int i);", "size_t layout(int i) {", " switch (i) {"]
        for i, (cname, fname, _) in enumerate(rows):
            if fname is None:
                expr = "sizeof(%s)" % cname
            elif fname == "@align":
                expr = "_Alignof(%s)" % cname
            else:
                expr = "offsetof(%s, %s)" % (cname, fname)
            lines.append(" case %d: return %s;" % (i, expr))
        lines += [" }", " return (size_t)-1;", "}"]
        so = build_shared("abi", "\n".join(lines) + "\n")
        c = ctypes.CDLL(so)
        c.layout.restype = ctypes.c_size_t
        c.layout.argtypes = [ctypes.c_int]
        bad = []
        for i, (cname, fname, py) in enumerate(rows):
            got = c.layout(i)
            if got != py:
                bad.append("%s.%s: C %d, ctypes %d" % (cname, fname or "sizeof", got, py))
        self.assertEqual(bad, [])
        self.assertGreater(len(rows), 80)


if __name__ == "__main__":
    unittest.main()
