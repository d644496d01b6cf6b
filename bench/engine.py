"""Random-playout speed of go_engine's 9x9 board against OpenSpiel's C++ Go and a pure-Python board.

    python bench/engine.py [--seconds 3] [--json results.json] [--no-openspiel]

All three play the same games: 9x9, komi 7.5, each move uniform over the legal actions with
pass included (so players fill their own eyes), capped at 162 moves -- the policy of
OpenSpiel's uniform random bots, whose whole game loop runs in C++ through
`pyspiel.evaluate_bots`. go_engine's loop runs in C (`Board.random_playouts`: one
`c_copy_from` of the start position plus one `c_random_playout` per game). Everything is
single-threaded, so the numbers are per core. OpenSpiel runs in a subprocess of its own
virtual environment, `.venv-openspiel` (created here if missing: `open_spiel==2.0.2`).

Also reported: go_engine with the usual Monte-Carlo policy (no own-eye filling), and the
per-call cost of `c_copy_from` and `c_write_planes`, the two board calls the search makes
per simulation, measured from Cython (bench/kernels.pyx, compiled with pyximport).
"""
from __future__ import annotations

import argparse
import json
import random
import statistics
import subprocess
import sys
import time
import venv
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from go_engine import Board  # noqa: E402
from pyboard import PyBoard, random_playout  # noqa: E402

SIZE, KOMI, MAX_MOVES = 9, 7.5, 162
OPENSPIEL_VENV = ROOT / ".venv-openspiel"
OPENSPIEL_PIN = "open_spiel==2.0.2"

# Runs inside .venv-openspiel: random games for about `seconds`, prints moves and time.
OPENSPIEL_SCRIPT = """
import json, sys, time
import pyspiel
seconds, rounds = float(sys.argv[1]), int(sys.argv[2])
game = pyspiel.load_game("go", {"board_size": 9, "komi": 7.5})
assert game.max_game_length() == 162
bots = [pyspiel.make_uniform_random_bot(player, 1 + player) for player in (0, 1)]
results, seed = [], 0
for _ in range(rounds):
    moves, games, start = 0, 0, time.perf_counter()
    while time.perf_counter() - start < seconds / rounds:
        for _ in range(50):
            state = game.new_initial_state()
            pyspiel.evaluate_bots(state, bots, seed)
            moves += state.move_number()
            games += 1
            seed += 1
    results.append((moves, games, time.perf_counter() - start))
print(json.dumps(results))
"""


def measure_go_engine(seconds: float, rounds: int, fill_own_eyes: bool) -> dict:
    """Moves/s of Board.random_playouts from the empty board: the median of `rounds` timings."""
    start_position = Board(SIZE, KOMI, MAX_MOVES)
    moves, _ = start_position.random_playouts(200, 1, fill_own_eyes)      # warm-up and calibration
    began = time.perf_counter()
    moves, _ = start_position.random_playouts(1000, 2, fill_own_eyes)
    games = max(1000, int(1000 * seconds / rounds / (time.perf_counter() - began)))
    rates, total_moves = [], 0
    for round_ in range(rounds):
        began = time.perf_counter()
        moves, _ = start_position.random_playouts(games, 100 + round_, fill_own_eyes)
        rates.append(moves / (time.perf_counter() - began))
        total_moves += moves
    return {"moves_per_s": statistics.median(rates), "moves_per_game": total_moves / (games * rounds),
            "rates": rates}


def measure_pure_python(seconds: float) -> dict:
    """Moves/s of bench/pyboard.py's random_playout, same policy and cap."""
    rng = random.Random(0)
    moves = games = 0
    began = time.perf_counter()
    while time.perf_counter() - began < seconds:
        moves += random_playout(PyBoard(SIZE, KOMI, MAX_MOVES), rng)
        games += 1
    return {"moves_per_s": moves / (time.perf_counter() - began), "moves_per_game": moves / games}


def ensure_openspiel() -> Path:
    """The python of .venv-openspiel, creating the environment if needed."""
    python = OPENSPIEL_VENV / "bin" / "python"
    probe = [str(python), "-c", "import pyspiel"]
    if python.exists() and subprocess.run(probe, capture_output=True).returncode == 0:
        return python
    print(f"creating {OPENSPIEL_VENV} with {OPENSPIEL_PIN} (once) ...", flush=True)
    venv.create(OPENSPIEL_VENV, with_pip=True)
    subprocess.run([str(python), "-m", "pip", "install", "--quiet", OPENSPIEL_PIN], check=True)
    return python


