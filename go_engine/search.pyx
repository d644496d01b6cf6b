# cython: language_level=3
"""Batched PUCT or Gumbel search over G concurrent Go games with a FLOPs budget per move (thesis ch. 6).

One `BatchedSearch` owns G games and one tree per game, stored as C arrays (see search.pxd:
24-byte nodes; the children of a node are one contiguous block created at expansion, for the
legal moves only). Each `step` collects up to L leaves per tree with virtual loss, writes their
input planes into one float32 batch, calls the evaluator once for all games, then expands the
leaves, backs their values up and removes every virtual loss it added.

Selection (eq. 2.5): at node s the child a maximising

    U(s, a) = Q(s, a) + c_puct * P(s, a) * sqrt(N(s)) / (1 + N(s, a))

is followed, where N(s) counts the visits of s (its own evaluation included) and in-flight
simulations count as losses: N(s, a) += vloss, W(s, a) -= vloss. An unvisited child's Q is the
parent's Q minus `fpu_reduction * sqrt(visited prior mass)` (first-play urgency), or
`fpu_absolute`. Values are stored from the view of the player who moved into a node, so Q(s, a)
= W / N needs no sign flip and the backed-up value changes sign at every ply.

Compute budget: a move's budget is `simulations x FLOPs[-1]` (simulations of the full
network); every evaluated leaf is charged `FLOPs[e]` for the exit e that answered it. FLOPs is
the table of the player to move: its `Player.exit_flops`, or the search's `exit_flops`. A leaf is
admitted only if `spent + (upper costs of the leaves in flight) + (its lower cost) <= budget`,
where a fixed exit k costs exactly FLOPs[k] and a threshold policy costs between min(FLOPs) and
max(FLOPs). Hence a fixed exit k gets exactly floor(budget / FLOPs[k]) evaluations (the root's
included when it is not reused), and a dynamic policy never overshoots the budget by more than
one evaluation. Terminal leaves are scored by the board (the sign of the Tromp-Taylor score
from the mover's view), cost no FLOPs and are not sent to the evaluator.

Exit policies, per game and colour: fixed exit k; dynamic `tau = tau0 + alpha * r` (eq. 6.5)
with r per leaf = min(1, (spent + lower costs of the leaves already in flight) / budget) when
the leaf is selected: the budget certainly consumed once the step's earlier leaves are answered,
so r rises from leaf to leaf within a step and never falls between steps; threshold (alpha = 0);
depth (the search fixes each leaf's exit: the shallow one for leaves at most max_depth plies
below the root while r < share, the deepest for the rest; budgeted as the threshold kinds). The evaluator decides
the exit with c = max_j p_j (eq. 6.4) and "exit if c >= tau" (eq. 6.6).

Gumbel root (`SearchConfig.root = "gumbel"`; Danihelka et al., ICLR 2022, "Policy improvement by
planning with Gumbel"; mctx's `gumbel_muzero_policy`). When the root is expanded, each root child
a (a legal, or with `sensible_moves` a sensible, move) draws g(a) ~ Gumbel(0, 1) (g = 0 after
the opening when not `gumbel_every_move`), and the m = min(gumbel_max_actions, children) moves
of largest g(a) + logits(a) (logits = log prior) are the candidates. Sequential halving then
spends the move's FLOPs budget in phases: the candidates m, max(2, m // 2), ... down to 2 give
~log2(m) phases; a phase is given the budget left divided by the phases left (so a phase that
overran, or a budget too small for one simulation per candidate, shortens the later ones), and
spreads it over its candidates: each simulation goes through the candidate with the fewest FLOPs
charged this phase (in-flight leaves at their upper cost, then corrected to the cost of the exit
that answered them; a terminal leaf, which costs no FLOPs, is charged the cheapest exit's here
so that it cannot absorb the phase). A phase ends when the next leaf no longer fits in its
share and every candidate was visited at least once in it (mctx: at least one visit per
candidate and phase); then the half with the largest g + logits + sigma(completed Q) stays.
With L > 1 a step admits leaves while they fit in the phase's share; the phase ends between
steps, when nothing is in flight. The move played is the remaining candidate of largest g +
logits + sigma(completed Q) (the Gumbel draws already sample it, so the visit-count temperature
does not apply). The policy target is pi' = softmax(logits + sigma(completed Q)) over the
root's children (`MoveResult.improved_policy`).

Completed Q (mctx's `qtransform_completed_by_mix_value`): a visited child keeps Q = W / N, an
unvisited one gets the mixed value v_mix = (v + sum_b N(b) * sum_visited P(b) Q(b) / sum_visited
P(b)) / (1 + sum_b N(b)), where v is the node's own network value; the completed values are
rescaled to [0, 1] by their min and max, and sigma(q) = (gumbel_c_visit + max_b N(b)) *
gumbel_c_scale * q. The node's own value v is not stored: it is -(W(s) + sum_b W(s, b)), since
every later simulation through s adds opposite values to W(s) and to one child's W.

Below the root the Gumbel search selects by PUCT (eq. 2.5, with FPU and virtual loss), not by
the paper's deterministic rule (mctx's `gumbel_muzero_interior_action_selection`: argmax of
pi'(a) - N(a) / (1 + sum_b N(b))). The policy-improvement guarantee is the root's; below it the
deterministic rule follows pi', whose rescaled completed Q gives every unvisited child 0 and a
visited child that beats the node's own value the top score, so pi' of the unvisited ones decays
like exp(-(c_visit + N) c_scale) and they are never tried: with uniform priors and a value
biased against the side to move (e.g. an early network) it stayed on the first reply it tried
and missed a capture one ply below the root that PUCT finds (tests/go_engine/test_search.py's
self-atari case). PUCT keeps the exploration of the tree the thesis's results were measured with.

Evaluator calling convention (Python callable or object)::

    priors, values, exits = evaluator(planes, thresholds, fixed_exit=fixed_exit, legal=legal[, vote=vote])

    planes      float32 [n, 17, N, N]  AlphaGo Zero features of the leaf (board.pyx)
    thresholds  float32 [n]            tau of each leaf (meaningful where fixed_exit == -1)
    fixed_exit  int32   [n]            k >= 0: answer at exit k (thresholds[i] is then 0 and is
                                       ignored); -1: answer at the first exit whose confidence
                                       reaches thresholds[i], else at the deepest exit
    vote        bool    [n]            only passed when a leaf of the batch votes (ExitPolicy.vote):
                                       answer those leaves with the mean policy logits of the
                                       exits they passed
    legal       bool    [n, N*N + 1]   the moves the exit confidence is taken over (eq. 6.4):
                                       the leaf's legal (with sensible_moves: sensible) moves,
                                       or every action for a player whose ExitPolicy has
                                       confidence "all"; the priors are renormalised over the
                                       legal (sensible) moves either way
    ->
    priors      float32 [n, N*N + 1]   non-negative; the search keeps the legal entries and
                                       renormalises them (all zero: uniform over legal moves)
    values      float32 [n]            in [-1, 1], from the view of the player to move
    exits       int     [n]            the exit that answered each leaf, in [0, exits of its network)

`run_move`/`search`/`step` also accept a pair `(black_evaluator, white_evaluator)`: each leaf
goes to the evaluator of the player to move at its tree's root (two networks in one match; the
networks may differ in blocks, channels and number of exits when each Player carries its own
`exit_flops`, and each player is budgeted and charged by its own table).
Evaluators written in Cython may subclass `BoardEvaluator` instead: they read each leaf's board
directly and no planes are written (see go_engine/rollout.pyx).
"""
cimport cython
cimport numpy as cnp
from libc.math cimport sqrt, ceil, exp, log
from libc.stdlib cimport calloc, malloc, realloc, free
from libc.string cimport memcpy, memset
from libc.stdint cimport int16_t, int32_t, int64_t, uint8_t

