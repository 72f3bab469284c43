"""Helpers shared by the demo integration tests (tests/tools/demo_*.py,
tests/tools/w3c_harness.py): start sonde-demo on a free loopback port, talk
HTTP to it, stop it and check that it exited cleanly, read its JSON logs.

Every process started here dies with the test: it gets PR_SET_PDEATHSIG
(SIGKILL when its parent dies), stays in the test's process group (the
runner kills that group on a timeout), and is killed in a finally block.
"""
import ctypes
import http.client
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time

SANITIZER_MARKS = ("ERROR: AddressSanitizer", "ERROR: LeakSanitizer", "runtime error:",
                   "WARNING: ThreadSanitizer", "ERROR: ThreadSanitizer")


def die_with_parent():
    """preexec_fn: the child gets SIGKILL if the test process dies."""
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
    except Exception:
        pass


class Problems:
    """Collects failed checks; report() prints them and the verdict line."""

    def __init__(self, name):
        self.name = name
        self.items = []
        self.checks = 0

    def check(self, cond, msg):
        self.checks += 1
        if not cond:
            self.items.append(msg)
            print("PROBLEM:", msg, flush=True)
        return cond

    def eq(self, got, want, what):
        return self.check(got == want, f"{what}: got {got!r}, want {want!r}")

    def report(self):
        print(f"{self.name}: {self.checks} checks, {len(self.items)} problems", flush=True)
        return 1 if self.items else 0


