# cython: language_level=3
"""A tiny, fast pseudo-random generator (splitmix64) shared by the board and the search.

Everything is an inline C function, so `cimport`ing this file costs nothing at run time and
the functions can be called without the GIL::

    from go_engine.rng cimport Rng, rng_seed, rng_next, rng_below, rng_uniform
    cdef Rng rng
    rng_seed(&rng, 12345)
    cdef unsigned int k = rng_below(&rng, 10)   # uniform in [0, 10)

splitmix64 passes BigCrush, has a 2**64 period and one 64-bit word of state, which makes
copying or re-seeding a generator per game or per thread trivial.
"""
from libc.stdint cimport uint32_t, uint64_t


ctypedef struct Rng:
    uint64_t state


cdef inline void rng_seed(Rng* rng, uint64_t seed) noexcept nogil:
    """Seed the generator; any 64-bit value (zero included) gives a good stream."""
    rng.state = seed


cdef inline uint64_t rng_next(Rng* rng) noexcept nogil:
    """Next 64 uniformly random bits (splitmix64, Steele, Lea & Flood 2014)."""
    rng.state += <uint64_t>0x9E3779B97F4A7C15
    cdef uint64_t z = rng.state
    z = (z ^ (z >> 30)) * <uint64_t>0xBF58476D1CE4E5B9
    z = (z ^ (z >> 27)) * <uint64_t>0x94D049BB133111EB
    return z ^ (z >> 31)


cdef inline uint32_t rng_below(Rng* rng, uint32_t n) noexcept nogil:
    """Uniform integer in [0, n) for n >= 1 (Lemire's multiply-shift; bias below 2**-32)."""
    return <uint32_t>(((rng_next(rng) >> 32) * <uint64_t>n) >> 32)


cdef inline double rng_uniform(Rng* rng) noexcept nogil:
    """Uniform double in [0, 1) with 53 random bits."""
    return (rng_next(rng) >> 11) * (1.0 / 9007199254740992.0)
