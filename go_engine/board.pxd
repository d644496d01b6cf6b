# cython: language_level=3
"""C-level interface of go_engine.board.Board, for `cimport` by the search.

See board.pyx for the representation. Actions are ints in [0, size*size]: action =
row*size + col with row 0 the top row of the GTP diagram (GTP row `size`), col 0 = GTP 'A';
action size*size is pass. All `c_*` methods are callable without the GIL.
"""
from libc.stdint cimport uint64_t
from go_engine.rng cimport Rng

cdef enum:
    MAX_SIZE = 19
    MIN_SIZE = 5
    MAX_POINTS = (MAX_SIZE + 2) * (MAX_SIZE + 2)   # padded board with a one-point border
    HISTORY_PLANES = 8                             # positions t, t-1, ..., t-7 in the features
    NUM_PLANES = 2 * HISTORY_PLANES + 1            # 17 AlphaGo Zero input planes
    BLOOM_WORDS = 64                               # 4096-bit filter over earlier position hashes
    MAX_MOVES = 2048                               # largest allowed max_moves

cdef enum:
    EMPTY = 0
    BLACK = 1
    WHITE = 2
    BORDER = 3


cdef class Board:
    cdef readonly int size          # board side
    cdef readonly int num_actions   # size*size + 1
    cdef readonly double komi
    cdef readonly int max_moves     # the game ends after this many moves (passes included)

    # --- geometry ---------------------------------------------------------------------
    cdef int width                  # size + 2 (padded side)
    cdef int num_points             # width * width (padded points in use)
    cdef int pass_action            # size * size
    cdef int offsets[8]             # point offsets of the 4 neighbours, then the 4 diagonals

    # --- game state -------------------------------------------------------------------
    cdef int player                 # BLACK or WHITE, the colour to move
    cdef int passes                 # consecutive passes just played
    cdef int moves                  # moves played so far (move_count)
    cdef uint64_t hash              # Zobrist hash of the stones (not the side to move)
    cdef int prisoners[3]           # prisoners[BLACK]: white stones captured by black, ...

    # --- per padded point (only the first num_points entries are used) ----------------
    cdef unsigned char color[MAX_POINTS]    # EMPTY / BLACK / WHITE / BORDER
    cdef short group[MAX_POINTS]            # root point of the chain holding this stone
    cdef short next_stone[MAX_POINTS]       # circular linked list of each chain's stones
    cdef short libs[MAX_POINTS]             # at a root: pseudo-liberties of its chain
    cdef short chain_size[MAX_POINTS]       # at a root: stones in its chain
    cdef short empty_list[MAX_POINTS]       # the empty points, in no order
    cdef short empty_index[MAX_POINTS]      # position of an empty point in empty_list
    cdef int num_empty

    # --- history ----------------------------------------------------------------------
    cdef unsigned char past[HISTORY_PLANES * MAX_POINTS]  # colours after move m at slot m % 8
    cdef uint64_t bloom[BLOOM_WORDS]        # Bloom filter of hash_history[0..moves]
    cdef uint64_t hash_history[MAX_MOVES + 1]   # position hash after each move; [0] = empty board
    cdef short move_history[MAX_MOVES]          # the actions played

    # --- the contract used by the search ----------------------------------------------
    cdef bint c_is_legal(self, int action) noexcept nogil        # full legality incl. superko and game over
    cdef int c_play(self, int action) noexcept nogil             # plays an action known to be legal; returns stones captured
    cdef void c_copy_from(self, Board other) noexcept nogil      # overwrite self with other's full state; no heap allocation when sizes match
    cdef int c_legal_mask(self, unsigned char* out) noexcept nogil   # writes num_actions 0/1 flags, returns how many are legal
    cdef int c_sensible_mask(self, unsigned char* out) noexcept nogil  # legal, minus own eyes, pass only if nothing else; returns the count
    cdef void c_write_planes(self, float* out) noexcept nogil    # 17*size*size floats, layout in board.pyx
    cdef bint c_is_over(self) noexcept nogil
    cdef double c_score(self) noexcept nogil                     # black - white - komi, Tromp-Taylor
    cdef void c_ownership(self, signed char* out) noexcept nogil  # size*size owners: +1 black, -1 white, 0 neutral
    cdef int c_to_play(self) noexcept nogil                      # +1 black, -1 white
    cdef bint c_is_own_eye(self, int action) noexcept nogil      # mover's eye: 4 neighbours own/edge, <= 1 opponent diagonal (0 on edge)
    cdef int c_random_playout(self, Rng* rng, bint fill_own_eyes, int max_moves) noexcept nogil  # random legal moves to the end; returns moves played

    # --- internals --------------------------------------------------------------------
    cdef int _point(self, int action) noexcept nogil
    cdef int _action(self, int point) noexcept nogil
    cdef int _legal_point(self, int point) noexcept nogil       # 0 if legal, else a reason code
    cdef bint _seen(self, uint64_t h) noexcept nogil
    cdef void _record_position(self, int action) noexcept nogil
    cdef void _remove_empty(self, int point) noexcept nogil
    cdef void _add_empty(self, int point) noexcept nogil
    cdef void _merge(self, int a, int b) noexcept nogil
    cdef int _capture(self, int root) noexcept nogil
    cdef bint _is_eye_point(self, int point, int colour) noexcept nogil
    cdef void _area_owners(self, signed char* owner) noexcept nogil  # Tromp-Taylor owner per padded point
    cdef void _reset(self) noexcept nogil