def free_port():
    """A port that was free a moment ago (for servers that cannot take 0)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Demo:
    """sonde-demo on 127.0.0.1:0; the port is read from its start-up line."""

    def __init__(self, binary, *args, start_timeout=30, env=None):
        self.dir = tempfile.mkdtemp(prefix="sonde-demo-test.")
        self.out_path = os.path.join(self.dir, "stdout.jsonl")
        self.err_path = os.path.join(self.dir, "stderr.txt")
        self.out = open(self.out_path, "wb")
        self.err = open(self.err_path, "wb")
        self.proc = subprocess.Popen([binary, "--listen", "127.0.0.1:0", *args],
                                     stdout=self.out, stderr=self.err, stdin=subprocess.DEVNULL,
                                     preexec_fn=die_with_parent,
                                     env=None if env is None else {**os.environ, **env})
        self.rc = None
        deadline = time.monotonic() + start_timeout
        while True:
            m = re.search(r"listening on http://127\.0\.0\.1:(\d+)", self.stderr())
            if m:
                self.port = int(m.group(1))
                break
            if self.proc.poll() is not None:
                raise RuntimeError(f"sonde-demo exited {self.proc.returncode} before listening:\n"
                                   + self.stderr())
            if time.monotonic() > deadline:
                self.kill()
                raise RuntimeError("sonde-demo did not print its address in time:\n"
                                   + self.stderr())
            time.sleep(0.02)
        self.base = f"http://127.0.0.1:{self.port}"

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.kill()
        for f in (self.out, self.err):
            f.close()
        shutil.rmtree(self.dir, ignore_errors=True)
        return False

    def stderr(self):
        with open(self.err_path, "rb") as f:
            return f.read().decode("utf-8", "replace")

    def log_lines(self):
        with open(self.out_path, "rb") as f:
            return f.read().decode("utf-8", "replace").splitlines()

    def request(self, method, path, headers=None, body=None, timeout=15):
        """One request on a fresh connection: (status, {lower-name: value}, bytes)."""
        c = http.client.HTTPConnection("127.0.0.1", self.port, timeout=timeout)
        try:
            c.request(method, path, body=body, headers=headers or {})
            r = c.getresponse()
            data = r.read()
            return r.status, {k.lower(): v for k, v in r.getheaders()}, data
        finally:
            c.close()

    def get(self, path, headers=None, timeout=15):
        return self.request("GET", path, headers=headers, timeout=timeout)

    def raw(self, data, timeout=10, shutdown_write=False):
        """Sends bytes as they are; returns everything read until the server
        closes or timeout passes."""
        with socket.create_connection(("127.0.0.1", self.port), timeout=timeout) as s:
            if data:
                s.sendall(data)
            if shutdown_write:
                s.shutdown(socket.SHUT_WR)
            return read_all(s, timeout)

    def stop(self, sig=signal.SIGTERM, timeout=20):
        """Signals the demo and waits; returns its exit status (killed: -9)."""
        if self.rc is not None:
            return self.rc
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
        try:
            self.rc = self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.kill()
            self.rc = -9
        self.out.close()
        self.err.close()
        return self.rc

    def kill(self):
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()
        if self.rc is None:
            self.rc = self.proc.returncode

    def check_clean_exit(self, p, rc):
        """Exit status 0 and no sanitizer report on stderr."""
        err = self.stderr()
        p.check(rc == 0, f"sonde-demo exit status {rc}; stderr:\n{err[-4000:]}")
        for mark in SANITIZER_MARKS:
            p.check(mark not in err, f"sanitizer report in sonde-demo's stderr:\n{err[-6000:]}")

    def json_logs(self, p):
        """Every stdout line must be one JSON object; returns them."""
        recs = []
        lines = self.log_lines()
        p.check(len(lines) > 0, "sonde-demo wrote no log lines")
        for i, line in enumerate(lines):
            try:
                obj = json.loads(line)
            except ValueError as e:
                p.check(False, f"log line {i + 1} is not JSON ({e}): {line[:300]!r}")
                continue
            if p.check(isinstance(obj, dict), f"log line {i + 1} is not an object: {line[:200]!r}"):
                for k in ("@timestamp", "level", "message", "service"):
                    p.check(k in obj, f"log line {i + 1} has no {k!r}: {line[:300]!r}")
                recs.append(obj)
        return recs


def read_all(s, timeout):
    """Reads from socket s until EOF or timeout (whatever came so far)."""
    chunks = []
    deadline = time.monotonic() + timeout
    while True:
        left = deadline - time.monotonic()
        if left <= 0:
            break
        s.settimeout(left)
        try:
            b = s.recv(65536)
        except socket.timeout:
            break
        except ConnectionResetError:
            break
        if not b:
            break
        chunks.append(b)
    return b"".join(chunks)


def status_of(raw):
    """The status code of the first response in raw bytes, or None."""
    m = re.match(rb"HTTP/1\.[01] (\d{3}) ", raw)
    return int(m.group(1)) if m else None


def split_responses(raw):
    """Splits pipelined responses (each with a Content-Length) into
    [(status, {lower-name: value}, body)]; stops at anything malformed."""
    out = []
    while raw:
        head, sep, rest = raw.partition(b"\r\n\r\n")
        m = re.match(rb"HTTP/1\.[01] (\d{3}) ", head)
        if not sep or not m:
            break
        hdrs = {}
        for line in head.split(b"\r\n")[1:]:
            k, _, v = line.partition(b":")
            hdrs[k.strip().lower().decode()] = v.strip().decode()
        n = int(hdrs.get("content-length", "0"))
        out.append((int(m.group(1)), hdrs, rest[:n]))
        raw = rest[n:]
    return out


def _with_letter(h):
    # Random hex may hold no a-f at all (p = (10/16)^n): then .upper()
    # changes nothing and an "uppercase id" case would be a valid one.
    # The last digit becomes a letter, and the id is never all zero.
    return h[:-1] + "abcdef"[int(h[-1], 16) % 6]


def new_trace_id():
    return _with_letter(os.urandom(16).hex())


def new_span_id():
    return _with_letter(os.urandom(8).hex())


def main_guard(fn):
    """Runs fn(argv) -> exit status; an exception is a failure with its traceback."""
    try:
        sys.exit(fn(sys.argv[1:]))
    except SystemExit:
        raise
    except BaseException:
        import traceback
        traceback.print_exc()
        sys.exit(1)
