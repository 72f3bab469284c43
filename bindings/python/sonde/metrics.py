"""Registries and metrics, shaped like prometheus_client.

    from sonde import Counter, Histogram, generate_latest
    REQUESTS = Counter('app_requests', 'Requests.', ['method'])
    REQUESTS.labels('GET').inc()
    LATENCY = Histogram('app_latency_seconds', 'Latency.')
    with LATENCY.time():
        ...

Every value lives in libsonde: this module only holds handles. A metric
registered here and one registered by C code in the same registry come out
in the same exposition.
"""

import ctypes
import functools
import time

from . import _errors, _lib
from ._lib import MetricOpts

_TYPE_COUNTER, _TYPE_GAUGE, _TYPE_HISTOGRAM, _TYPE_SUMMARY = 1, 2, 3, 4
INF = float("inf")
DEFAULT_BUCKETS = (.005, .01, .025, .05, .075, .1, .25, .5, .75, 1.0, 2.5, 5.0, 7.5, 10.0, INF)

_f = _lib.fn
_c_inc = _f("sonde_counter_inc")
_c_add = _f("sonde_counter_add")
_c_add_u64 = _f("sonde_counter_add_u64")
_c_value = _f("sonde_counter_value")
_g_set = _f("sonde_gauge_set")
_g_add = _f("sonde_gauge_add")
_g_sub = _f("sonde_gauge_sub")
_g_inc = _f("sonde_gauge_inc")
_g_dec = _f("sonde_gauge_dec")
_g_now = _f("sonde_gauge_set_to_current_time")
_g_value = _f("sonde_gauge_value")
_h_observe = _f("sonde_histogram_observe")
_s_observe = _f("sonde_summary_observe")
_LABELS = {_TYPE_COUNTER: _f("sonde_counter_labels"), _TYPE_GAUGE: _f("sonde_gauge_labels"),
           _TYPE_HISTOGRAM: _f("sonde_histogram_labels"),
           _TYPE_SUMMARY: _f("sonde_summary_labels")}
_U64_MAX = (1 << 64) - 1
# The C library's removal generation: bumped (release) after every child
# removal anywhere (sonde_family_remove, sonde_family_clear, unregister),
# the same word the C macros' call-site caches check (metrics.h,
# sonde__static_gen). A label cache is valid only while it is unchanged.
# Reading it is a plain aligned 64-bit load (~15 ns here, against ~100 ns
# for a ctypes call to an accessor).
_GEN = ctypes.c_ulong.in_dll(_lib.lib, "sonde__static_gen")


class _Cache(dict):
    """Label values -> child, valid for one removal generation."""
    __slots__ = ("gen",)

    def __init__(self, gen):
        super().__init__()
        self.gen = gen


def to_bytes(s, what="value", cstring=False):
    """str -> UTF-8 bytes (surrogate-escaped bytes of os.fsdecode() come back
    as the original bytes); bytes pass through; None stays None (the C side
    rejects it with its own message); anything else goes through str().
    cstring: the value goes to C as a NUL-terminated string, so a NUL
    inside it is an error rather than a silent truncation."""
    if s is None:
        return s
    if not isinstance(s, bytes):
        if not isinstance(s, str):
            s = str(s)
        try:
            s = s.encode("utf-8", "surrogateescape")
        except UnicodeEncodeError as e:
            raise _errors.InvalidArgument(-1, "%s %r is not encodable as UTF-8: %s" % (what, s, e))
    if cstring and b"\0" in s:
        raise _errors.InvalidArgument(-1, "%s %r contains a NUL byte" % (what, s))
    return s


class Registry:
    """A sonde registry. Registry() makes a new, empty one (freed when the
    last metric using it and this object are gone); REGISTRY is the
    process-wide default one that C code reaches with NULL."""

    def __init__(self):
        h = _lib.lib.sonde_registry_new()
        if not h:
            raise _errors.last()
        self._h = ctypes.c_void_p(h)
        self._owned = True

    @classmethod
    def _default(cls):
        r = cls.__new__(cls)
        r._h = ctypes.c_void_p(None)  # NULL = the default registry everywhere
        r._owned = False
        return r

    @property
    def handle(self):
        """The sonde_registry pointer as an int (0 for the default registry)."""
        return self._h.value or 0

    def __del__(self):
        if getattr(self, "_owned", False) and self._h:
            _lib.lib.sonde_registry_free(self._h)
            self._h = ctypes.c_void_p(None)

    def unregister(self, metric):
        _errors.check(_lib.lib.sonde_registry_unregister(self._h, metric._fam))

    def generate(self, fmt="text"):
        from .exposition import generate_latest
        return generate_latest(self, fmt)