def measure_openspiel(seconds: float, rounds: int) -> dict:
    """Moves/s of OpenSpiel's C++ game loop (uniform random bots), in its own venv."""
    python = ensure_openspiel()
    output = subprocess.run([str(python), "-c", OPENSPIEL_SCRIPT, str(seconds), str(rounds)],
                            capture_output=True, text=True, check=True).stdout
    results = json.loads(output)
    rates = [moves / elapsed for moves, _, elapsed in results]
    moves = sum(m for m, _, _ in results)
    games = sum(g for _, g, _ in results)
    return {"moves_per_s": statistics.median(rates), "moves_per_game": moves / games, "rates": rates}


def measure_kernels() -> dict:
    """ns per call of c_copy_from and c_write_planes on a 9x9 position 60 moves into a game."""
    import pyximport

    pyximport.install(language_level=3, inplace=False,
                      setup_args={"include_dirs": [np.get_include(), str(ROOT)]})
    import kernels

    position = Board(SIZE, KOMI, MAX_MOVES)
    position.random_playout(7, True, 60)
    planes = np.zeros(17 * SIZE * SIZE, dtype=np.float32)
    calls = 200_000
    kernels.copy_from_ns(position, calls)                                # warm-up
    return {
        "c_copy_from_ns": min(kernels.copy_from_ns(position, calls) for _ in range(3)),
        "c_write_planes_ns": min(kernels.write_planes_ns(position, planes, calls) for _ in range(3)),
        "position_moves": position.move_count,
    }


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=3.0, help="time per peer (default 3)")
    parser.add_argument("--rounds", type=int, default=3, help="timed rounds per peer; the median is kept")
    parser.add_argument("--json", type=Path, help="also write the results to this JSON file")
    parser.add_argument("--no-openspiel", action="store_true", help="skip the OpenSpiel peer")
    args = parser.parse_args(argv)

    rows = {"go_engine": measure_go_engine(args.seconds, args.rounds, fill_own_eyes=True)}
    if not args.no_openspiel:
        try:
            rows["openspiel"] = measure_openspiel(args.seconds, args.rounds)
        except (subprocess.CalledProcessError, OSError) as error:
            print(f"OpenSpiel unavailable ({error}); its row is left out", file=sys.stderr)
    rows["pure_python"] = measure_pure_python(args.seconds)
    rows["go_engine_no_eye_fill"] = measure_go_engine(args.seconds, args.rounds, fill_own_eyes=False)
    kernel_times = measure_kernels()

    labels = {
        "go_engine": "go_engine (Cython)",
        "openspiel": f"OpenSpiel {OPENSPIEL_PIN.split('==')[1]} (C++)",
        "pure_python": "pure Python (bench/pyboard.py)",
        "go_engine_no_eye_fill": "go_engine, no own-eye filling",
    }
    ours = rows["go_engine"]["moves_per_s"]
    peer = rows.get("openspiel", {}).get("moves_per_s")
    print(f"9x9 random playouts, one core, uniform legal moves incl. pass, cap {MAX_MOVES}")
    print(f"{'board':34s} {'moves/s':>12s} {'moves/game':>11s} {'vs OpenSpiel':>13s} {'go_engine is':>13s}")
    for key, row in rows.items():
        rate = row["moves_per_s"]
        versus = f"{rate / peer:12.2f}x" if peer else f"{'-':>13s}"
        print(f"{labels[key]:34s} {rate:12,.0f} {row['moves_per_game']:11.1f} {versus} {ours / rate:12.1f}x")
    print(f"c_copy_from    {kernel_times['c_copy_from_ns']:7.1f} ns/call "
          f"(9x9 position after {kernel_times['position_moves']} moves)")
    print(f"c_write_planes {kernel_times['c_write_planes_ns']:7.1f} ns/call (17x9x9 float32)")

    results = {"rows": rows, "kernels": kernel_times, "labels": labels,
               "go_engine_vs_openspiel": ours / peer if peer else None}
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(results, indent=2))
    return results


if __name__ == "__main__":
    main()
