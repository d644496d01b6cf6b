"""`dpv arena` (a match between two search players, or one against an external GTP engine)
and `dpv study exits` (the inference study of thesis Tables 6.2 and 6.3). torch and ray are
imported only when a command runs."""
from __future__ import annotations

import argparse
import contextlib
import json
import sys
from collections.abc import Iterator
from dataclasses import fields

from dpv.arena.spec import BUDGET_MODES


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the `arena` and `study` subcommands."""
    parser = subparsers.add_parser("arena",
                                   help="play a match between two search players (or one against a GTP engine)")
    who = parser.add_argument_group("players (A is reported; colours alternate)")
    who.add_argument("--exits",
                     help="A,B: fixed exits of A and B on one network, e.g. 0,2 or --exits=0,-1 (-1 = deepest)")
    who.add_argument("--a", metavar="SPEC",
                     help="player A: exit=K|dynamic:TAU0,ALPHA|threshold:TAU,sims=N,checkpoint=PATH,name=S "
                          "(A and B may name any two networks)")
    who.add_argument("--b", metavar="SPEC", help="player B, as --a")
    who.add_argument("--opponent", metavar="COMMAND",
                     help='B is an external GTP engine, e.g. "gnugo --mode gtp --level 5"')
    who.add_argument("--opponent-timeout", type=float, default=60.0, metavar="SECONDS",
                     help="seconds the opponent may take to answer a command, a move included (default 60); "
                          "an opponent that dies or falls silent ends the match, keeping the games played")
    parser.add_argument("--checkpoint", help="network of the players whose spec names none "
                        "(default: the newest runs/**/best.pt, else the shipped network, else a fresh one)")
    add_match_options(parser, timed=True)
    parser.add_argument("--sims", type=float, default=100,
                        help="budget per move in full-network simulations (default 100)")
    parser.add_argument("--games", type=int, default=100, help="games in the match (default 100)")
    parser.add_argument("--out", help="run directory for the SGFs and match.json (default runs/arena-TIME)")
    parser.add_argument("--json", action="store_true",
                        help="print the report as JSON on stdout (the summary goes to stderr)")
    parser.set_defaults(run=run_arena)

    study = subparsers.add_parser("study", help="the thesis's studies on a trained network")
    studies = study.add_subparsers(dest="study", required=True, metavar="STUDY")
    exits = studies.add_parser("exits", help="Tables 6.2 and 6.3: shallow exits and dynamic exits at equal budgets")
    exits.add_argument("--config", help="a study config (configs/study-exits.yaml); flags below override it")
    exits.add_argument("--checkpoint",
                       help="the network studied (default: the newest runs/**/best.pt, else the shipped network, "
                            "else a fresh one)")
    exits.add_argument("--sims", help="budgets in full-network simulations, e.g. 100,200")
    exits.add_argument("--games", type=int, help="games per table cell (500 in the thesis)")
    exits.add_argument("--budget", choices=("equal-flops", "equal-time"),
                       help="the budget of Table 6.2's equal-budget row, of the tuning and of Table 6.3: "
                            "equal-flops (default) or equal-time (with --ms-per-move)")
    exits.add_argument("--ms-per-move", type=float, metavar="M",
                       help="with --budget equal-time: milliseconds of the clock per move")
    exits.add_argument("--tune-games", type=int, help="games per candidate when tuning tau0 / alpha / tau")
    exits.add_argument("--workers", type=int, help="chunks of games played at once (0: play in this process)")
    exits.add_argument("--executor", choices=("ray", "processes"), help="ray (default) or a local process pool")
    exits.add_argument("--games-per-task", type=int, help="games per chunk, searched as one batch")
    exits.add_argument("--device", help="torch device of the network (cpu, cuda)")
    exits.add_argument("--out", help="run directory (default runs/study-exits-TIME)")
    exits.set_defaults(run=run_study)


def add_match_options(parser: argparse.ArgumentParser, timed: bool = False) -> None:
    """Options of how a match is played (MatchConfig), shared by the arena commands; `timed`
    adds the clock's budget (`--budget equal-time --ms-per-move M`)."""
    modes = BUDGET_MODES if timed else tuple(m for m in BUDGET_MODES if m != "equal-time")
    parser.add_argument("--budget", choices=modes, default="equal-flops",
                        help="equal-flops: every player gets sims x FLOPs(deepest) per move; "
                             "equal-sims: fixed exits run sims evaluations each"
                             + ("; equal-time: every player searches --ms-per-move ms per move" if timed else ""))
    if timed:
        parser.add_argument("--ms-per-move", type=float, default=None, metavar="M",
                            help="with --budget equal-time: milliseconds of the clock per move (the search of "
                                 "the games of one task moves together, in M ms; --sims is then one round of it)")
    parser.add_argument("--opening-moves", type=int, default=4,
                        help="plies sampled by visit count before deterministic play (default 4)")
    parser.add_argument("--workers", type=int, default=None,
                        help="chunks of games played at once (default: Ray's CPUs; 0: play in this process)")
    parser.add_argument("--executor", choices=("ray", "processes"), default="ray",
                        help="ray: Ray tasks (default); processes: a local process pool, for machines without Ray")
    parser.add_argument("--games-per-task", type=int, default=8,
                        help="games per task, searched as one batch (default 8; 0: spread evenly over the workers)")
    parser.add_argument("--sensible-moves", action="store_true", help="no move fills the mover's own eye and "
                        "pass only when nothing else is left (the rule of self-play's search)")
    parser.add_argument("--max-moves", type=int, default=None, help="move cap of a game, scored as it stands "
                        "(default: 2 x size^2)")
    parser.add_argument("--device", default="cpu", help="torch device of the networks (cpu, cuda)")
    parser.add_argument("--seed", type=int, default=0)