REGISTRY = Registry._default()


def _full_name(name, namespace, subsystem, unit):
    full = "_".join(p for p in (namespace, subsystem, name) if p)
    if unit and not full.endswith("_" + unit):
        full += "_" + unit
    return full


def _cstr_array(items):
    arr = (ctypes.c_char_p * max(len(items), 1))()
    for i, v in enumerate(items):
        arr[i] = v
    return arr


class _Timer:
    """Context manager and decorator that passes elapsed seconds to fn."""

    __slots__ = ("_fn", "_start")

    def __init__(self, fn):
        self._fn = fn

    def __enter__(self):
        self._start = time.perf_counter()
        return self

    def __exit__(self, *exc):
        self._fn(max(time.perf_counter() - self._start, 0.0))

    def __call__(self, func):
        @functools.wraps(func)
        def wrapped(*a, **kw):
            with _Timer(self._fn):
                return func(*a, **kw)
        return wrapped


class _ExceptionCounter:
    __slots__ = ("_child", "_exc")

    def __init__(self, child, exc):
        self._child, self._exc = child, exc

    def __enter__(self):
        return self

    def __exit__(self, typ, value, tb):
        if typ is not None and issubclass(typ, self._exc):
            self._child.inc()
        return False

    def __call__(self, func):
        @functools.wraps(func)
        def wrapped(*a, **kw):
            with _ExceptionCounter(self._child, self._exc):
                return func(*a, **kw)
        return wrapped


class _InProgress:
    __slots__ = ("_child",)

    def __init__(self, child):
        self._child = child

    def __enter__(self):
        self._child.inc()
        return self

    def __exit__(self, *exc):
        self._child.dec()

    def __call__(self, func):
        @functools.wraps(func)
        def wrapped(*a, **kw):
            with _InProgress(self._child):
                return func(*a, **kw)
        return wrapped


# ---- children: the hot-path operations ------------------------------------------------

class _Child:
    __slots__ = ("_h", "_owner")

    def __init__(self, handle, owner):
        self._h = ctypes.c_void_p(handle)
        self._owner = owner  # keeps the family (and its registry) alive

    def _missing(self):
        raise ValueError("%s metric %r has labels %r: call .labels(...) first"
                         % (self._kind, self._owner._name, self._owner._labelnames))


class CounterChild(_Child):
    __slots__ = ()
    _kind = "counter"

    def inc(self, amount=1):
        """Adds amount (default 1). A negative amount raises ValueError, as
        prometheus_client does; a NaN is dropped and counted by sonde."""
        h = self._h
        if not h:
            self._missing()
        if amount == 1:
            _c_inc(h)
        elif type(amount) is int and 0 <= amount <= _U64_MAX:
            _c_add_u64(h, amount)
        elif amount < 0:
            raise ValueError("Counters can only be incremented by non-negative amounts.")
        else:
            _c_add(h, amount)

    def count_exceptions(self, exception=Exception):
        if not self._h:
            self._missing()
        return _ExceptionCounter(self, exception)

    def get(self):
        """The current value (sums every thread's cell: not for hot paths)."""
        return _c_value(self._h)


class GaugeChild(_Child):
    __slots__ = ()
    _kind = "gauge"

    def inc(self, amount=1):
        h = self._h
        if not h:
            self._missing()
        if amount == 1:
            _g_inc(h)
        else:
            _g_add(h, amount)

    def dec(self, amount=1):
        h = self._h
        if not h:
            self._missing()
        if amount == 1:
            _g_dec(h)
        else:
            _g_sub(h, amount)

    def set(self, value):
        h = self._h
        if not h:
            self._missing()
        _g_set(h, float(value))

    def set_to_current_time(self):
        if not self._h:
            self._missing()
        _g_now(self._h)

    def track_inprogress(self):
        if not self._h:
            self._missing()
        return _InProgress(self)

    def time(self):
        if not self._h:
            self._missing()
        return _Timer(self.set)

    def get(self):
        return _g_value(self._h)


