#!/usr/bin/env python3
"""Reads a Prometheus text exposition with the official Python parser and
compares every sample with an expected list, exactly.

usage: check_text.py EXPOSITION EXPECTED
EXPECTED has one sample per line: name<TAB>labels-json<TAB>value, where value
is a Python float literal ("1", "0.1", "inf", "nan"). Every expected sample
must be present with exactly that value, and no other sample may exist
except those of families listed with a line "ignore<TAB>family-name".
"""
import json
import math
import sys

from prometheus_client.parser import text_string_to_metric_families


def main():
    text = open(sys.argv[1], encoding="utf-8").read()
    want = {}
    ignore = set()
    for line in open(sys.argv[2], encoding="utf-8"):
        line = line.rstrip("\n")
        if not line:
            continue
        parts = line.split("\t")
        if parts[0] == "ignore":
            ignore.add(parts[1])
            continue
        name, labels, value = parts
        key = (name, tuple(sorted(json.loads(labels).items())))
        want[key] = float(value)
    got = {}
    for fam in text_string_to_metric_families(text):
        if fam.name in ignore:
            continue
        for s in fam.samples:
            key = (s.name, tuple(sorted(s.labels.items())))
            if key in got:
                print("duplicate sample", key)
                return 1
            got[key] = s.value
    bad = 0
    for key, v in want.items():
        if key not in got:
            print("missing", key)
            bad += 1
        elif not (got[key] == v or (math.isnan(v) and math.isnan(got[key]))):
            print("value", key, "got", repr(got[key]), "want", repr(v))
            bad += 1
    for key in got:
        if key not in want:
            print("unexpected", key, got[key])
            bad += 1
    print("checked %d samples, %d problems" % (len(want), bad))
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
