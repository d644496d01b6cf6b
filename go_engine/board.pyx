# cython: language_level=3
"""The Go board: rules, scoring and network input features, in C arrays.

Coordinates
-----------
An *action* is an int in ``[0, size*size]``: ``action = row*size + col`` where row 0 is the
top row of the diagram (GTP row ``size``) and col 0 is GTP column ``A``; ``size*size`` is
pass. Feature planes, ``stones()``, policies and the symmetries in ``go_engine.symmetry``
all use this row-major layout, so ``planes[k].flat[action]`` is the point of ``action``.

Representation
--------------
The board is a padded 1-D array of ``(size+2)**2`` points with a one-point ``BORDER`` ring,
so the four neighbours of point ``p`` are ``p-1, p+1, p-width, p+width`` with no bounds
checks. Action ``(row, col)`` is point ``(row+1)*width + col+1``.

Stones of one chain (a connected group) form a circular linked list (``next_stone``); every
stone knows its chain's root point (``group``), and the root holds the chain's size and its
*pseudo-liberties*: the number of (stone, empty neighbour) pairs, which counts a liberty once
per adjacent stone. A chain is captured exactly when that count reaches 0, and when a move is
played at ``p`` a neighbouring chain keeps a liberty exactly when its count exceeds the number
of its stones adjacent to ``p`` -- enough for captures and suicide without real liberty sets.
Merging relabels the smaller chain. Empty points are kept in an unordered list with
back-indices for O(1) updates; random playouts sample from it.

Positional superko uses a Zobrist hash of the stones (not the side to move), updated
incrementally. Each position's hash is stored in ``hash_history`` and in a 4096-bit Bloom
filter; a candidate position is looked up in the filter and, only on a hit, in the history.
The colours after each of the last 8 moves are kept in a ring (``past``) for the features.

All state lives in fixed-size arrays inside the object, so ``c_copy_from`` is a handful of
``memcpy`` calls over the part a board of this size uses (plus the hash history up to the
current move) and never allocates.

Rules: Tromp-Taylor area scoring with komi, suicide illegal, positional superko (a pass
is always legal until the game ends), the game ends after two consecutive passes or
``max_moves`` moves (passes included).

Cost (bench/engine.py, one core of this project's dev machine, 9x9): random playouts about
9M moves/s (11x OpenSpiel's C++ Go under the same policy); ``c_copy_from`` about 40 ns
per call and ``c_write_planes`` about 280 ns per call at move 60.
"""
import numpy as np

cimport numpy as cnp
from libc.stdint cimport uint64_t
from libc.string cimport memcpy, memset

from go_engine.rng cimport Rng, rng_below, rng_next, rng_seed

cnp.import_array()

GTP_LETTERS = "ABCDEFGHJKLMNOPQRST"   # GTP skips the letter I

# Why a move is illegal: the codes returned by Board._legal_point and their names.
cdef enum:
    LEGAL = 0
    OCCUPIED = 1
    SUICIDE = 2
    SUPERKO = 3
    OFF_BOARD = 4
    GAME_OVER = 5

REASONS = {OCCUPIED: "occupied", SUICIDE: "suicide", SUPERKO: "superko",
           OFF_BOARD: "off-board", GAME_OVER: "game over"}

# Zobrist keys, ZOBRIST[point][colour]; the same fixed stream for every process.
cdef uint64_t ZOBRIST[MAX_POINTS][3]


cdef void _init_zobrist() noexcept:
    cdef Rng rng
    cdef int p
    rng_seed(&rng, <uint64_t>0x60B0A2D5EED)
    for p in range(MAX_POINTS):
        ZOBRIST[p][EMPTY] = 0
        ZOBRIST[p][BLACK] = rng_next(&rng)
        ZOBRIST[p][WHITE] = rng_next(&rng)


_init_zobrist()


class IllegalMove(ValueError):
    """A move that the rules forbid; ``reason`` is one of the values of ``REASONS``."""

    def __init__(self, move: str, reason: str) -> None:
        super().__init__(f"illegal move {move}: {reason}")
        self.move = move
        self.reason = reason