class HistogramChild(_Child):
    __slots__ = ()
    _kind = "histogram"

    def observe(self, amount):
        h = self._h
        if not h:
            self._missing()
        _h_observe(h, amount)

    def time(self):
        """Times a block (with ...) or a function (@...) in seconds."""
        if not self._h:
            self._missing()
        return _Timer(self.observe)

    def get_count(self):
        return _lib.lib.sonde_histogram_count(self._h)

    def get_sum(self):
        return _lib.lib.sonde_histogram_sum(self._h)

    def get_bucket(self, i):
        """Cumulative count of bucket i (the last one is +Inf)."""
        return _lib.lib.sonde_histogram_bucket(self._h, i)


class SummaryChild(_Child):
    __slots__ = ()
    _kind = "summary"

    def observe(self, amount):
        h = self._h
        if not h:
            self._missing()
        _s_observe(h, amount)

    def time(self):
        if not self._h:
            self._missing()
        return _Timer(self.observe)

    def get_count(self):
        return _lib.lib.sonde_summary_count(self._h)

    def get_sum(self):
        return _lib.lib.sonde_summary_sum(self._h)

    def quantile(self, q):
        return _lib.lib.sonde_summary_quantile(self._h, q)


# ---- families ---------------------------------------------------------------------------

class _Metric:
    """A family. Without label names it is also its only child."""

    _ctype = 0
    _child_cls = _Child

    def __init__(self, name, documentation="", labelnames=(), namespace="", subsystem="",
                 unit="", registry=REGISTRY, max_children=0, _opts=None):
        if registry is None:  # prometheus_client: not registered anywhere
            registry = Registry()
        if not isinstance(registry, Registry):
            raise TypeError("registry must be a sonde.Registry, not %r" % type(registry))
        if isinstance(labelnames, str):
            labelnames = (labelnames,)
        self._labelnames = tuple(labelnames)
        if not name or not isinstance(name, str):
            raise _errors.InvalidArgument(-1, "metric name must be a non-empty str, not %r" % (name,))
        self._name = self._c_name(_full_name(name, namespace, subsystem, unit))
        self._registry = registry
        self._children = _Cache(_GEN.value)
        names = [to_bytes(n, "label name", True) for n in self._labelnames]
        self._keep = names
        o = MetricOpts()
        # the opts struct points at these bytes: keep them alive until the call
        cname, chelp = to_bytes(self._name, "metric name", True), to_bytes(documentation, "help", True)
        names += [cname, chelp]
        _lib.lib.sonde_metric_opts_init(ctypes.byref(o), self._ctype, cname, chelp)
        if unit:
            o.unit = to_bytes(unit, "unit", True)
        arr = _cstr_array(names[:len(self._labelnames)])
        o.label_names = arr
        o.label_count = len(self._labelnames)
        o.max_children = max_children
        if _opts:
            _opts(o, self._keep)
        fam = _lib.lib.sonde_family_new(registry._h, ctypes.byref(o))
        if not fam:
            raise _errors.last()
        self._fam = ctypes.c_void_p(fam)
        h = None
        if not self._labelnames:
            h = _LABELS[self._ctype](self._fam, 0, None, None)
            if not h:
                raise _errors.last()
        self._child_cls.__init__(self, h, self)

    @staticmethod
    def _c_name(full):
        return full

    @property
    def name(self):
        """The family name as registered in sonde."""
        return self._name

    def labels(self, *labelvalues, **labelkwargs):
        """The child for these label values (positional, or by name), created
        on first use and cached. Values may be str (UTF-8), bytes, or
        anything str() accepts."""
        if labelkwargs:
            if labelvalues:
                raise ValueError("can't pass both *args and **kwargs")
            if sorted(labelkwargs) != sorted(self._labelnames):
                raise ValueError("incorrect label names: %r, expected %r"
                                 % (tuple(labelkwargs), self._labelnames))
            labelvalues = tuple(labelkwargs[n] for n in self._labelnames)
        # The generation is read before the lookup: a removal after this
        # read moves it, so a child found now and removed meanwhile is
        # stored in a cache that no later call consults. A cache hit is
        # therefore never a child removed before this call (issue 13.5:
        # another object of the same family, or C code, may remove it).
        gen = _GEN.value
        cache = self._children
        if cache.gen != gen:
            cache = _Cache(gen)
            self._children = cache
        try:
            child = cache.get(labelvalues)
        except TypeError:  # an unhashable value: look it up uncached
            return self._lookup(labelvalues)
        if child is None:
            child = self._lookup(labelvalues)
            cache[labelvalues] = child
        return child

    def _encode_values(self, labelvalues):
        vals = [to_bytes(v, "label value") for v in labelvalues]
        n = len(vals)
        arr = _cstr_array(vals)
        lens = (ctypes.c_size_t * max(n, 1))(*[len(v) if v is not None else 0 for v in vals])
        return n, arr, lens

    def _lookup(self, labelvalues):
        n, arr, lens = self._encode_values(labelvalues)
        h = _LABELS[self._ctype](self._fam, n, arr, lens)
        if not h:
            raise _errors.last()
        return self._child_cls(h, self)

    def remove(self, *labelvalues):
        """Removes a child; handles to it stay safe (their writes are discarded)."""
        n, arr, lens = self._encode_values(labelvalues)
        # the removal moves the generation: every label cache (this
        # object's and any other's) revalidates on its next use
        _errors.check(_lib.lib.sonde_family_remove(self._fam, n, arr, lens))

    def clear(self):
        _lib.lib.sonde_family_clear(self._fam)

    def __len__(self):
        return _lib.lib.sonde_family_size(self._fam)

    def __repr__(self):
        return "sonde.%s(%r, labels=%r)" % (type(self).__name__, self._name, self._labelnames)


