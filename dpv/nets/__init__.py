"""DPV policy-value networks (thesis ch. 6.2): a ResNet trunk with AlphaZero policy and value
heads at several depths.

Modules, one job each: `config` (NetConfig, LossConfig, presets; no torch), `schedule`
(multi-step self-play exit schedule; no torch), `model` (the network and its forward modes),
`flops` (per-exit FLOPs and params), `loss` (weighted deep supervision, eq. 6.1-6.3),
`checkpoint` (save / load), `evaluator` (the search's numpy evaluator contract, eq. 6.4 and
6.6), `command` (`dpv model-info`). Training batches get their 8-fold symmetry from
`go_engine.symmetry` in the replay buffer.

Importing `dpv.nets` or `dpv.nets.config` does not import torch.
"""
from dpv.nets.config import LossConfig, NetConfig, load_net_config

__all__ = ["LossConfig", "NetConfig", "load_net_config"]
