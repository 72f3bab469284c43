"""Liveness, readiness and startup probes over sonde_health (sonde/health.h).

    from sonde import Health
    health = Health(version="1.4.2")

    @health.check("database", probes=("readiness", "startup"), timeout=0.5, cache=2.0)
    def database():
        db.execute("SELECT 1")           # raising means fail, the exception text is the error

    health.add_check("cache", lambda: ("warn", "3 of 4 nodes"))

    code, body = health.evaluate("readiness")   # 200 or 503, and the JSON text

A check is any callable taking no arguments. What it returns decides its
result: None or True is a pass, False a fail, "pass" / "warn" / "fail" say
so, and a (result, message) pair adds a message. Raising an exception is a
fail whose error is "ExceptionType: text". Anything else is a fail.

The checks run where the C side runs them: each on its own short-lived
thread, in parallel, with a deadline. evaluate() releases the GIL while it
waits, so Python checks run meanwhile; a check that overruns its timeout is
reported failed and does not hold the probe. The JSON body, the metrics
(sonde_health_check_status{check,probe}, the duration histogram) and the
aggregation are libsonde's, the same as for C, Go or Rust checks in the same
process.
"""

import ctypes
import itertools
import threading

from . import _errors, _lib
from .metrics import REGISTRY

_PROBES = {"liveness": 1, "readiness": 2, "startup": 4}
_RESULTS = {"pass": 0, "warn": 1, "fail": 2}
_MSG_MAX = 256  # SONDE_HEALTH_MSG_MAX
NO_STARTUP_LATCH = 1

# Checks the C side may still call, by key. An entry leaves when the C side
# releases it (sonde_health_free, or the end of a run that outlived it), so
# a callable stays alive exactly as long as libsonde can call it.
_live = {}
_live_lock = threading.Lock()
_keys = itertools.count(1)


def _verdict(fn):
    try:
        r = fn()
    except Exception as e:  # a check that raises has failed: say why
        text = str(e)
        return 2, "%s: %s" % (type(e).__name__, text) if text else type(e).__name__
    msg = None
    if isinstance(r, tuple) and len(r) == 2:
        r, msg = r
    if r is None or r is True:
        code = 0
    elif r is False:
        code = 2
    elif isinstance(r, str) and r.lower() in _RESULTS:
        code = _RESULTS[r.lower()]
    else:
        return 2, "check returned %r (expected None, a bool, pass/warn/fail or a pair)" % (r,)
    return code, None if msg is None else str(msg)


@_lib.HEALTH_FN
def _trampoline(user, msg, cap):
    with _live_lock:
        fn = _live.get(user or 0)
    if fn is None:
        return 2
    code, text = _verdict(fn)
    if text and msg and cap > 1:
        raw = text.encode("utf-8", "replace")[:cap - 1]
        ctypes.memmove(msg, raw + b"\0", len(raw) + 1)
    return code


@_lib.HEALTH_RELEASE
def _release(user):
    with _live_lock:
        _live.pop(user or 0, None)


def _probe_bits(probes):
    if isinstance(probes, str):
        probes = (probes,)
    bits = 0
    for p in probes:
        if p not in _PROBES:
            raise _errors.InvalidArgument(
                -1, "unknown probe %r (liveness, readiness or startup)" % (p,))
        bits |= _PROBES[p]
    return bits


def _ms(seconds, what):
    if seconds is None:
        return 0
    if not isinstance(seconds, (int, float)) or seconds != seconds or seconds < 0:
        raise _errors.InvalidArgument(-1, "%s must be a number of seconds >= 0" % what)
    if seconds > 0 and seconds < 0.001:
        return 1
    return int(min(seconds * 1000.0 + 0.5, 2 ** 32 - 1))


class Health:
    """A set of named checks answering liveness, readiness and startup
    probes. version is the "version" of the JSON body; registry holds the
    health metrics (the default registry unless given); free_wait is how
    long close() waits for checks still running past their timeout."""

    def __init__(self, version=None, registry=REGISTRY, startup_latch=True, free_wait=2.0):
        o = _lib.HealthOpts()
        _lib.lib.sonde_health_opts_init(ctypes.byref(o))
        version_b = None if version is None else str(version).encode("utf-8", "replace")
        o.registry = registry._h
        o.version = version_b  # held until sonde_health_new() copied it
        o.flags = 0 if startup_latch else NO_STARTUP_LATCH
        o.free_wait_ms = _ms(free_wait, "free_wait")
        h = _lib.lib.sonde_health_new(ctypes.byref(o))
        if not h:
            raise _errors.last()
        self._h = ctypes.c_void_p(h)
        self._registry = registry  # the metric families live there: keep it alive

    def add_check(self, name, fn, probes=("readiness",), timeout=None, cache=None):
        """Registers fn as the check `name` (1..64 bytes of [a-zA-Z0-9_.-])
        for the given probes. timeout (seconds; None = 1 s) bounds a run;
        cache (seconds; None = none) reuses a result, failures too, for
        that long. Raises ValueError for a bad name, a duplicate name or an
        unknown probe."""
        if not callable(fn):
            raise _errors.InvalidArgument(-1, "check %r: fn is not callable" % (name,))
        if not isinstance(name, str):
            raise _errors.InvalidArgument(-1, "check name must be a str, not %r" % (name,))
        self._alive()
        key = next(_keys)
        name_b = name.encode("utf-8", "replace")  # held until the C side copied it
        o = _lib.HealthCheckOpts()
        _lib.lib.sonde_health_check_opts_init(ctypes.byref(o), name_b, _trampoline,
                                              ctypes.c_void_p(key))
        o.probes = _probe_bits(probes)
        o.timeout_ms = _ms(timeout, "timeout")
        o.cache_ms = _ms(cache, "cache")
        o.release = _release
        with _live_lock:
            _live[key] = fn
        st = _lib.lib.sonde_health_add_check(self._h, ctypes.byref(o))
        if st < 0:
            with _live_lock:  # not added: release is never called for it
                _live.pop(key, None)
            raise _errors.from_status(st)
        return fn

    def check(self, name, probes=("readiness",), timeout=None, cache=None):
        """Decorator form of add_check()."""
        def register(fn):
            return self.add_check(name, fn, probes, timeout, cache)
        return register

    def evaluate(self, probe="readiness"):
        """Runs the probe's checks and returns (http_status, json_text):
        200 when healthy or degraded, 503 when unhealthy."""
        self._alive()
        bits = _probe_bits(probe)
        buf = _lib.Buf()
        status = ctypes.c_int()
        try:
            code = _lib.lib.sonde_health_evaluate(self._h, bits, ctypes.byref(buf),
                                                  ctypes.byref(status))
            if code < 0:
                raise _errors.from_status(code)
            return code, ctypes.string_at(buf.data, buf.len).decode("utf-8")
        finally:
            _lib.lib.sonde_buf_destroy(ctypes.byref(buf))

    def __len__(self):
        return _lib.lib.sonde_health_check_count(self._h) if self._h else 0

    def _alive(self):
        if not self._h:
            raise _errors.StateError(-9, "the health object was closed")

    def close(self):
        """Frees the checks (waiting up to free_wait for runs still in
        flight). Later calls raise; close() twice is harmless. Close health
        objects before the interpreter exits: a check still running past
        free_wait would call back into a finalizing interpreter."""
        if self._h:
            h, self._h = self._h, ctypes.c_void_p(None)
            _lib.lib.sonde_health_free(h)

    def __del__(self):
        if getattr(self, "_h", None):
            self.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
