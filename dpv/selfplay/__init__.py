"""The AlphaZero self-play loop on Ray (thesis 6.2.2, 6.3.1): `dpv launch selfplay`.

Modules, one job each:
- `config`: SelfPlayConfig, the typed config (no torch).
- `messages`: what the actors send, frozen dataclasses (TrainResult, GatingResult, ServerStats,
  BufferStats, WorkerCounters, TrainingBatch, Placement) and the history records.
- `records`: the stored game format; `packing`: bit-packed planes on the wire.
- `store`: the game store in Redis; `state`: RunState, the run-state keys (the Redis schema).
- `cycle`: train -> gate -> promote, the exit switches and the limits as a pure state machine.
- actors: `inference` (InferenceServer), `worker` (SelfPlayWorker), `buffer` (ReplayBuffer),
  `learner` (Learner), `gating` (GatingEvaluator).
- `placement`: the resources each actor asks for and where it ran; `actors`: starting them and
  counting their restarts; `retry`: backoff, calls to a restarting actor.
- `stats`: the actors' statistics polled without blocking, the rates; `metrics`: Prometheus.
- `rundir`: the run directory's layout and files; `lock`: one run at a time in it; `plot`:
  gating.png.
- `preflight`: the checks before anything starts (resume, store, devices, address);
  `errors`: RunError, the one-line error of a run that cannot start or go on.
- `launch`: the driver (orchestration); `command`: the CLI.

Importing `dpv.selfplay` or its `config` does not import torch or ray.
"""