def action_to_gtp(action: int, size: int) -> str:
    """GTP vertex of an action on a size x size board, e.g. 40 -> "E5" on 9x9, 81 -> "pass"."""
    if action == size * size:
        return "pass"
    if not 0 <= action < size * size:
        raise IllegalMove(str(action), REASONS[OFF_BOARD])
    row, col = divmod(action, size)
    return f"{GTP_LETTERS[col]}{size - row}"


def gtp_to_action(text: str, size: int) -> int:
    """Action of a GTP vertex ("D5", "d5", "pass"); ValueError if malformed, IllegalMove if off-board."""
    vertex = text.strip().upper()
    if vertex == "PASS":
        return size * size
    if len(vertex) < 2 or vertex[0] not in GTP_LETTERS or not vertex[1:].isdigit():
        raise ValueError(f"malformed vertex {text!r}: expected a letter A-T (no I) and a row number, or 'pass'")
    col = GTP_LETTERS.index(vertex[0])
    row_number = int(vertex[1:])
    if col >= size or not 1 <= row_number <= size:
        raise IllegalMove(vertex, REASONS[OFF_BOARD])
    return (size - row_number) * size + col


cdef class Board:
    """A Go position with its history; see the module docstring for conventions.

    ``Board(size=9, komi=7.5, max_moves=None)``: sizes 5..19; ``max_moves`` defaults to
    ``2*size*size`` and may be at most 2048.
    """

    def __init__(self, int size=9, double komi=7.5, max_moves=None):
        if not MIN_SIZE <= size <= MAX_SIZE:
            raise ValueError(f"board size must be between {MIN_SIZE} and {MAX_SIZE}, got {size}")
        if max_moves is None:
            max_moves = 2 * size * size
        if not 1 <= max_moves <= MAX_MOVES:
            raise ValueError(f"max_moves must be between 1 and {MAX_MOVES}, got {max_moves}")
        self.size = size
        self.num_actions = size * size + 1
        self.pass_action = size * size
        self.komi = komi
        self.max_moves = max_moves
        self.width = size + 2
        self.num_points = self.width * self.width
        w = self.width
        for i, offset in enumerate((-w, -1, 1, w, -w - 1, -w + 1, w - 1, w + 1)):
            self.offsets[i] = offset
        self._reset()

    cdef void _reset(self) noexcept nogil:
        """Empty board, black to move, no history."""
        cdef int p, row, col
        self.player = BLACK
        self.passes = 0
        self.moves = 0
        self.hash = 0
        self.prisoners[BLACK] = 0
        self.prisoners[WHITE] = 0
        self.num_empty = 0
        for p in range(self.num_points):
            row = p // self.width
            col = p % self.width
            if 1 <= row <= self.size and 1 <= col <= self.size:
                self.color[p] = EMPTY
                self._add_empty(p)
            else:
                self.color[p] = BORDER
        memset(self.bloom, 0, sizeof(self.bloom))
        self.hash_history[0] = 0
        self.bloom[0] |= 1          # the empty board's hash, 0, lands in word 0 bit 0
        memcpy(self.past, self.color, self.num_points)

    # --- coordinates ------------------------------------------------------------------

    cdef int _point(self, int action) noexcept nogil:
        return (action // self.size + 1) * self.width + action % self.size + 1

    cdef int _action(self, int point) noexcept nogil:
        return (point // self.width - 1) * self.size + point % self.width - 1

    # --- empty-point list -------------------------------------------------------------

    cdef void _add_empty(self, int point) noexcept nogil:
        self.empty_index[point] = self.num_empty
        self.empty_list[self.num_empty] = point
        self.num_empty += 1

    cdef void _remove_empty(self, int point) noexcept nogil:
        cdef int i = self.empty_index[point]
        cdef int last = self.empty_list[self.num_empty - 1]
        self.empty_list[i] = last
        self.empty_index[last] = i
        self.num_empty -= 1

    # --- rules ------------------------------------------------------------------------

    cdef bint _seen(self, uint64_t h) noexcept nogil:
        """Whether a position with hash h occurred earlier in this game (superko)."""
        cdef int i
        if not (self.bloom[h >> 58] >> (h & 63)) & 1:
            return False
        for i in range(self.moves, -1, -1):
            if self.hash_history[i] == h:
                return True
        return False

    cdef int _legal_point(self, int point) noexcept nogil:
        """LEGAL or the reason why the player to move may not play at this on-board point."""
        cdef int me = self.player, opponent = 3 - self.player
        cdef int* offsets = self.offsets
        cdef int[4] captured          # roots of the opponent chains this move captures
        cdef int num_captured = 0
        cdef bint has_liberty = False
        cdef uint64_t h = self.hash ^ ZOBRIST[point][me]
        cdef int i, j, q, root, adjacent, c, s

        if self.color[point] != EMPTY:
            return OCCUPIED
        for i in range(4):
            q = point + offsets[i]
            c = self.color[q]
            if c == EMPTY:
                has_liberty = True
                continue
            if c == BORDER:
                continue
            # A neighbouring chain loses one pseudo-liberty per stone adjacent to the point.
            root = self.group[q]
            adjacent = 0
            for j in range(4):
                if self.color[point + offsets[j]] == c and self.group[point + offsets[j]] == root:
                    adjacent += 1
            if c == me:
                if self.libs[root] > adjacent:
                    has_liberty = True
            elif self.libs[root] == adjacent:
                for j in range(num_captured):
                    if captured[j] == root:
                        break
                else:
                    captured[num_captured] = root
                    num_captured += 1
                    has_liberty = True
        if not has_liberty:
            return SUICIDE
        for i in range(num_captured):
            s = captured[i]
            while True:
                h ^= ZOBRIST[s][opponent]
                s = self.next_stone[s]
                if s == captured[i]:
                    break
        if self._seen(h):
            return SUPERKO
        return LEGAL

    cdef void _merge(self, int a, int b) noexcept nogil:
        """Join the chains with roots a and b (a != b); the larger root survives."""
        cdef int s, t
        if self.chain_size[a] < self.chain_size[b]:
            a, b = b, a
        s = b
        while True:
            self.group[s] = a
            s = self.next_stone[s]
            if s == b:
                break
        t = self.next_stone[a]
        self.next_stone[a] = self.next_stone[b]
        self.next_stone[b] = t
        self.libs[a] += self.libs[b]
        self.chain_size[a] += self.chain_size[b]

    cdef int _capture(self, int root) noexcept nogil:
        """Remove the chain at root; returns the number of stones removed."""
        cdef int colour = self.color[root]
        cdef int s = root, n = 0, q, i
        while True:
            self.color[s] = EMPTY
            self.hash ^= ZOBRIST[s][colour]
            self._add_empty(s)
            n += 1
            s = self.next_stone[s]
            if s == root:
                break
        # Every stone next to a removed one gains a pseudo-liberty (the chain is empty now).
        while True:
            for i in range(4):
                q = s + self.offsets[i]
                if self.color[q] == BLACK or self.color[q] == WHITE:
                    self.libs[self.group[q]] += 1
            s = self.next_stone[s]
            if s == root:
                break
        return n

    cdef void _record_position(self, int action) noexcept nogil:
        """Append the move just played and the resulting position to the history."""
        cdef uint64_t h = self.hash
        self.move_history[self.moves] = action
        self.moves += 1
        self.hash_history[self.moves] = h
        self.bloom[h >> 58] |= (<uint64_t>1) << (h & 63)
        memcpy(self.past + (self.moves % HISTORY_PLANES) * self.num_points, self.color, self.num_points)

    cdef bint _is_eye_point(self, int point, int colour) noexcept nogil:
        cdef int i, q, opponent_diagonals = 0, border_diagonals = 0
        if self.color[point] != EMPTY:
            return False
        for i in range(4):
            q = point + self.offsets[i]
            if self.color[q] != colour and self.color[q] != BORDER:
                return False
        for i in range(4, 8):
            q = point + self.offsets[i]
            if self.color[q] == BORDER:
                border_diagonals += 1
            elif self.color[q] == 3 - colour:
                opponent_diagonals += 1
        if border_diagonals:
            return opponent_diagonals == 0
        return opponent_diagonals <= 1

    # --- the C contract (board.pxd) ---------------------------------------------------

    cdef bint c_is_over(self) noexcept nogil:
        return self.passes >= 2 or self.moves >= self.max_moves

    cdef int c_to_play(self) noexcept nogil:
        return 1 if self.player == BLACK else -1

    cdef bint c_is_legal(self, int action) noexcept nogil:
        if self.c_is_over() or action < 0 or action > self.pass_action:
            return False
        if action == self.pass_action:
            return True
        return self._legal_point(self._point(action)) == LEGAL

    cdef int c_legal_mask(self, unsigned char* out) noexcept nogil:
        cdef int action, count = 0
        if self.c_is_over():
            memset(out, 0, self.num_actions)
            return 0
        for action in range(self.pass_action):
            out[action] = self._legal_point(self._point(action)) == LEGAL
            count += out[action]
        out[self.pass_action] = 1
        return count + 1

    cdef int c_sensible_mask(self, unsigned char* out) noexcept nogil:
        """The legal mask without the mover's own eyes, with the pass only when no other move
        is left: the candidate moves of Monte-Carlo Go playouts."""
        cdef int action, count = 0
        if self.c_legal_mask(out) == 0:
            return 0
        for action in range(self.pass_action):
            if out[action]:
                if self._is_eye_point(self._point(action), self.player):
                    out[action] = 0
                else:
                    count += 1
        if count > 0:
            out[self.pass_action] = 0
            return count
        return 1

    cdef int c_play(self, int action) noexcept nogil:
        cdef int me = self.player, opponent = 3 - self.player
        cdef int point, i, q, c, captured = 0
        if action == self.pass_action:
            self.passes += 1
        else:
            self.passes = 0
            point = self._point(action)
            self.color[point] = me
            self.group[point] = point
            self.next_stone[point] = point
            self.chain_size[point] = 1
            self.libs[point] = 0
            self.hash ^= ZOBRIST[point][me]
            self._remove_empty(point)
            for i in range(4):
                q = point + self.offsets[i]
                c = self.color[q]
                if c == EMPTY:
                    self.libs[point] += 1
                elif c != BORDER:
                    self.libs[self.group[q]] -= 1
            for i in range(4):
                q = point + self.offsets[i]
                c = self.color[q]
                if c == me and self.group[q] != self.group[point]:
                    self._merge(self.group[point], self.group[q])
                elif c == opponent and self.libs[self.group[q]] == 0:
                    captured += self._capture(self.group[q])
            self.prisoners[me] += captured
        self.player = opponent
        self._record_position(action)
        return captured

    cdef void c_copy_from(self, Board other) noexcept nogil:
        cdef int n = other.num_points
        self.size = other.size
        self.num_actions = other.num_actions
        self.komi = other.komi
        self.max_moves = other.max_moves
        self.width = other.width
        self.num_points = n
        self.pass_action = other.pass_action
        memcpy(self.offsets, other.offsets, sizeof(self.offsets))
        self.player = other.player
        self.passes = other.passes
        self.moves = other.moves
        self.hash = other.hash
        self.prisoners[BLACK] = other.prisoners[BLACK]
        self.prisoners[WHITE] = other.prisoners[WHITE]
        self.num_empty = other.num_empty
        memcpy(self.color, other.color, n * sizeof(unsigned char))
        memcpy(self.group, other.group, n * sizeof(short))
        memcpy(self.next_stone, other.next_stone, n * sizeof(short))
        memcpy(self.libs, other.libs, n * sizeof(short))
        memcpy(self.chain_size, other.chain_size, n * sizeof(short))
        memcpy(self.empty_list, other.empty_list, other.num_empty * sizeof(short))
        memcpy(self.empty_index, other.empty_index, n * sizeof(short))
        memcpy(self.past, other.past, HISTORY_PLANES * n * sizeof(unsigned char))
        memcpy(self.bloom, other.bloom, sizeof(self.bloom))
        memcpy(self.hash_history, other.hash_history, (other.moves + 1) * sizeof(uint64_t))
        memcpy(self.move_history, other.move_history, other.moves * sizeof(short))

    cdef void c_write_planes(self, float* out) noexcept nogil:
        cdef int area = self.size * self.size
        cdef unsigned char me = self.player, opponent = 3 - self.player
        cdef int k, m, row, i
        cdef unsigned char compact[MAX_SIZE * MAX_SIZE]
        cdef unsigned char* colours
        cdef float* mine
        cdef float* theirs
        cdef float to_move_is_black = 1.0 if self.player == BLACK else 0.0
        for k in range(HISTORY_PLANES):
            mine = out + k * area
            theirs = out + (HISTORY_PLANES + k) * area
            m = self.moves - k
            if m < 0:           # before the first move: all zeros
                memset(mine, 0, area * sizeof(float))
                memset(theirs, 0, area * sizeof(float))
                continue
            colours = self.past + (m % HISTORY_PLANES) * self.num_points
            # Gather the rows into a compact local copy first: float stores cannot alias a
            # local array, so the compiler vectorises the conversion loop.
            for row in range(self.size):
                memcpy(compact + row * self.size, colours + (row + 1) * self.width + 1, self.size)
            for i in range(area):
                mine[i] = compact[i] == me
                theirs[i] = compact[i] == opponent
        mine = out + 2 * HISTORY_PLANES * area
        for i in range(area):
            mine[i] = to_move_is_black

    cdef void _area_owners(self, signed char* owner) noexcept nogil:
        """Tromp-Taylor owner of every padded point: +1 a black stone or an empty region that
        reaches only black, -1 likewise for white, 0 for neutral empty points and the border."""
        cdef unsigned char visited[MAX_POINTS]
        cdef short stack[MAX_POINTS]
        cdef short region[MAX_POINTS]
        cdef int p, i, q, s, top, size, reaches
        cdef signed char mark
        memset(visited, 0, self.num_points)
        for p in range(self.num_points):
            owner[p] = 1 if self.color[p] == BLACK else (-1 if self.color[p] == WHITE else 0)
        for p in range(self.num_points):
            if self.color[p] != EMPTY or visited[p]:
                continue
            # Flood the empty region from p; `reaches` collects the colours it borders.
            size = 0
            reaches = 0
            visited[p] = 1
            stack[0] = p
            top = 1
            while top:
                top -= 1
                s = stack[top]
                region[size] = s
                size += 1
                for i in range(4):
                    q = s + self.offsets[i]
                    if self.color[q] == EMPTY:
                        if not visited[q]:
                            visited[q] = 1
                            stack[top] = q
                            top += 1
                    elif self.color[q] != BORDER:
                        reaches |= self.color[q]
            mark = 1 if reaches == BLACK else (-1 if reaches == WHITE else 0)
            for i in range(size):
                owner[region[i]] = mark

    cdef void c_ownership(self, signed char* out) noexcept nogil:
        """The Tromp-Taylor owner of each board point, in action order (see _area_owners)."""
        cdef signed char owner[MAX_POINTS]
        cdef int row
        self._area_owners(owner)
        for row in range(self.size):
            memcpy(out + row * self.size, owner + (row + 1) * self.width + 1, self.size)

    cdef double c_score(self) noexcept nogil:
        """Tromp-Taylor: stones plus empty regions that reach only one colour."""
        cdef signed char owner[MAX_POINTS]
        cdef int p, total = 0
        self._area_owners(owner)
        for p in range(self.num_points):
            total += owner[p]
        return total - self.komi

    cdef bint c_is_own_eye(self, int action) noexcept nogil:
        if action < 0 or action >= self.pass_action:
            return False
        return self._is_eye_point(self._point(action), self.player)

    cdef int c_random_playout(self, Rng* rng, bint fill_own_eyes, int max_moves) noexcept nogil:
        """Play random legal moves until the game ends (or max_moves moves, if >= 0).

        With fill_own_eyes, each move is uniform over all legal actions, pass included (the
        policy of OpenSpiel's uniform random bot). Without it, each move is uniform over the
        legal moves that do not fill the mover's own eye, and the player passes only when no
        such move is left (the usual Monte-Carlo playout policy).
        """
        cdef short candidates[MAX_POINTS]
        cdef int played = 0, n, i, point, chosen
        while not self.c_is_over() and (max_moves < 0 or played < max_moves):
            n = self.num_empty
            memcpy(candidates, self.empty_list, n * sizeof(short))
            chosen = -1
            # Rejection sampling without replacement: drop each illegal candidate we draw.
            while n > 0:
                i = rng_below(rng, n + 1 if fill_own_eyes else n)
                if i == n:                      # drew the pass
                    break
                point = candidates[i]
                if ((fill_own_eyes or not self._is_eye_point(point, self.player))
                        and self._legal_point(point) == LEGAL):
                    chosen = point
                    break
                n -= 1
                candidates[i] = candidates[n]
            self.c_play(self.pass_action if chosen < 0 else self._action(chosen))
            played += 1
        return played

    # --- Python API -------------------------------------------------------------------

    def play(self, int action) -> int:
        """Play an action (``size*size`` = pass) for the side to move; returns stones captured.

        Raises IllegalMove (reason off-board, game over, occupied, suicide or superko) and
        leaves the board unchanged if the move is not legal.
        """
        cdef int reason = LEGAL
        if action < 0 or action > self.pass_action:
            raise IllegalMove(str(action), REASONS[OFF_BOARD])
        if self.c_is_over():
            reason = GAME_OVER
        elif action != self.pass_action:
            reason = self._legal_point(self._point(action))
        if reason != LEGAL:
            raise IllegalMove(self.vertex_to_gtp(action), REASONS[reason])
        return self.c_play(action)

    def play_gtp(self, vertex: str) -> int:
        """Play a GTP vertex such as "D5", "d5" or "pass"; see play()."""
        return self.play(self.gtp_to_action(vertex))

    def is_legal(self, int action) -> bool:
        """Whether the side to move may play this action now (False for out-of-range actions)."""
        return self.c_is_legal(action)

    def legal_actions(self) -> np.ndarray:
        """Boolean mask of length size*size+1 over actions; all False once the game is over."""
        mask = np.zeros(self.num_actions, dtype=np.bool_)
        self.c_legal_mask(<unsigned char*>cnp.PyArray_DATA(mask))
        return mask

    def sensible_actions(self) -> np.ndarray:
        """Boolean mask of the legal actions that fill none of the mover's own eyes, with pass
        set only when no such board move is left (the rule of SearchConfig.sensible_moves)."""
        mask = np.zeros(self.num_actions, dtype=np.bool_)
        self.c_sensible_mask(<unsigned char*>cnp.PyArray_DATA(mask))
        return mask

    @property
    def to_play(self) -> int:
        """+1 if black is to move, -1 if white."""
        return self.c_to_play()

    def is_over(self) -> bool:
        """True after two consecutive passes or max_moves moves."""
        return self.c_is_over()

    def score(self) -> float:
        """Tromp-Taylor area score: black points minus white points minus komi."""
        return self.c_score()

    def ownership(self) -> np.ndarray:
        """int8 [size*size] in action order: +1 where black owns the point under area scoring
        (its stone, or an empty region reaching only black), -1 for white, 0 neutral (an empty
        region reaching both colours or none). sum(ownership()) - komi == score()."""
        out = np.zeros(self.size * self.size, dtype=np.int8)
        self.c_ownership(<signed char*>cnp.PyArray_DATA(out))
        return out

    def winner(self) -> int:
        """+1 if black leads on score(), -1 if white does, 0 for a tie."""
        cdef double s = self.c_score()
        return (s > 0) - (s < 0)

    def copy(self) -> Board:
        """An independent copy with the full history."""
        cdef Board board = Board.__new__(Board)
        board.c_copy_from(self)
        return board

    def __reduce__(self):
        return (_replay, (self.size, self.komi, self.max_moves, self.history))

    @property
    def zobrist_hash(self) -> int:
        """64-bit Zobrist hash of the stones on the board (the side to move is not included)."""
        return self.hash

    @property
    def move_count(self) -> int:
        """Moves played so far, passes included."""
        return self.moves

    @property
    def history(self) -> list:
        """The actions played so far, in order."""
        return [self.move_history[i] for i in range(self.moves)]

    @property
    def captures(self) -> tuple:
        """(white stones captured by black, black stones captured by white)."""
        return self.prisoners[BLACK], self.prisoners[WHITE]

    def stones(self) -> np.ndarray:
        """int8 array [size, size]: +1 black, -1 white, 0 empty; row 0 is the top row."""
        out = np.zeros((self.size, self.size), dtype=np.int8)
        cdef signed char[:, ::1] view = out
        cdef int row, col, c
        for row in range(self.size):
            for col in range(self.size):
                c = self.color[(row + 1) * self.width + col + 1]
                view[row, col] = 1 if c == BLACK else (-1 if c == WHITE else 0)
        return out

    def write_planes(self, cnp.ndarray out) -> None:
        """Write the 17 feature planes into a C-contiguous float32 array of 17*size*size
        elements (e.g. shape [17, size, size], or batch[i] of a [B, 17, size, size] batch).

        Planes 0..7: stones of the player to move at t, t-1, ..., t-7 (zeros before the
        first move); 8..15: the opponent's stones at the same times; 16: ones if black is
        to move, else zeros. No allocation.
        """
        if (out.dtype.type is not np.float32 or not out.flags.c_contiguous
                or not out.flags.writeable or out.size != NUM_PLANES * self.size * self.size):
            raise ValueError(f"write_planes needs a writeable C-contiguous float32 array with "
                             f"{NUM_PLANES}x{self.size}x{self.size} elements")
        self.c_write_planes(<float*>cnp.PyArray_DATA(out))

    def planes(self) -> np.ndarray:
        """The 17 feature planes as a new float32 array [17, size, size]; see write_planes()."""
        out = np.empty((NUM_PLANES, self.size, self.size), dtype=np.float32)
        self.c_write_planes(<float*>cnp.PyArray_DATA(out))
        return out

    def is_own_eye(self, int action) -> bool:
        """Whether action is an eye of the side to move (see c_is_own_eye in board.pxd)."""
        return self.c_is_own_eye(action)

    def random_playout(self, uint64_t seed, bint fill_own_eyes=True, int max_moves=-1) -> int:
        """Play random moves on this board to the end of the game; returns moves played."""
        cdef Rng rng
        cdef int played
        rng_seed(&rng, seed)
        with nogil:
            played = self.c_random_playout(&rng, fill_own_eyes, max_moves)
        return played

    def random_playouts(self, int games, uint64_t seed, bint fill_own_eyes=True) -> tuple:
        """Play `games` random games from this position, leaving it unchanged.

        Returns (total moves played, games black won). The loop runs in C without the GIL.
        """
        cdef Board scratch = Board.__new__(Board)
        cdef Rng rng
        cdef long long total = 0
        cdef int black_wins = 0, g
        rng_seed(&rng, seed)
        with nogil:
            for g in range(games):
                scratch.c_copy_from(self)
                total += scratch.c_random_playout(&rng, fill_own_eyes, -1)
                black_wins += scratch.c_score() > 0
        return total, black_wins

    def vertex_to_gtp(self, int action) -> str:
        """GTP vertex of an action on this board, e.g. "D5" or "pass"."""
        return action_to_gtp(action, self.size)

    def gtp_to_action(self, text: str) -> int:
        """Action of a GTP vertex on this board; ValueError if malformed, IllegalMove if off-board."""
        return gtp_to_action(text, self.size)

    def __str__(self) -> str:
        letters = "   " + " ".join(GTP_LETTERS[:self.size])
        symbols = {EMPTY: ".", BLACK: "X", WHITE: "O"}
        lines = [letters]
        for row in range(self.size):
            number = self.size - row
            cells = " ".join(symbols[self.color[(row + 1) * self.width + col + 1]]
                             for col in range(self.size))
            lines.append(f"{number:2d} {cells} {number:2d}")
        lines.append(letters)
        side = "game over" if self.c_is_over() else ("black" if self.player == BLACK else "white") + " to move"
        lines.append(f"move {self.moves}, {side}, komi {self.komi:g}")
        return "\n".join(lines)

    def __repr__(self) -> str:
        return f"Board(size={self.size}, komi={self.komi:g}, moves={self.moves})"


def _replay(size: int, komi: float, max_moves: int, history: list) -> Board:
    """Rebuild a board from its moves (used by pickle)."""
    board = Board(size, komi, max_moves)
    for action in history:
        board.play(action)
    return board
