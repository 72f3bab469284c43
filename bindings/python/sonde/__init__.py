"""sonde: Python binding of the sonde instrumentation SDK (libsonde).

A thin ctypes layer: metrics, exposition, the structured logger and trace
context all live in libsonde, so Python code and the C/C++ (or Go, Rust)
code of the same process share one registry, one log stream and one trace
context (and one set of health probes, sonde.Health). The metrics API
follows prometheus_client:

    from sonde import Counter, Histogram, generate_latest
    c = Counter('app_requests', 'Requests.', ['method'])
    c.labels('GET').inc()
    h = Histogram('app_latency_seconds', 'Latency.')
    with h.time():
        work()
    print(generate_latest().decode())

The shared library is found through $SONDE_LIBRARY, then the package
folder, then the system path (see sonde._lib).
"""

from . import _lib
from . import otlp
from ._errors import (AlreadyExists, InvalidArgument, LimitReached, NotFound, OutOfMemory,
                      SondeError, StateError, Timeout, WrongType)
from .health import Health
from .http import HTTPMetrics
from .exposition import (CONTENT_TYPE_LATEST, CONTENT_TYPE_OPENMETRICS, CONTENT_TYPE_PROTOBUF,
                         choose_encoder, delete_from_gateway, expose_http, generate_latest,
                         make_asgi_app, make_wsgi_app, negotiate, push_to_gateway,
                         pushadd_to_gateway, start_http_server, write_to_textfile)
from .metrics import (DEFAULT_BUCKETS, REGISTRY, CollectorRegistry, Counter, Enum, Gauge,
                      Histogram, Info, Registry, Summary, buckets_exponential, buckets_linear)
from .trace import (Baggage, Span, SpanContext, TraceParent, TraceState, attach,
                    current_context, enable_span_metrics, extract, inject,
                    set_sampler_ratio, set_span_logger, reset_span_logger, span)

if _lib.HAVE_LOG:
    from . import log
    from .log import LogHandler, Logger, file_sink, stderr_sink, stdout_sink
    from .log import flush as log_flush
    from .log import log_context
    from .log import sampled_total as log_sampled_total
    from .log import shutdown as log_shutdown

__version__ = "0.1.0"
library_path = _lib.path


def instance_check():
    """Raises sonde.StateError when the libsonde Python uses found another
    copy of libsonde already loaded in the process (say, a C extension or a
    Go/Rust component that linked libsonde.a): each copy has its own
    registry, so one copy's series never reach the other's exposition.
    The message names both copies' files. Link every component against the
    shared libsonde.so. The check ran once, when the library loaded."""
    from . import _errors
    _errors.check(_lib.lib.sonde_instance_check())


def library_version():
    """The version string of the libsonde actually loaded."""
    return _lib.lib.sonde_version().decode()