class Counter(_Metric, CounterChild):
    """Counter('name', 'help', ['label', ...]). As in prometheus_client the
    exposed name ends in _total (added when missing)."""

    _ctype = _TYPE_COUNTER
    _child_cls = CounterChild

    @staticmethod
    def _c_name(full):
        return full if full.endswith("_total") else full + "_total"


class Gauge(_Metric, GaugeChild):
    _ctype = _TYPE_GAUGE
    _child_cls = GaugeChild


_NATIVE_MODES = {None: 0, "none": 0, "only": 1, "both": 2}


class Histogram(_Metric, HistogramChild):
    """Histogram('name', 'help', labels, buckets=DEFAULT_BUCKETS). A final
    +Inf bound may be given or not; sonde always adds it.

    native="only" or "both" adds native (sparse exponential) buckets, as
    client_golang's NativeHistogram* options: native_bucket_factor (0:
    1.1), native_zero_threshold (0: 2**-128, negative: exact zeros only),
    native_max_buckets (0: 160 per sign), native_max_zero_threshold and
    native_min_reset_seconds. Only the protobuf exposition
    (generate_latest(fmt="protobuf")) carries the native buckets; a
    native="only" histogram takes no classic buckets and shows its +Inf
    bucket, sum and count in the text formats."""

    _ctype = _TYPE_HISTOGRAM
    _child_cls = HistogramChild

    def __init__(self, name, documentation="", labelnames=(), namespace="", subsystem="",
                 unit="", registry=REGISTRY, buckets=DEFAULT_BUCKETS, max_children=0,
                 native=None, native_bucket_factor=0.0, native_zero_threshold=0.0,
                 native_max_buckets=0, native_max_zero_threshold=0.0,
                 native_min_reset_seconds=0.0):
        if native not in _NATIVE_MODES:
            raise ValueError("native must be None, 'none', 'only' or 'both', not %r" % (native,))
        mode = _NATIVE_MODES[native]
        if mode == 1 and buckets is DEFAULT_BUCKETS:
            buckets = ()
        bounds = [float(b) for b in buckets]
        if bounds and bounds[-1] == INF:
            bounds.pop()
        if "le" in (labelnames if not isinstance(labelnames, str) else (labelnames,)):
            raise ValueError("histogram label name 'le' is reserved")

        def opts(o, keep):
            if bounds or mode != 1:
                arr = (ctypes.c_double * max(len(bounds), 1))(*bounds)
                keep.append(arr)
                o.buckets = arr
                o.bucket_count = len(bounds)
            o.native = mode
            o.native_bucket_factor = float(native_bucket_factor)
            o.native_zero_threshold = float(native_zero_threshold)
            o.native_max_buckets = int(native_max_buckets)
            o.native_max_zero_threshold = float(native_max_zero_threshold)
            o.native_min_reset_seconds = float(native_min_reset_seconds)
        super().__init__(name, documentation, labelnames, namespace, subsystem, unit,
                         registry, max_children, opts)