@contextlib.contextmanager
def file_errors() -> Iterator[None]:
    """Turn a file-system error (a read-only or impossible run directory, a full disk) into a
    one-line ValueError naming the path and why."""
    try:
        yield
    except OSError as err:
        raise ValueError(f"{err.filename or 'a file'}: {err.strerror or err}") from None


def run_arena(args: argparse.Namespace) -> int:
    """Resolve the players, play the match, print the report."""
    with file_errors():
        return play_arena(args)


def play_arena(args: argparse.Namespace) -> int:
    """`dpv arena` (file-system errors are left to `run_arena`)."""
    from dpv.arena.match import MatchConfig, prepare_out, run_dir, run_match
    from dpv.arena.spec import PlayerSpec, snapshot_checkpoint
    from dpv.play.networks import default_network

    a_spec, b_spec = arena_players(args)
    if args.opponent and args.budget == "equal-time":
        raise ValueError("--budget equal-time is for two search players; against --opponent use equal-flops")
    config = MatchConfig(games=args.games, budget=args.budget, search=match_settings(args), workers=args.workers,
                         executor=args.executor, games_per_task=args.games_per_task, device=args.device,
                         seed=args.seed, max_moves=args.max_moves, ms_per_move=args.ms_per_move)
    out = run_dir("arena") if args.out is None else prepare_out(args.out)
    network = snapshot_checkpoint(default_network(args.checkpoint, f"{out}/fresh-net.pt", seed=args.seed), out)
    a = PlayerSpec.parse(a_spec, simulations=args.sims).with_checkpoint(network)
    if args.opponent:
        from dpv.arena.external import run_external_match

        print(f"dpv arena: A = {a.label} vs B = {args.opponent}, {args.games} games", file=sys.stderr)
        report = run_external_match(a, args.opponent, config, out=out, timeout=args.opponent_timeout)
    else:
        b = PlayerSpec.parse(b_spec, simulations=args.sims).with_checkpoint(network)
        print(f"dpv arena: A = {a.label} vs B = {b.label}, {args.games} games, budget {config.budget_label}",
              file=sys.stderr)
        report = run_match(a, b, config, out=out)
    if args.json:
        print(report.summary(), file=sys.stderr)
        print(json.dumps(report.to_dict(), indent=2))
    else:
        print(report.summary())
    return 0


def match_settings(args: argparse.Namespace):
    """The match's SearchSettings from the command line (`--opening-moves`, `--sensible-moves`)."""
    from dataclasses import replace

    from dpv.play.settings import default_settings

    return replace(default_settings("match"), opening_moves=args.opening_moves, sensible_moves=args.sensible_moves)


def arena_players(args: argparse.Namespace) -> tuple[str, str]:
    """The spec texts of A and B (B is the opponent's command line with --opponent)."""
    if args.exits and (args.a or args.b):
        raise ValueError("use either --exits A,B or --a/--b, not both")
    if args.exits:
        if args.opponent:
            raise ValueError("--exits names two exits of one network; with --opponent use --a for our player")
        parts = args.exits.split(",")
        if len(parts) != 2:
            raise ValueError(f"--exits takes two exits A,B (e.g. 0,-1), got '{args.exits}'")
        return f"exit={parts[0].strip()}", f"exit={parts[1].strip()}"
    if args.opponent:
        if args.b:
            raise ValueError("--opponent is player B: leave out --b")
        return args.a or "exit=-1", args.opponent
    return args.a or "exit=-1", args.b or "exit=-1"


def run_study(args: argparse.Namespace) -> int:
    """Run `dpv study exits` and print its tables."""
    from dpv.arena.study import StudyConfig, load_study_config, run_exit_study

    config = load_study_config(args.config) if args.config else StudyConfig()
    overrides = {"games": args.games, "tune_games": args.tune_games, "budget": args.budget,
                 "ms_per_move": args.ms_per_move}
    if args.sims:
        try:
            overrides["sims"] = [float(s) for s in args.sims.split(",")]
        except ValueError:
            raise ValueError(f"--sims takes numbers separated by commas, got '{args.sims}'") from None
    known = {f.name for f in fields(StudyConfig)}
    values = {**{k: getattr(config, k) for k in known}, **{k: v for k, v in overrides.items() if v is not None}}
    if args.budget == "equal-flops" and args.ms_per_move is None:  # the config's clock goes with its equal-time
        values["ms_per_move"] = None
    config = StudyConfig(**values)
    for option in ("workers", "executor", "games_per_task", "device"):
        if getattr(args, option) is not None:
            setattr(config.match, option, getattr(args, option))
    with file_errors():
        result = run_exit_study(config, checkpoint=args.checkpoint, out=args.out)
    print(result.markdown())
    print(f"written: {result.out}/study.md, study.json, study.png", file=sys.stderr)
    return 0
