# cython: language_level=3, boundscheck=False, wraparound=False
"""Per-call cost of the board kernels the search calls once per simulation.

Compiled on the fly by bench/engine.py (pyximport); it cimports go_engine.board exactly as
go_engine/search.pyx does, so it measures the C calls without any Python in the loop.
"""
from posix.time cimport CLOCK_MONOTONIC, clock_gettime, timespec

from go_engine.board cimport Board


cdef double _now() noexcept nogil:
    cdef timespec t
    clock_gettime(CLOCK_MONOTONIC, &t)
    return t.tv_sec + t.tv_nsec * 1e-9


def copy_from_ns(Board source, int calls) -> float:
    """Nanoseconds per `scratch.c_copy_from(source)`."""
    cdef Board scratch = source.copy()
    cdef int i
    cdef double start = _now()
    with nogil:
        for i in range(calls):
            scratch.c_copy_from(source)
    return (_now() - start) / calls * 1e9


def write_planes_ns(Board board, float[::1] out, int calls) -> float:
    """Nanoseconds per `board.c_write_planes(out)`; out holds 17*size*size floats."""
    cdef int i
    cdef double start = _now()
    with nogil:
        for i in range(calls):
            board.c_write_planes(&out[0])
    return (_now() - start) / calls * 1e9