class Summary(_Metric, SummaryChild):
    """Summary('name', 'help', labels, quantiles=(0.5, 0.9, 0.99),
    max_age_seconds=600, age_buckets=5). Unlike prometheus_client's, a
    sonde summary reports quantiles over a sliding window."""

    _ctype = _TYPE_SUMMARY
    _child_cls = SummaryChild

    def __init__(self, name, documentation="", labelnames=(), namespace="", subsystem="",
                 unit="", registry=REGISTRY, quantiles=None, max_age_seconds=0,
                 age_buckets=0, max_children=0):
        def opts(o, keep):
            if quantiles is not None:
                q = [float(x) for x in quantiles]
                arr = (ctypes.c_double * max(len(q), 1))(*q)
                keep.append(arr)
                o.quantiles = arr
                o.quantile_count = len(q)
            o.max_age_seconds = float(max_age_seconds)
            o.age_buckets = int(age_buckets)
        super().__init__(name, documentation, labelnames, namespace, subsystem, unit,
                         registry, max_children, opts)


def buckets_linear(start, width, count):
    out = (ctypes.c_double * max(count, 1))()
    _errors.check(_lib.lib.sonde_buckets_linear(start, width, count, out))
    return [out[i] for i in range(count)]


def buckets_exponential(start, factor, count):
    out = (ctypes.c_double * max(count, 1))()
    _errors.check(_lib.lib.sonde_buckets_exponential(start, factor, count, out))
    return [out[i] for i in range(count)]



class CollectorRegistry(Registry):
    """prometheus_client's name for a registry of one's own: a new, empty
    sonde registry. Metrics join it when made with registry=it. Custom
    collector objects (a collect() method) are not supported: register
    refuses them with a TypeError; use callback metrics or sonde metrics."""

    def __init__(self, auto_describe=False, target_info=None):
        super().__init__()
        if target_info:
            Info("target", "Target metadata.", registry=self).info(target_info)

    def register(self, collector):
        if isinstance(collector, _Metric):
            if collector._registry is not self:
                raise ValueError("sonde: %s belongs to another registry (pass registry= "
                                 "when making it)" % collector.name)
            return
        raise TypeError("sonde: custom collectors are not supported (%r)" % (collector,))


