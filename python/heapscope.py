"""heapscope from Python: a named snapshot of the live heap, taken now.

    import heapscope
    heapscope.snapshot("loaded")   # a no-op when the program is not traced

`heapscope run` puts this module on the path of a CPython it traces. The
snapshot is the traced process's own (libheapscope's heapscope_snapshot):
every object's block with its Python type, and the pointers between them.
"""
import ctypes

__all__ = ["snapshot", "traced"]

try:
    _snapshot = ctypes.CDLL(None).heapscope_snapshot
    _snapshot.argtypes = [ctypes.c_char_p]
    _snapshot.restype = None
except (AttributeError, OSError):
    _snapshot = None


def traced():
    """Whether this process is traced by heapscope."""
    return _snapshot is not None


def snapshot(name):
    """Takes a snapshot named NAME (a str); nothing when not traced."""
    if _snapshot is not None:
        _snapshot(str(name).encode())
