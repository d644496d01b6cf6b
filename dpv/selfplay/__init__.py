"""The AlphaZero self-play loop on Ray (thesis 6.2.2, 6.3.1): `dpv launch selfplay`.

Modules, one job each: `config` (SelfPlayConfig, no torch), `packing` (bit-packed planes on the
wire), `records` (the stored game format), `store` (the game store in Redis), `inference`
(InferenceServer actor), `worker` (SelfPlayWorker actor), `buffer` (ReplayBuffer actor),
`learner` (Learner actor), `gating` (GatingEvaluator actor), `retry` (backoff, calls to a
restarting actor), `launch` (the driver), `command` (the CLI). Importing `dpv.selfplay` or its
`config` does not import torch or ray.
"""
