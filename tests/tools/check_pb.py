#!/usr/bin/python3
"""check_pb.py PROTO MESSAGE STREAM EXPECTED - decode with Google's protobuf.

PROTO is compiled with protoc into a temporary directory; STREAM holds
length-delimited MESSAGE messages (a varint length before each, the framing
of Prometheus' protobuf exposition); EXPECTED holds the same messages in
protobuf text format, separated by lines "---". Each decoded message must
equal its expected one (Google's text parser), and the writer's bytes must
equal Google's own serialization of the expected message (canonical field
order). Prints "N messages ok" or the first difference; exits 1 on any.
"""
import importlib
import os
import subprocess
import sys
import tempfile

from google.protobuf import text_format
from google.protobuf.internal.decoder import _DecodeVarint


def main():
    proto, msg_name, stream_path, expected_path = sys.argv[1:5]
    tmp = tempfile.mkdtemp(prefix="sonde-pb-")
    inc = os.path.dirname(os.path.abspath(proto))
    subprocess.run(["protoc", "-I" + inc, "--python_out=" + tmp, os.path.abspath(proto)],
                   check=True)
    sys.path.insert(0, tmp)
    mod = importlib.import_module(os.path.basename(proto)[:-len(".proto")] + "_pb2")
    cls = getattr(mod, msg_name)
    data = open(stream_path, "rb").read()
    texts = open(expected_path).read().split("\n---\n")
    texts = [t for t in texts if t.strip() or len(texts) > 1]
    pos, i, problems = 0, 0, 0
    while pos < len(data):
        n, pos = _DecodeVarint(data, pos)
        raw = data[pos:pos + n]
        if len(raw) != n:
            print("message %d: truncated (%d of %d bytes)" % (i, len(raw), n))
            return 1
        pos += n
        got = cls()
        got.ParseFromString(raw)
        if i >= len(texts):
            print("message %d: more messages than expected" % i)
            return 1
        want = text_format.Parse(texts[i], cls())
        if got.SerializeToString(deterministic=True) != want.SerializeToString(deterministic=True):
            print("message %d differs:\n--- decoded\n%s--- expected\n%s" % (i, got, want))
            problems += 1
        elif raw != want.SerializeToString(deterministic=True):
            print("message %d: same values, bytes not canonical:\n%s\n%s" %
                  (i, raw.hex(), want.SerializeToString(deterministic=True).hex()))
            problems += 1
        i += 1
    if i != len(texts):
        print("%d messages decoded, %d expected" % (i, len(texts)))
        return 1
    print("%d messages ok" % i if not problems else "%d problems" % problems)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
