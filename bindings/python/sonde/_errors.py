"""sonde status codes as Python exceptions.

Every failing C call becomes a SondeError carrying the C status (its
negative code and symbol) and the thread's last-error message, which names
what was wrong ("metric name \"9x\" is invalid at byte 0: ..."). The
subclasses also derive from the matching built-in exception, so
`except ValueError` catches bad names and wrong label counts.
"""

from . import _lib

_last_error = _lib.fn("sonde_last_error")
_last_status = _lib.fn("sonde_last_status")


class SondeError(Exception):
    """A sonde call failed. .status is the C code, .name its symbol."""

    def __init__(self, status, message):
        self.status = status
        self.name = _lib.lib.sonde_status_name(status).decode()
        self.message = message
        super().__init__("%s (%s)" % (message, self.name))


class InvalidArgument(SondeError, ValueError):
    pass


class AlreadyExists(SondeError, ValueError):
    pass


class NotFound(SondeError, LookupError):
    pass


class LimitReached(SondeError):
    pass


class WrongType(SondeError, TypeError):
    pass


class OutOfMemory(SondeError, MemoryError):
    pass


class StateError(SondeError, RuntimeError):
    pass


class Timeout(SondeError, TimeoutError):
    pass


_CLASSES = {-1: InvalidArgument, -2: OutOfMemory, -3: AlreadyExists, -4: NotFound,
            -5: LimitReached, -6: WrongType, -7: InvalidArgument, -9: StateError,
            -10: Timeout}


def from_status(status, fallback=None):
    """The exception for a status returned by a C call (message from
    sonde_last_error(), which that call set on this thread)."""
    msg = _last_error().decode("utf-8", "replace") or fallback or \
        _lib.lib.sonde_strerror(status).decode()
    return _CLASSES.get(status, SondeError)(status, msg)


def last(fallback=None):
    """The exception for a constructor that returned NULL."""
    status = _last_status() or -1
    return from_status(status, fallback)


def check(status):
    if status < 0:
        raise from_status(status)
    return status