import numpy as np

from go_engine.board cimport Board, NUM_PLANES
from go_engine.board import Board as PyBoard
from go_engine.search_types import CONFIDENCE_ALL, DEPTH, DYNAMIC, GUMBEL, ExitPolicy, MoveResult, Player, SearchConfig

cnp.import_array()

cdef enum:
    PENDING = 1          # selected as a leaf of the current step, waiting for its evaluation
    TERMINAL = 2         # the game is over at this node
    TERMINAL_WIN = 4     # ... and the player to move there wins
    TERMINAL_LOSS = 8    # ... and loses (neither: a draw)

NODE_BYTES = sizeof(Node)
MAX_EXITS = 64
"""The most exits a player's network may have (the per-player FLOPs tables are fixed rows)."""


cdef inline void node_init(Node* nd, int action, float prior) noexcept nogil:
    nd.first_child = -1
    nd.n = 0
    nd.w = 0.0
    nd.prior = prior
    nd.action = <int16_t>action
    nd.num_children = 0
    nd.vloss = 0
    nd.flags = 0
    nd.pad = 0


cdef int tree_reserve(Tree* t, int64_t needed) noexcept nogil:
    """Grow the pool (by doubling) to hold `needed` nodes; -1 when out of memory."""
    cdef int64_t cap = t.capacity
    cdef Node* grown
    if needed <= cap:
        return 0
    while cap < needed:
        cap *= 2
    if cap > 0x7FFFFFFF:
        return -1
    grown = <Node*>realloc(t.nodes, cap * sizeof(Node))
    if grown == NULL:
        return -1
    t.nodes = grown
    t.capacity = <int32_t>cap
    return 0


cdef void tree_reset(Tree* t) noexcept nogil:
    t.size = 1
    node_init(&t.nodes[0], -1, 1.0)


cdef int tree_reroot(Tree* t, int32_t child, int32_t min_capacity) noexcept nogil:
    """Keep only the subtree of `child`, compacted into a fresh pool with `child` as node 0.

    Breadth-first copy: each expanded node's children block is copied contiguously after the
    nodes already placed, so the layout invariants hold. Returns -1 when out of memory.
    """
    cdef Node* fresh = <Node*>malloc(t.capacity * sizeof(Node))
    cdef Node* shrunk
    cdef int32_t size = 1, i = 0, k, cap
    if fresh == NULL:
        return -1
    fresh[0] = t.nodes[child]
    while i < size:
        if fresh[i].first_child >= 0:
            k = fresh[i].num_children
            memcpy(&fresh[size], &t.nodes[fresh[i].first_child], k * sizeof(Node))
            fresh[i].first_child = size
            size += k
        i += 1
    free(t.nodes)
    cap = max(min_capacity, 2 * size)
    if cap < t.capacity:
        shrunk = <Node*>realloc(fresh, cap * sizeof(Node))
        if shrunk != NULL:
            fresh = shrunk
            t.capacity = cap
    t.nodes = fresh
    t.size = size
    return 0


cdef inline double prior_logit(float prior) noexcept nogil:
    """log P(a), with P = 0 taken as 1e-30 (a move the network gives no mass stays finite)."""
    return log(max(<double>prior, 1e-30))


