"""The `dpv` command line. Each subcommand lives in its own module, which defines
`register(subparsers)`; heavy imports (torch, ray) happen inside the commands, so that
`dpv gtp --player random` starts fast."""
from __future__ import annotations

import argparse
import importlib
import sys

from dpv.config import ConfigError

# Modules that define `register(subparsers)`; each adds one or more subcommands.
COMMAND_MODULES = [
    "dpv.gtp.command",
    "dpv.nets.command",
    "dpv.demo",
    "dpv.arena.command",
    "dpv.vision.infer.command",
    "dpv.vision.sim.command",
    "dpv.vision.train.command",
    "dpv.selfplay.command",
    "dpv.rating.command",
    "dpv.modelcard",
]
# Modules that define `register_study(studies)`; each adds a `dpv study` subcommand beside
# dpv.arena.command's `dpv study exits`.
STUDY_MODULES = ["dpv.studies.command"]


def build_parser() -> argparse.ArgumentParser:
    """The argument parser with every subcommand registered."""
    parser = argparse.ArgumentParser(prog="dpv", description=__doc__.splitlines()[0])
    subparsers = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for name in COMMAND_MODULES:
        importlib.import_module(name).register(subparsers)
    studies = next(action for action in subparsers.choices["study"]._actions
                   if isinstance(action, argparse._SubParsersAction))
    for name in STUDY_MODULES:
        importlib.import_module(name).register_study(studies)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Entry point of the `dpv` console script."""
    args = build_parser().parse_args(argv)
    try:
        return int(args.run(args) or 0)
    except (ConfigError, FileNotFoundError, ValueError) as err:
        print(f"dpv {args.command}: error: {err}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