class Info:
    """Info('name', 'help', labelnames): OpenMetrics info, exposed as
    name_info{key="value",...} 1 (`_info` added when missing). .info(dict)
    sets the key-value pairs, replacing the previous ones (as
    prometheus_client does); with labelnames, .labels(...).info(dict).

    The C family's label names are fixed when it is made, so the first
    .info() call chooses the keys; a later call with other keys re-creates
    the family (a label-less Info) or raises ValueError (an Info with
    labelnames, whose other children use the old keys)."""

    def __init__(self, name, documentation="", labelnames=(), namespace="", subsystem="",
                 registry=REGISTRY, _parent=None, _values=()):
        if registry is None:
            registry = Registry()
        if isinstance(labelnames, str):
            labelnames = (labelnames,)
        if not name or not isinstance(name, str):
            raise _errors.InvalidArgument(-1, "metric name must be a non-empty str, not %r" % (name,))
        full = _full_name(name, namespace, subsystem, "")
        self._name = full if full.endswith("_info") else full + "_info"
        self._doc = documentation
        self._labelnames = tuple(labelnames)
        self._registry = registry
        self._parent = _parent
        self._values = tuple(_values)
        self._keys = None
        self._fam = None
        self._current = None

    @property
    def name(self):
        return self._name

    def labels(self, *labelvalues, **labelkwargs):
        if labelkwargs:
            labelvalues = tuple(labelkwargs[n] for n in self._labelnames)
        if len(labelvalues) != len(self._labelnames):
            raise ValueError("incorrect label count: %d, expected %d"
                             % (len(labelvalues), len(self._labelnames)))
        return Info(self._name, self._doc, (), registry=self._registry, _parent=self,
                    _values=labelvalues)

    def _family(self, keys):
        owner = self._parent or self
        if owner._keys == keys:
            return owner._fam
        if owner._fam is not None:
            if owner._labelnames:
                raise ValueError("sonde: info keys %r differ from the ones in use %r"
                                 % (keys, owner._keys))
            _errors.check(_lib.lib.sonde_registry_unregister(owner._registry._h, owner._fam))
        names = [to_bytes(n, "label name", True) for n in owner._labelnames + keys]
        fam = _lib.lib.sonde_info_family_new(owner._registry._h, to_bytes(owner._name, "name", True),
                                             to_bytes(owner._doc, "help", True), len(names),
                                             _cstr_array(names))
        if not fam:
            raise _errors.last()
        owner._fam, owner._keys = ctypes.c_void_p(fam), keys
        return owner._fam

    def info(self, val):
        if (self._parent is None and self._labelnames):
            raise ValueError("sonde: %s has labels: use .labels(...).info(...)" % self._name)
        if not isinstance(val, dict):
            raise TypeError("info() takes a dict of str -> str")
        owner = self._parent or self
        for k in val:
            if k in owner._labelnames:
                raise ValueError("sonde: info key %r is also a label name" % (k,))
        keys = tuple(sorted(val))
        fam = self._family(keys)
        values = [to_bytes(v, "label value") for v in self._values] + \
                 [to_bytes(val[k], "label value") for k in keys]
        n = len(values)
        lens = (ctypes.c_size_t * max(n, 1))(*[len(v) for v in values])
        # replace: the previous child of this object goes first
        if self._current is not None and self._current != (fam.value, tuple(values)):
            old = list(self._current[1])
            olens = (ctypes.c_size_t * max(len(old), 1))(*[len(v) for v in old])
            if self._current[0] == fam.value:
                _lib.lib.sonde_family_remove(fam, len(old), _cstr_array(old), olens)
        _errors.check(_lib.lib.sonde_info_add(fam, n, _cstr_array(values), lens))
        self._current = (fam.value, tuple(values))

    def __repr__(self):
        return "sonde.Info(%r)" % self._name


class Enum:
    """Enum('name', 'help', states=[...]): an OpenMetrics stateset in which
    exactly one state is true; it starts in the first state, as
    prometheus_client's does. .state(name) switches it (lock-free in C).
    Labelled enums are not supported (a C stateset has no other labels):
    labelnames raises ValueError."""

    def __init__(self, name, documentation="", labelnames=(), namespace="", subsystem="",
                 unit="", registry=REGISTRY, states=None):
        if labelnames:
            raise ValueError("sonde: an Enum with labels is not supported (a sonde stateset "
                             "has no other labels)")
        if not states:
            raise ValueError("sonde: Enum %r needs states" % (name,))
        if registry is None:
            registry = Registry()
        self._name = _full_name(name, namespace, subsystem, unit)
        self._states = [str(s) for s in states]
        self._registry = registry
        bs = [to_bytes(s, "state", True) for s in self._states]
        h = _lib.lib.sonde_stateset_new(registry._h, to_bytes(self._name, "name", True),
                                        to_bytes(documentation, "help", True), len(bs),
                                        _cstr_array(bs))
        if not h:
            raise _errors.last()
        self._h = ctypes.c_void_p(h)
        self.state(self._states[0])

    @property
    def name(self):
        return self._name

    def state(self, state):
        """Makes state the true one. sonde.NotFound for an unknown state."""
        _errors.check(_lib.lib.sonde_stateset_enum(self._h, to_bytes(state, "state", True)))

    def get(self):
        """The current state's name."""
        mask = _lib.lib.sonde_stateset_mask(self._h)
        for i, s in enumerate(self._states):
            if mask >> i & 1:
                return s
        return None

    def __repr__(self):
        return "sonde.Enum(%r, states=%r)" % (self._name, self._states)