cdef int halving_phases(int considered) noexcept nogil:
    """Phases of sequential halving from `considered` candidates: m, max(2, m // 2), ..., 2."""
    cdef int phases = 1
    while considered > 2:
        considered = max(2, considered // 2)
        phases += 1
    return phases


cdef void* calloc_or_raise(size_t count, size_t size) except NULL:
    cdef void* p = calloc(count, size)
    if p == NULL:
        raise MemoryError("search: out of memory")
    return p


cdef class BoardEvaluator:
    """Base of Cython evaluators that read each leaf's board (see search.pxd).

    Subclasses override `c_evaluate`, which writes `num_actions` non-negative priors (the
    search keeps the legal entries and renormalises them), the value from the view of the
    player to move, and the exit used (`fixed_exit` when it is >= 0). The base answers uniform
    priors, value 0 and the requested or last exit.
    """

    def __init__(self, num_exits: int = 1) -> None:
        if num_exits < 1:
            raise ValueError(f"num_exits must be >= 1, got {num_exits}")
        self.num_exits = num_exits

    cdef void c_evaluate(self, Board board, float threshold, int fixed_exit,
                         float* priors, float* value, int* exit_used) noexcept:
        cdef int a
        for a in range(board.num_actions):
            priors[a] = 1.0
        value[0] = 0.0
        exit_used[0] = fixed_exit if fixed_exit >= 0 else self.num_exits - 1

    def __call__(self, *args, **kwargs):
        raise TypeError(f"{type(self).__name__} reads leaf boards: pass it to a BatchedSearch, "
                        "it cannot evaluate input planes")


cdef class BatchedSearch:
    """G concurrent games of Go, one PUCT tree each, searched in lockstep with one evaluator.

    Typical self-play loop::

        search = BatchedSearch(256, config=SearchConfig(root_noise=True), exit_flops=flops,
                               players=Player(200, ExitPolicy.fixed(-1)))
        while search.active_games():
            results = search.run_move(evaluator)

    GTP / analysis (G = 1): `search(evaluator)` then `play(0, action)` for both sides' moves;
    the tree of the move played is kept when `config.reuse_tree`.
    """

    cdef readonly int num_games, board_size, num_actions, num_exits, leaves_per_tree
    cdef readonly double komi
    cdef object config, _boards, _players, _searched, _np_rng
    cdef object _planes, _thresholds, _fixed, _legal, _exit_mask, _vote, _out_priors, _out_values, _out_exits
    cdef Board _scratch
    cdef int _max_moves
    cdef double c_puct, fpu_reduction, fpu_absolute
    cdef bint use_fpu_absolute, sensible_moves
    cdef double[::1] exit_flops    # the default table, for players without their own
    cdef Tree* trees
    # per game
    cdef uint8_t* finished
    cdef int* c_winner              # +1 / -1 / 0 (draw) once finished
    cdef uint8_t* c_may_resign
    cdef uint8_t* searching
    cdef uint8_t* noise_pending
    cdef int* mover               # colour to move at the root during the search: +1 / -1
    cdef double* budget
    cdef double* spent
    cdef int64_t* sims
    cdef int64_t* sim_cap
    cdef int64_t* evals           # [num_games * MAX_EXITS]: this move's evaluations per exit
    # per game and colour, at index 2 * game + (0 black, 1 white)
    cdef int* fixed_exit          # -1: the threshold kinds
    cdef double* tau0
    cdef double* alpha
    cdef double* player_sims
    cdef int* depth_exit          # the depth kind's shallow exit; -1: another kind
    cdef int* depth_max           # the depth kind's deepest ply (below the root) for the shallow exit
    cdef double* depth_share      # the depth kind's share of the budget for the shallow exit
    cdef uint8_t* conf_all        # 1: the exit confidence is over all actions (eq. 6.4), 0: legal ones
    cdef uint8_t* slot_vote       # 1: collaborative exits (ExitPolicy.vote)
    cdef double* slot_flops       # [2 * num_games * MAX_EXITS]: the player's FLOPs of each exit
    cdef int* slot_exits          # the player's number of exits
    cdef double* slot_flops_min
    cdef double* slot_flops_max
    # Gumbel root (see the module docstring)
    cdef bint gumbel
    cdef double gumbel_c_visit, gumbel_c_scale
    cdef double* gumbel_buf       # [num_actions] scratch: logits + sigma(completed Q) of one node
    cdef uint8_t* gumbel_ready    # per game: the root's draws and candidates are set this move
    cdef int* considered          # per game: candidates still in the halving
    cdef double* phase_target     # per game: spent FLOPs at which the current phase's share ends
    cdef double* root_gumbel      # [num_games * num_actions]: g of each root child, child order
    cdef int32_t* cand            # [num_games * num_actions]: candidate slot -> root child offset
    cdef double* cand_flops       # this phase's FLOPs charged per slot (in flight: upper cost)
    cdef int32_t* cand_visits     # this phase's simulations admitted per slot
    cdef int32_t* leaf_slot       # per leaf of the step: its root candidate slot, -1 if none
    cdef double* leaf_charge      # per leaf of the step: the in-flight FLOPs charged to its slot
    # per leaf of the current step
    cdef int capacity
    cdef int32_t* leaf_game
    cdef int32_t* leaf_node
    cdef int32_t* leaf_path_off
    cdef int32_t* leaf_path_len
    cdef int32_t* path            # the leaves' paths, root first, one after the other
    cdef int64_t path_capacity, path_used

    def __init__(self, int num_games, int board_size=9, double komi=7.5,
                 config: SearchConfig | None = None, exit_flops=(1.0,),
                 players: Player | tuple[Player, Player] | None = None, seed: int = 0,
                 max_moves: int | None = None) -> None:
        """`exit_flops[k]` is the cost of exit k (the last one is the deepest), for the players
        that carry no `exit_flops` of their own; `players` is one Player for both colours or a
        (black, white) pair, for every game (see `set_players`);
        `max_moves` is passed to the boards (None: the board's default)."""
        if num_games < 1:
            raise ValueError(f"num_games must be >= 1, got {num_games}")
        config = SearchConfig() if config is None else config
        if not isinstance(config, SearchConfig):
            raise TypeError(f"config must be a SearchConfig, got {type(config).__name__}")
        flops = np.asarray(exit_flops, dtype=np.float64).reshape(-1)
        if flops.size == 0 or not np.all(np.isfinite(flops)) or np.any(flops <= 0):
            raise ValueError(f"exit_flops must be a non-empty list of positive numbers, got {list(exit_flops)}")
        if flops.size > MAX_EXITS:
            raise ValueError(f"a network may have at most {MAX_EXITS} exits, got {flops.size}")
        self.config = config
        self.exit_flops = flops
        self.num_exits = flops.size
        self.c_puct = config.c_puct
        self.fpu_reduction = config.fpu_reduction
        self.use_fpu_absolute = config.fpu_absolute is not None
        self.fpu_absolute = config.fpu_absolute if self.use_fpu_absolute else 0.0
        self.leaves_per_tree = config.leaves_per_tree
        self.sensible_moves = config.sensible_moves
        self.board_size = board_size
        self.komi = komi
        self._np_rng = np.random.default_rng(seed)
        self._boards = [PyBoard(board_size, komi, max_moves) for _ in range(num_games)]
        self._scratch = PyBoard(board_size, komi, max_moves)
        self.num_actions = self._scratch.num_actions
        self._max_moves = self._scratch.max_moves

        self.capacity = num_games * self.leaves_per_tree
        self._planes = np.zeros((self.capacity, NUM_PLANES, board_size, board_size), np.float32)
        self._thresholds = np.zeros(self.capacity, np.float32)
        self._fixed = np.zeros(self.capacity, np.int32)
        self._legal = np.zeros((self.capacity, self.num_actions), np.bool_)
        self._exit_mask = np.zeros((self.capacity, self.num_actions), np.bool_)
        self._vote = np.zeros(self.capacity, np.bool_)
        self._out_priors = np.zeros((self.capacity, self.num_actions), np.float32)
        self._out_values = np.zeros(self.capacity, np.float32)
        self._out_exits = np.zeros(self.capacity, np.int32)

        self.trees = <Tree*>calloc_or_raise(num_games, sizeof(Tree))
        self.num_games = num_games   # from here on __dealloc__ frees num_games trees
        self.finished = <uint8_t*>calloc_or_raise(num_games, 1)
        self.c_winner = <int*>calloc_or_raise(num_games, sizeof(int))
        self.c_may_resign = <uint8_t*>calloc_or_raise(num_games, 1)
        self.searching = <uint8_t*>calloc_or_raise(num_games, 1)
        self.noise_pending = <uint8_t*>calloc_or_raise(num_games, 1)
        self.mover = <int*>calloc_or_raise(num_games, sizeof(int))
        self.budget = <double*>calloc_or_raise(num_games, sizeof(double))
        self.spent = <double*>calloc_or_raise(num_games, sizeof(double))
        self.sims = <int64_t*>calloc_or_raise(num_games, sizeof(int64_t))
        self.sim_cap = <int64_t*>calloc_or_raise(num_games, sizeof(int64_t))
        self.evals = <int64_t*>calloc_or_raise(num_games * MAX_EXITS, sizeof(int64_t))
        self.fixed_exit = <int*>calloc_or_raise(2 * num_games, sizeof(int))
        self.tau0 = <double*>calloc_or_raise(2 * num_games, sizeof(double))
        self.alpha = <double*>calloc_or_raise(2 * num_games, sizeof(double))
        self.player_sims = <double*>calloc_or_raise(2 * num_games, sizeof(double))
        self.depth_exit = <int*>calloc_or_raise(2 * num_games, sizeof(int))
        self.depth_max = <int*>calloc_or_raise(2 * num_games, sizeof(int))
        self.depth_share = <double*>calloc_or_raise(2 * num_games, sizeof(double))
        self.conf_all = <uint8_t*>calloc_or_raise(2 * num_games, 1)
        self.slot_vote = <uint8_t*>calloc_or_raise(2 * num_games, 1)
        self.slot_flops = <double*>calloc_or_raise(2 * num_games * MAX_EXITS, sizeof(double))
        self.slot_exits = <int*>calloc_or_raise(2 * num_games, sizeof(int))
        self.slot_flops_min = <double*>calloc_or_raise(2 * num_games, sizeof(double))
        self.slot_flops_max = <double*>calloc_or_raise(2 * num_games, sizeof(double))
        self.leaf_game = <int32_t*>calloc_or_raise(self.capacity, sizeof(int32_t))
        self.leaf_node = <int32_t*>calloc_or_raise(self.capacity, sizeof(int32_t))
        self.leaf_path_off = <int32_t*>calloc_or_raise(self.capacity, sizeof(int32_t))
        self.leaf_path_len = <int32_t*>calloc_or_raise(self.capacity, sizeof(int32_t))
        self.path_capacity = self.capacity * 64 + self._max_moves + 2
        self.path = <int32_t*>calloc_or_raise(self.path_capacity, sizeof(int32_t))
        self.gumbel = config.root == GUMBEL
        self.gumbel_c_visit = config.gumbel_c_visit
        self.gumbel_c_scale = config.gumbel_c_scale
        cdef int A = self.num_actions
        self.gumbel_buf = <double*>calloc_or_raise(A, sizeof(double))
        self.gumbel_ready = <uint8_t*>calloc_or_raise(num_games, 1)
        self.considered = <int*>calloc_or_raise(num_games, sizeof(int))
        self.phase_target = <double*>calloc_or_raise(num_games, sizeof(double))
        self.root_gumbel = <double*>calloc_or_raise(num_games * A, sizeof(double))
        self.cand = <int32_t*>calloc_or_raise(num_games * A, sizeof(int32_t))
        self.cand_flops = <double*>calloc_or_raise(num_games * A, sizeof(double))
        self.cand_visits = <int32_t*>calloc_or_raise(num_games * A, sizeof(int32_t))
        self.leaf_slot = <int32_t*>calloc_or_raise(self.capacity, sizeof(int32_t))
        self.leaf_charge = <double*>calloc_or_raise(self.capacity, sizeof(double))
        cdef int g
        for g in range(num_games):
            self.trees[g].nodes = <Node*>calloc_or_raise(config.initial_nodes, sizeof(Node))
            self.trees[g].capacity = config.initial_nodes
            tree_reset(&self.trees[g])
        self._players = [None] * (2 * num_games)
        pair = (Player(), Player()) if players is None else players
        pair = (pair, pair) if isinstance(pair, Player) else tuple(pair)
        for g in range(num_games):
            self.set_players(g, *pair)
            self._reset_game(g)

    def __dealloc__(self):
        cdef int g
        if self.trees != NULL:
            for g in range(self.num_games):
                free(self.trees[g].nodes)
            free(self.trees)
        free(self.finished); free(self.c_winner); free(self.c_may_resign); free(self.searching)
        free(self.noise_pending); free(self.mover); free(self.budget); free(self.spent)
        free(self.sims); free(self.sim_cap); free(self.evals); free(self.fixed_exit)
        free(self.tau0); free(self.alpha); free(self.player_sims); free(self.leaf_game)
        free(self.slot_flops); free(self.slot_exits); free(self.slot_flops_min); free(self.slot_flops_max)
        free(self.leaf_node); free(self.leaf_path_off); free(self.leaf_path_len); free(self.path)
        free(self.gumbel_buf); free(self.gumbel_ready); free(self.considered); free(self.phase_target)
        free(self.root_gumbel); free(self.cand); free(self.cand_flops); free(self.cand_visits)
        free(self.leaf_slot); free(self.leaf_charge)
        free(self.depth_exit); free(self.depth_max); free(self.depth_share); free(self.conf_all)
        free(self.slot_vote)

    # ------------------------------------------------------------------ games and players

    def set_players(self, int game, black: Player, white: Player) -> None:
        """Budget, exit policy and FLOPs table of each colour in `game` (takes effect at the
        next search)."""
        self._check_game(game)
        cdef int c, k, e
        for c, player in enumerate((black, white)):
            if not isinstance(player, Player):
                raise TypeError(f"players must be Player instances, got {type(player).__name__}")
            table = np.asarray(self.exit_flops if player.exit_flops is None else player.exit_flops, np.float64)
            if table.size > MAX_EXITS:
                raise ValueError(f"a network may have at most {MAX_EXITS} exits, got {table.size}")
            policy = player.exit_policy
            k = policy.resolved_exit(table.size)
            for e in range(table.size):
                self.slot_flops[(2 * game + c) * MAX_EXITS + e] = table[e]
            self.slot_exits[2 * game + c] = table.size
            self.slot_flops_min[2 * game + c] = table.min()
            self.slot_flops_max[2 * game + c] = table.max()
            self.fixed_exit[2 * game + c] = -1 if policy.kind == DEPTH else k
            self.depth_exit[2 * game + c] = k if policy.kind == DEPTH else -1
            self.depth_max[2 * game + c] = policy.max_depth
            self.depth_share[2 * game + c] = policy.share
            self.conf_all[2 * game + c] = policy.confidence == CONFIDENCE_ALL
            self.slot_vote[2 * game + c] = policy.vote
            self.tau0[2 * game + c] = policy.tau0
            self.alpha[2 * game + c] = policy.alpha if policy.kind == DYNAMIC else 0.0
            self.player_sims[2 * game + c] = player.simulations
            self._players[2 * game + c] = player

    def players(self, int game) -> tuple[Player, Player]:
        """The (black, white) players of `game`."""
        self._check_game(game)
        return self._players[2 * game], self._players[2 * game + 1]

    def reset(self, int game) -> None:
        """Start `game` again from the empty board with a fresh tree."""
        self._check_game(game)
        self._reset_game(game)

    def set_board(self, int game, Board board) -> None:
        """Continue `game` from a copy of `board` (same size), with a fresh tree."""
        self._check_game(game)
        if board.size != self.board_size:
            raise ValueError(f"board size {board.size} does not match the search's {self.board_size}")
        (<Board>self._boards[game]).c_copy_from(board)
        tree_reset(&self.trees[game])
        self._update_finished(game)

    def board(self, int game) -> Board:
        """A copy of the current board of `game`."""
        self._check_game(game)
        return self._boards[game].copy()

    def play(self, int game, int action) -> None:
        """Play `action` in `game` (our own choice or an opponent's), keeping its subtree.

        Raises go_engine.IllegalMove (from the board) for an illegal action and ValueError when
        the game is already finished."""
        self._check_game(game)
        if self.finished[game]:
            raise ValueError(f"game {game} is finished")
        self._boards[game].play(action)
        self._advance_tree(game, action)
        self._update_finished(game)

    def is_finished(self, int game) -> bool:
        """Whether `game` ended (two passes, the move limit, or a resignation)."""
        self._check_game(game)
        return bool(self.finished[game])

    def winner(self, int game) -> int:
        """+1 black, -1 white, 0 draw or not finished."""
        self._check_game(game)
        return self.c_winner[game]

    def may_resign(self, int game) -> bool:
        """Whether `game` was drawn as one that may resign (see SearchConfig.no_resign_fraction)."""
        self._check_game(game)
        return bool(self.c_may_resign[game])

    def active_games(self) -> list[int]:
        """Indices of the games that are not finished."""
        return [g for g in range(self.num_games) if not self.finished[g]]

    # ------------------------------------------------------------------ search

    def search(self, evaluator) -> list[MoveResult]:
        """Search every unfinished game to its budget and choose its move, without playing it."""
        self.start_search()
        while self.num_searching():
            self.step(evaluator)
        return self.results()

    def run_move(self, evaluator) -> list[MoveResult]:
        """`search`, then play (or resign) each chosen move and advance the trees."""
        results = self.search(evaluator)
        for r in results:
            if r.resigned:
                self.finished[r.game] = 1
                self.c_winner[r.game] = -r.player
            else:
                self.play(r.game, r.action)
            r.game_over = bool(self.finished[r.game])
        return results

    def start_search(self) -> int:
        """Begin a move's search in every unfinished game; returns how many games search."""
        cdef int g, c, count = 0
        cdef double lower
        self._searched = []
        for g in range(self.num_games):
            self.searching[g] = 0
            if self.finished[g]:
                continue
            self.mover[g] = (<Board>self._boards[g]).c_to_play()
            c = 2 * g + (0 if self.mover[g] == 1 else 1)
            self.budget[g] = self.player_sims[c] * self.slot_flops[c * MAX_EXITS + self.slot_exits[c] - 1]
            self.spent[g] = 0.0
            self.sims[g] = 0
            lower = (self.slot_flops_min[c] if self.fixed_exit[c] < 0
                     else self.slot_flops[c * MAX_EXITS + self.fixed_exit[c]])
            self.sim_cap[g] = <int64_t>ceil(self.config.max_sims_factor * self.budget[g] / lower) + 1
            memset(&self.evals[g * MAX_EXITS], 0, MAX_EXITS * sizeof(int64_t))
            self.searching[g] = 1
            self.noise_pending[g] = self.config.root_noise and not self.gumbel
            self.gumbel_ready[g] = 0
            self._searched.append(g)
            count += 1
        self._apply_pending_noise()
        return count

    def num_searching(self) -> int:
        """How many games are still searching their current move."""
        cdef int g, count = 0
        for g in range(self.num_games):
            count += self.searching[g]
        return count

    def step(self, evaluator) -> int:
        """One round: collect leaves from every searching tree, evaluate them in one batch,
        expand and back up. Returns the number of leaves evaluated (terminal leaves excluded)."""
        board_evaluator = evaluator if isinstance(evaluator, BoardEvaluator) else None
        cdef int n = self._collect(board_evaluator)
        if n > 0:
            if board_evaluator is not None:
                self._check_exits(self._out_exits[:n], n)
                self._expand_and_backup(n, self._out_priors, self._out_values, self._out_exits)
            else:
                priors, values, exits = self._evaluate(evaluator, n)
                self._expand_and_backup(n, priors, values, exits)
        self._apply_pending_noise()
        return n

    def results(self) -> list[MoveResult]:
        """The outcome of the search started by the last `start_search`, one per searched game:
        the visit distribution pi, the chosen action (temperature schedule), root value, FLOPs
        and evaluations per exit, and the resignation decision."""
        return [self._result(g) for g in self._searched]

    # ------------------------------------------------------------------ inspection

    def root_children(self, int game) -> dict[str, np.ndarray]:
        """Statistics of the root's children: action, visits, Q (mover's view), prior."""
        self._check_game(game)
        cdef Node* nodes = self.trees[game].nodes
        cdef int k = nodes[0].num_children, first = nodes[0].first_child, j
        out = {"action": np.zeros(k, np.int32), "visits": np.zeros(k, np.int64),
               "q": np.zeros(k, np.float32), "prior": np.zeros(k, np.float32)}
        for j in range(k):
            out["action"][j] = nodes[first + j].action
            out["visits"][j] = nodes[first + j].n
            out["q"][j] = nodes[first + j].w / nodes[first + j].n if nodes[first + j].n else 0.0
            out["prior"][j] = nodes[first + j].prior
        return out

    def principal_variation(self, int game, int max_length=10) -> dict[int, list[int]]:
        """For each root child of `game`, its principal variation: the child's action, then the
        most-visited child below it (the first in child order on a tie) while one was visited,
        `max_length` actions at most. Read it after a move's search, before `play` advances the
        tree."""
        self._check_game(game)
        if max_length < 1:
            raise ValueError(f"max_length must be >= 1, got {max_length}")
        cdef Node* nodes = self.trees[game].nodes
        cdef int32_t first = nodes[0].first_child, j, cur, c, best
        out: dict[int, list[int]] = {}
        if first < 0:
            return out
        for j in range(first, first + nodes[0].num_children):
            line = [int(nodes[j].action)]
            cur = j
            while len(line) < max_length and nodes[cur].first_child >= 0:
                best = -1
                for c in range(nodes[cur].first_child, nodes[cur].first_child + nodes[cur].num_children):
                    if nodes[c].n > 0 and (best < 0 or nodes[c].n > nodes[best].n):
                        best = c
                if best < 0:
                    break
                line.append(int(nodes[best].action))
                cur = best
            out[int(nodes[j].action)] = line
        return out

    def tree_info(self, int game) -> dict[str, int]:
        """Size of `game`'s tree: nodes, capacity, bytes per node and allocated bytes, root
        visits, and the virtual losses and pending leaves left in it (0 between steps)."""
        self._check_game(game)
        cdef Tree* t = &self.trees[game]
        cdef int64_t vloss = 0, pending = 0
        cdef int32_t i
        for i in range(t.size):
            vloss += t.nodes[i].vloss
            pending += (t.nodes[i].flags & PENDING) != 0
        return {"nodes": t.size, "capacity": t.capacity, "bytes_per_node": sizeof(Node),
                "bytes": t.capacity * sizeof(Node), "root_visits": t.nodes[0].n,
                "virtual_loss": vloss, "pending": pending}

    def search_progress(self, int game) -> dict[str, object]:
        """The move `game` searches now (or searched last, once its search ended): FLOPs spent
        and its budget (floats), simulations (backed-up leaves below the root, terminal ones
        included), evaluations per exit (int64 [the mover's exits]) and whether it still
        searches; zeros before the first `start_search`. Between two steps every evaluation is
        answered: the evaluations sum to the simulations that reached the network, plus the
        root's when this move expanded it, and `spent` is their FLOPs (MoveResult.flops at the
        end)."""
        self._check_game(game)
        return {"spent": float(self.spent[game]), "budget": float(self.budget[game]),
                "simulations": int(self.sims[game]), "evals_per_exit": self._evals_per_exit(game),
                "searching": bool(self.searching[game])}

    # ------------------------------------------------------------------ internals

    def _evals_per_exit(self, int g) -> np.ndarray:
        """int64 [the mover's exits]: this move's evaluations answered at each exit of `g`."""
        cdef int exits = self.slot_exits[2 * g + (0 if self.mover[g] == 1 else 1)]
        return np.array([self.evals[g * MAX_EXITS + e] for e in range(exits)], np.int64)

    def _check_game(self, int game) -> None:
        if not 0 <= game < self.num_games:
            raise IndexError(f"game {game} out of range [0, {self.num_games})")

    def _reset_game(self, int game) -> None:
        self._boards[game] = PyBoard(self.board_size, self.komi, self._max_moves)
        tree_reset(&self.trees[game])
        self.finished[game] = 0
        self.c_winner[game] = 0
        self.searching[game] = 0
        self.c_may_resign[game] = self._np_rng.random() >= self.config.no_resign_fraction

    def _update_finished(self, int game) -> None:
        cdef Board board = self._boards[game]
        cdef double score
        self.finished[game] = board.c_is_over()
        if self.finished[game]:
            score = board.c_score()
            self.c_winner[game] = (score > 0) - (score < 0)
        else:
            self.c_winner[game] = 0

    def _advance_tree(self, int game, int action) -> None:
        cdef Tree* t = &self.trees[game]
        cdef Node* nodes = t.nodes
        cdef int32_t j, child = -1
        if self.config.reuse_tree and nodes[0].first_child >= 0:
            for j in range(nodes[0].first_child, nodes[0].first_child + nodes[0].num_children):
                if nodes[j].action == action:
                    child = j
                    break
        if child < 0 or nodes[child].flags & TERMINAL:
            tree_reset(t)
        elif tree_reroot(t, child, self.config.initial_nodes) < 0:
            raise MemoryError("search tree: out of memory while re-rooting")

    cdef int _ensure_path(self, int64_t needed) except -1:
        cdef int32_t* grown
        cdef int64_t cap = self.path_capacity
        if needed <= cap:
            return 0
        while cap < needed:
            cap *= 2
        grown = <int32_t*>realloc(self.path, cap * sizeof(int32_t))
        if grown == NULL:
            raise MemoryError("search: out of memory for paths")
        self.path = grown
        self.path_capacity = cap
        return 0

    @cython.cdivision(True)
    cdef int32_t _best_child(self, Node* nodes, int32_t parent) noexcept nogil:
        """The child of `parent` maximising U(s, a) of eq. 2.5 under virtual loss."""
        cdef Node* p = &nodes[parent]
        cdef Node* c
        cdef int32_t first = p.first_child, j, best = -1, best_unvisited = -1
        cdef double sqrt_np = sqrt(<double>(p.n + p.vloss))
        cdef double u, best_u = -1e300, visited_prior = 0.0, best_prior = -1.0, ne, fpu
        for j in range(first, first + p.num_children):
            c = &nodes[j]
            ne = c.n + c.vloss
            if ne == 0:
                if c.prior > best_prior:
                    best_prior = c.prior
                    best_unvisited = j
            else:
                visited_prior += c.prior
                u = (c.w - c.vloss) / ne + self.c_puct * c.prior * sqrt_np / (1.0 + ne)
                if u > best_u:
                    best_u = u
                    best = j
        if best_unvisited >= 0:
            if self.use_fpu_absolute:
                fpu = self.fpu_absolute
            else:
                fpu = (-p.w / p.n if p.n > 0 else 0.0) - self.fpu_reduction * sqrt(visited_prior)
            if fpu + self.c_puct * best_prior * sqrt_np > best_u:
                best = best_unvisited
        return best

    @cython.cdivision(True)
    cdef void _gumbel_logits(self, Node* nodes, int32_t parent, double* out) noexcept nogil:
        """out[j] = logits(a_j) + sigma(completed_Q(a_j)) for the children a_j of `parent` (see
        "Completed Q" in the module docstring; mctx's qtransform_completed_by_mix_value)."""
        cdef Node* p = &nodes[parent]
        cdef Node* c
        cdef int32_t first = p.first_child, j, k = p.num_children
        cdef int64_t sum_n = 0, max_n = 0
        cdef double sum_w = 0.0, visited_prior = 0.0, weighted = 0.0, raw, mixed, q, prior
        cdef double lo = 1e300, hi = -1e300, scale
        for j in range(k):
            c = &nodes[first + j]
            sum_w += c.w
            if c.n > 0:
                sum_n += c.n
                max_n = max(max_n, <int64_t>c.n)
                prior = max(<double>c.prior, 1.1754943508222875e-38)   # mctx: finfo(float32).tiny
                visited_prior += prior
                weighted += prior * c.w / c.n
        raw = -(p.w + sum_w)               # the node's own network value (module docstring)
        mixed = (raw + sum_n * weighted / visited_prior) / (sum_n + 1) if sum_n > 0 else raw
        for j in range(k):
            c = &nodes[first + j]
            q = c.w / c.n if c.n > 0 else mixed
            out[j] = q
            lo = min(lo, q)
            hi = max(hi, q)
        scale = (self.gumbel_c_visit + max_n) * self.gumbel_c_scale / max(hi - lo, 1e-8)
        for j in range(k):
            out[j] = prior_logit(nodes[first + j].prior) + (out[j] - lo) * scale

    cdef int _select(self, int g, int32_t root_child) noexcept nogil:
        """Walk from the root to an unexpanded node, adding a virtual loss to every node on the
        way; the path (node indices, root first) is written at path[path_used:]. Returns its
        length. `root_child` >= 0 is the root's child to go through (the Gumbel root's
        candidate), -1: chosen like every other node's. The caller ensures room for the longest
        possible path: the root board's max_moves + 2 nodes."""
        cdef Node* nodes = self.trees[g].nodes
        cdef int32_t* p = self.path + self.path_used
        cdef int32_t cur = 0
        cdef int length = 1
        nodes[0].vloss += 1
        p[0] = 0
        if root_child >= 0:
            cur = root_child
            nodes[cur].vloss += 1
            p[1] = cur
            length = 2
        while nodes[cur].first_child >= 0:
            cur = self._best_child(nodes, cur)
            nodes[cur].vloss += 1
            p[length] = cur
            length += 1
        return length

    cdef void _backup(self, int g, int64_t offset, int length, double value) noexcept nogil:
        """Back `value` (from the view of the player to move at the leaf) up the path stored
        at path[offset:offset+length], removing the virtual losses `_select` added."""
        cdef Node* nodes = self.trees[g].nodes
        cdef Node* nd
        cdef int i
        for i in range(length - 1, -1, -1):
            nd = &nodes[self.path[offset + i]]
            nd.vloss -= 1
            nd.n += 1
            nd.w -= value
            value = -value

    cdef void _undo_path(self, int g, int length) noexcept nogil:
        cdef Node* nodes = self.trees[g].nodes
        cdef int i
        for i in range(length):
            nodes[self.path[self.path_used + i]].vloss -= 1

    cdef int _collect(self, BoardEvaluator board_evaluator) except -1:
        """Select up to L leaves per searching tree (see the budget rule in the module
        docstring); write their planes (or run the board evaluator), legal masks, thresholds
        and fixed exits into batch rows. Terminal leaves are backed up at once. Games whose
        budget admits no further leaf stop searching. Returns the number of rows."""
        cdef float* planes = <float*>cnp.PyArray_DATA(self._planes)
        cdef float* thresholds = <float*>cnp.PyArray_DATA(self._thresholds)
        cdef int32_t* fixed = <int32_t*>cnp.PyArray_DATA(self._fixed)
        cdef unsigned char* legal = <unsigned char*>cnp.PyArray_DATA(self._legal)
        cdef unsigned char* exit_mask = <unsigned char*>cnp.PyArray_DATA(self._exit_mask)
        cdef unsigned char* vote = <unsigned char*>cnp.PyArray_DATA(self._vote)
        cdef float* out_priors = <float*>cnp.PyArray_DATA(self._out_priors)
        cdef float* out_values = <float*>cnp.PyArray_DATA(self._out_values)
        cdef int* out_exits = <int*>cnp.PyArray_DATA(self._out_exits)
        cdef int plane_size = NUM_PLANES * self.board_size * self.board_size
        cdef int A = self.num_actions
        cdef Board scratch = self._scratch
        cdef Board root_board
        cdef Node* nodes
        cdef int g, c, k, leaf_exit, attempt, length, i, slot, n = 0
        cdef int32_t leaf, root_child
        cdef uint8_t flags
        cdef double lower, upper, in_flight, in_flight_lower, score, value, r
        cdef float tau
        cdef bint progressed
        self.path_used = 0
        for g in range(self.num_games):
            if not self.searching[g]:
                continue
            root_board = <Board>self._boards[g]
            c = 2 * g + (0 if self.mover[g] == 1 else 1)
            k = self.fixed_exit[c]
            if k >= 0:
                lower = upper = self.slot_flops[c * MAX_EXITS + k]
            else:
                lower, upper = self.slot_flops_min[c], self.slot_flops_max[c]
            in_flight = 0.0
            in_flight_lower = 0.0
            progressed = False
            for attempt in range(self.leaves_per_tree):
                if (self.sims[g] >= self.sim_cap[g]
                        or self.spent[g] + in_flight + lower > self.budget[g] * (1.0 + 1e-9)):
                    break
                slot = -1
                root_child = -1
                if self.gumbel and self.trees[g].nodes[0].first_child >= 0:
                    slot = self._gumbel_slot(g, self.spent[g] + in_flight + lower, in_flight > 0)
                    if slot < 0:
                        break
                    root_child = self.trees[g].nodes[0].first_child + self.cand[g * A + slot]
                self._ensure_path(self.path_used + root_board.max_moves + 2)
                length = self._select(g, root_child)
                nodes = self.trees[g].nodes
                leaf = self.path[self.path_used + length - 1]
                flags = nodes[leaf].flags
                if flags & PENDING:        # collision with a leaf already in this batch
                    self._undo_path(g, length)
                    break
                progressed = True
                if slot >= 0:
                    self.cand_visits[g * A + slot] += 1
                if not flags & TERMINAL:
                    scratch.c_copy_from(root_board)
                    for i in range(1, length):
                        scratch.c_play(nodes[self.path[self.path_used + i]].action)
                    if scratch.c_is_over():
                        score = scratch.c_score() * scratch.c_to_play()
                        flags = TERMINAL | (TERMINAL_WIN if score > 0 else 0) | (TERMINAL_LOSS if score < 0 else 0)
                        nodes[leaf].flags = flags
                if flags & TERMINAL:
                    value = 1.0 if flags & TERMINAL_WIN else (-1.0 if flags & TERMINAL_LOSS else 0.0)
                    self._backup(g, self.path_used, length, value)
                    self.sims[g] += 1
                    if slot >= 0:
                        self.cand_flops[g * A + slot] += lower
                    continue
                nodes[leaf].flags = PENDING
                if slot >= 0:
                    self.cand_flops[g * A + slot] += upper
                self.leaf_slot[n] = slot
                self.leaf_charge[n] = upper
                self.leaf_game[n] = g
                self.leaf_node[n] = leaf
                self.leaf_path_off[n] = <int32_t>self.path_used
                self.leaf_path_len[n] = length
                self.path_used += length
                tau = 0.0
                leaf_exit = k
                if k < 0:
                    r = min(1.0, (self.spent[g] + in_flight_lower) / self.budget[g])
                    if self.depth_exit[c] >= 0:    # the depth kind: the place in the tree decides
                        leaf_exit = (self.depth_exit[c] if length - 1 <= self.depth_max[c] and r < self.depth_share[c]
                                     else self.slot_exits[c] - 1)
                    else:
                        tau = <float>(self.tau0[c] + self.alpha[c] * r)      # eq. 6.5
                thresholds[n] = tau
                fixed[n] = leaf_exit
                vote[n] = self.slot_vote[c]
                if self.sensible_moves:
                    scratch.c_sensible_mask(&legal[n * A])
                else:
                    scratch.c_legal_mask(&legal[n * A])
                if self.conf_all[c]:
                    memset(&exit_mask[n * A], 1, A)
                else:
                    memcpy(&exit_mask[n * A], &legal[n * A], A)
                if board_evaluator is None:
                    scratch.c_write_planes(&planes[n * plane_size])
                else:
                    board_evaluator.c_evaluate(scratch, tau, leaf_exit, &out_priors[n * A],
                                               &out_values[n], &out_exits[n])
                in_flight += upper
                in_flight_lower += lower
                n += 1
            if not progressed:
                self.searching[g] = 0
        return n

    def _evaluate(self, evaluator, int n) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Call the evaluator (or the mover's one of a pair) on the n rows; validated outputs."""
        planes, thresholds = self._planes[:n], self._thresholds[:n]
        fixed, legal = self._fixed[:n], self._exit_mask[:n]
        vote = self._vote[:n] if self._vote[:n].any() else None
        if isinstance(evaluator, tuple):
            if len(evaluator) != 2:
                raise ValueError("a pair of evaluators is (black_evaluator, white_evaluator)")
            movers = np.array([self.mover[self.leaf_game[i]] for i in range(n)], np.int32)
            priors = np.empty((n, self.num_actions), np.float32)
            values = np.empty(n, np.float32)
            exits = np.empty(n, np.int32)
            for colour, ev in zip((1, -1), evaluator):
                rows = np.flatnonzero(movers == colour)
                if rows.size:
                    p, v, e = self._call(ev, planes[rows], thresholds[rows], fixed[rows], legal[rows],
                                         None if vote is None else vote[rows])
                    priors[rows], values[rows], exits[rows] = p, v, e
        else:
            priors, values, exits = self._call(evaluator, planes, thresholds, fixed, legal, vote)
        self._check_exits(exits, n)
        return priors, values, exits

    def _call(self, evaluator, planes, thresholds, fixed, legal, vote):
        if isinstance(evaluator, BoardEvaluator):
            raise TypeError("a BoardEvaluator cannot be one of a pair of evaluators")
        m = planes.shape[0]
        if vote is None or not vote.any():
            priors, values, exits = evaluator(planes, thresholds, fixed_exit=fixed, legal=legal)
        else:
            priors, values, exits = evaluator(planes, thresholds, fixed_exit=fixed, legal=legal, vote=vote)
        priors = np.ascontiguousarray(priors, dtype=np.float32)
        values = np.ascontiguousarray(values, dtype=np.float32).reshape(-1)
        exits = np.ascontiguousarray(exits, dtype=np.int32).reshape(-1)
        if priors.shape != (m, self.num_actions) or values.shape != (m,) or exits.shape != (m,):
            raise ValueError(f"evaluator must return priors [{m}, {self.num_actions}], values [{m}] "
                             f"and exits [{m}]; got {priors.shape}, {values.shape}, {exits.shape}")
        return priors, values, exits

    def _check_exits(self, exits: np.ndarray, int n) -> None:
        """Every answered exit must be one of the mover's network and, for a fixed exit, that exit."""
        cdef const int32_t[::1] answered = exits
        cdef int32_t* fixed = <int32_t*>cnp.PyArray_DATA(self._fixed)
        cdef int i, g, limit
        for i in range(n):
            g = self.leaf_game[i]
            limit = self.slot_exits[2 * g + (0 if self.mover[g] == 1 else 1)]
            if answered[i] < 0 or answered[i] >= limit:
                raise ValueError(f"evaluator answered exits outside [0, {limit}): "
                                 f"{sorted(set(exits[:n].tolist()))}")
            if fixed[i] >= 0 and answered[i] != fixed[i]:
                raise ValueError(f"evaluator answered exit {answered[i]} for a leaf fixed at exit {fixed[i]}")

    @cython.cdivision(True)
    cdef int _expand_and_backup(self, int n, priors_arr, values_arr, exits_arr) except -1:
        """Expand each pending leaf with its legal moves and renormalised priors, back its
        value up, and charge the FLOPs of the exit that answered it."""
        cdef float* priors = <float*>cnp.PyArray_DATA(priors_arr)
        cdef float* values = <float*>cnp.PyArray_DATA(values_arr)
        cdef int* exits = <int*>cnp.PyArray_DATA(exits_arr)
        cdef unsigned char* legal = <unsigned char*>cnp.PyArray_DATA(self._legal)
        cdef int A = self.num_actions
        cdef int i, a, g, k, e, j, c
        cdef int32_t leaf, first
        cdef Tree* t
        cdef Node* nodes
        cdef float* row
        cdef unsigned char* mask
        cdef double total, p, value
        for i in range(n):
            g = self.leaf_game[i]
            leaf = self.leaf_node[i]
            t = &self.trees[g]
            row = &priors[i * A]
            mask = &legal[i * A]
            k = 0
            total = 0.0
            for a in range(A):
                if mask[a]:
                    k += 1
                    p = row[a]
                    if p > 0.0 and p < 1e30:   # negatives, NaN and inf count as 0
                        total += p
            first = t.size
            if tree_reserve(t, <int64_t>first + k) < 0:
                raise MemoryError("search tree: out of memory")
            t.size = first + k
            nodes = t.nodes
            j = first
            for a in range(A):
                if mask[a]:
                    p = row[a]
                    if total > 0.0:
                        p = p / total if (p > 0.0 and p < 1e30) else 0.0
                    else:
                        p = 1.0 / k
                    node_init(&nodes[j], a, <float>p)
                    j += 1
            nodes[leaf].first_child = first
            nodes[leaf].num_children = <int16_t>k
            nodes[leaf].flags = 0
            value = values[i]
            if not value == value:
                value = 0.0
            value = max(-1.0, min(1.0, value))
            self._backup(g, self.leaf_path_off[i], self.leaf_path_len[i], value)
            e = exits[i]
            c = 2 * g + (0 if self.mover[g] == 1 else 1)
            self.spent[g] += self.slot_flops[c * MAX_EXITS + e]
            if self.leaf_slot[i] >= 0:
                self.cand_flops[g * A + self.leaf_slot[i]] += self.slot_flops[c * MAX_EXITS + e] - self.leaf_charge[i]
            self.evals[g * MAX_EXITS + e] += 1
            if self.leaf_path_len[i] > 1:
                self.sims[g] += 1
        return 0

    # ------------------------------------------------------------------ Gumbel root

    cdef int _gumbel_slot(self, int g, double need, bint busy) except -2:
        """The candidate slot the next simulation of game `g` goes through: the considered
        candidate with the fewest FLOPs charged this phase (the better one on ties). When the
        next leaf (FLOPs `need` once admitted) no longer fits in the phase's share and every
        candidate had a visit in it, the phase ends and the halving keeps the better half;
        -1 while leaves are in flight (`busy`): the phase ends once they are charged."""
        cdef int base = g * self.num_actions, s, best
        if not self.gumbel_ready[g]:
            self._gumbel_begin(g)
        while True:
            best = 0
            for s in range(1, self.considered[g]):
                if self.cand_flops[base + s] < self.cand_flops[base + best]:
                    best = s
            if self.cand_visits[base + best] == 0 or need <= self.phase_target[g] * (1.0 + 1e-9):
                return best
            if busy or self.considered[g] <= 2:
                return -1
            self._gumbel_halve(g, max(2, self.considered[g] // 2))

    def _gumbel_begin(self, int g) -> None:
        """Draw g(a) for the expanded root's children and take the top m by g + logits
        (Gumbel-top-m: m moves sampled from the prior without replacement) as the candidates,
        best first; the first phase starts."""
        cdef Node* nodes = self.trees[g].nodes
        cdef int first = nodes[0].first_child, k = nodes[0].num_children, base = g * self.num_actions, j
        draws = self._np_rng.gumbel(size=k)
        if not (self.config.gumbel_every_move or self._boards[g].move_count < self.config.temperature_moves):
            draws[:] = 0.0
        logits = np.array([prior_logit(nodes[first + j].prior) for j in range(k)])
        for j in range(k):
            self.root_gumbel[base + j] = draws[j]
        order = np.argsort(-(draws + logits), kind="stable")
        m = min(self.config.gumbel_max_actions, k)
        for j in range(m):
            self.cand[base + j] = order[j]
        self.considered[g] = m
        self.gumbel_ready[g] = 1
        self._gumbel_halve(g, m)

    def _gumbel_halve(self, int g, int keep) -> None:
        """Keep the `keep` considered candidates of largest g + logits + sigma(completed Q)
        (best first) and start the next phase with the budget left over the phases left."""
        cdef int base = g * self.num_actions, s, nc = self.considered[g]
        offsets = np.array([self.cand[base + s] for s in range(nc)], np.int64)
        scores = self._root_scores(g)[offsets] + np.array([self.root_gumbel[base + o] for o in offsets])
        kept = offsets[np.argsort(-scores, kind="stable")[:keep]]
        for s in range(nc):
            if s < keep:
                self.cand[base + s] = kept[s]
            self.cand_flops[base + s] = 0.0
            self.cand_visits[base + s] = 0
        self.considered[g] = keep
        self.phase_target[g] = self.spent[g] + (self.budget[g] - self.spent[g]) / halving_phases(keep)

    def _root_scores(self, int g) -> np.ndarray:
        """logits + sigma(completed Q) of `g`'s root children, float64 [children], child order."""
        cdef Node* nodes = self.trees[g].nodes
        cdef int j, k = nodes[0].num_children
        self._gumbel_logits(nodes, 0, self.gumbel_buf)
        return np.array([self.gumbel_buf[j] for j in range(k)])

    def _gumbel_choice(self, int g) -> tuple[int, np.ndarray]:
        """The Gumbel root's move (the remaining candidate of largest g + logits + sigma(completed
        Q)) and its improved policy softmax(logits + sigma(completed Q)), float32 [num_actions]."""
        cdef Node* nodes = self.trees[g].nodes
        cdef int first = nodes[0].first_child, k = nodes[0].num_children, base = g * self.num_actions, j
        if not self.gumbel_ready[g]:
            self._gumbel_begin(g)
        scores = self._root_scores(g)
        actions = np.array([nodes[first + j].action for j in range(k)], np.int64)
        offsets = np.array([self.cand[base + j] for j in range(self.considered[g])], np.int64)
        draws = np.array([self.root_gumbel[base + o] for o in offsets])
        action = int(actions[offsets[np.argmax(draws + scores[offsets])]])
        weights = np.exp(scores - scores.max())
        improved = np.zeros(self.num_actions, np.float32)
        improved[actions] = weights / weights.sum()
        return action, improved

    def gumbel_state(self, int game) -> dict[str, np.ndarray | float]:
        """The Gumbel root of `game`'s last search, until its move is played: "gumbel", the
        draws g(a) of the root's children (float64, in the order of `root_children`);
        "considered", the actions still in the halving, best first; "phase_target", the FLOPs
        spent at which the current phase's share ends."""
        self._check_game(game)
        if not self.gumbel:
            raise ValueError("gumbel_state: this search's root is 'puct'")
        if not self.gumbel_ready[game]:
            raise ValueError(f"gumbel_state: game {game}'s root has no Gumbel draws yet")
        cdef Node* nodes = self.trees[game].nodes
        cdef int first = nodes[0].first_child, base = game * self.num_actions, j
        return {"gumbel": np.array([self.root_gumbel[base + j] for j in range(nodes[0].num_children)]),
                "considered": np.array([nodes[first + self.cand[base + j]].action
                                        for j in range(self.considered[game])], np.int32),
                "phase_target": float(self.phase_target[game])}

    def _apply_pending_noise(self) -> None:
        """Mix Dirichlet noise into the root priors of searching games whose root is expanded:
        P = (1 - eps) * P + eps * Dir(alpha_scale / legal moves)."""
        cdef int g, j, k
        cdef Node* nodes
        cdef double eps = self.config.dirichlet_epsilon
        for g in range(self.num_games):
            if not (self.noise_pending[g] and self.searching[g]):
                continue
            nodes = self.trees[g].nodes
            if nodes[0].first_child < 0:
                continue
            k = nodes[0].num_children
            noise = self._np_rng.dirichlet(np.full(k, self.config.dirichlet_alpha_scale / k))
            for j in range(k):
                nodes[nodes[0].first_child + j].prior = <float>(
                    (1.0 - eps) * nodes[nodes[0].first_child + j].prior + eps * noise[j])
            self.noise_pending[g] = 0

    def _result(self, int g) -> MoveResult:
        cdef Node* nodes = self.trees[g].nodes
        cdef Node* root = &nodes[0]
        cdef int j, first = root.first_child, k = root.num_children
        counts = np.zeros(self.num_actions, np.float64)
        priors = np.zeros(self.num_actions, np.float64)
        for j in range(k):
            counts[nodes[first + j].action] = nodes[first + j].n
            priors[nodes[first + j].action] = nodes[first + j].prior
        total = counts.sum()
        pi = counts / total if total > 0 else priors / priors.sum()
        board = self._boards[g]
        cfg = self.config
        improved = None
        if self.gumbel and k > 0:
            action, improved = self._gumbel_choice(g)
        elif total > 0 and board.move_count < cfg.temperature_moves and cfg.temperature > 0:
            logits = np.where(counts > 0, np.log(np.maximum(counts, 1e-300)), -np.inf) / cfg.temperature
            weights = np.exp(logits - logits.max())
            action = int(self._np_rng.choice(self.num_actions, p=weights / weights.sum()))
        else:
            action = int(np.argmax(pi))
        root_value = -root.w / root.n if root.n > 0 else 0.0
        resigned = would_resign = False
        if cfg.resign_threshold is not None and total > 0:
            best = int(np.argmax(counts))
            best_q = next(nodes[first + j].w / nodes[first + j].n for j in range(k)
                          if nodes[first + j].action == best)
            if max(root_value, best_q) < cfg.resign_threshold:
                resigned = bool(self.c_may_resign[g])
                would_resign = not resigned
        return MoveResult(
            game=g, player=self.mover[g], action=-1 if resigned else action,
            pi=pi.astype(np.float32), root_value=float(root_value), flops=float(self.spent[g]),
            evals_per_exit=self._evals_per_exit(g),
            simulations=int(self.sims[g]), resigned=resigned, would_resign=would_resign,
            improved_policy=improved)


def search_one(Board board, evaluator, *, player: Player | None = None,
               config: SearchConfig | None = None, exit_flops=(1.0,), seed: int = 0) -> MoveResult:
    """Search one position (G = 1) to `player`'s budget and return the chosen move without
    playing it. For a game (GTP), keep a `BatchedSearch(1)` instead so the tree is reused."""
    search = BatchedSearch(1, board.size, board.komi, config=config, exit_flops=exit_flops,
                           players=player, seed=seed, max_moves=board.max_moves)
    search.set_board(0, board)
    if search.is_finished(0):
        raise ValueError("the game on this board is over: there is no move to search")
    return search.search(evaluator)[0]
