"""`dpv model-info`: parameters and FLOPs per exit of a DPV network (from a config or a
checkpoint) or of a vision preset (MSDNet / RANet, beside the thesis's figures). torch is
imported only when the command runs."""
from __future__ import annotations

import argparse

FLOPS_CONVENTION = (
    "FLOPs: one position, stem + blocks up to the exit + that exit's policy/value heads, "
    "2 per multiply-add of convs and linears (torch FlopCounterMode)"
)


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the `model-info` subcommand."""
    parser = subparsers.add_parser("model-info", help="params and FLOPs per exit of a DPV network")
    source = parser.add_mutually_exclusive_group(required=True)
    source.add_argument("--config", help="a net preset by name (net-paper, net-tiny) or the path of a YAML file: "
                                         "a bare network config or any config with a net: section")
    source.add_argument("--checkpoint", help="a checkpoint written by dpv.nets.checkpoint")
    source.add_argument("--vision", metavar="PRESET",
                        help="a vision preset: msdnet-cifar, msdnet-imagenet, ranet-cifar")
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    """Print one row per exit: block, params, FLOPs, relative cost against the last exit."""
    if args.vision:
        return run_vision(args.vision)
    from dpv.nets.checkpoint import load_checkpoint
    from dpv.nets.config import load_net_config
    from dpv.nets.flops import exit_flops, exit_params
    from dpv.nets.model import DPVNet

    if args.checkpoint:
        checkpoint = load_checkpoint(args.checkpoint)
        model, source = checkpoint.model, f"{args.checkpoint} (step {checkpoint.step})"
    else:
        model, source = DPVNet(load_net_config(args.config)), args.config
    cfg = model.config
    flops, params = exit_flops(model), exit_params(model)
    print(f"{source}: {cfg.blocks} blocks x {cfg.channels} channels, "
          f"{sum(p.numel() for p in model.parameters()):,} params in all")
    print(f"{'exit':>4} {'block':>5} {'params':>11} {'FLOPs':>10} {'relative':>8}")
    for k, (block, p, f) in enumerate(zip(cfg.exits, params, flops)):
        print(f"{k:>4} {block:>5} {p:>11,} {f:>10.3e} {f / flops[-1]:>8.1%}")
    print(FLOPS_CONVENTION)
    return 0


def run_vision(name: str) -> int:
    """Print a vision preset's per-exit params and FLOPs beside the thesis's tables."""
    from dpv.vision.models.build import THESIS_COSTS, preset_costs
    from dpv.vision.models.flops import format_table

    print(f"{name}\n{format_table(preset_costs(name), THESIS_COSTS.get(name))}")
    print("FLOPs: one image, one multiply-add = one FLOP, cumulative over the exits passed "
          "(earlier classifiers included)")
    return 0
