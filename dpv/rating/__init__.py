"""`dpv rate`: Elo over training (the measure of issue "Learn more per CPU-hour").

- `runs`: a self-play run directory's checkpoints with their steps, games and hours;
- `plan`: the contestants (run checkpoints, anchors) and the pairings they play;
- `runner`: the pairings played through dpv.arena, resumably, with progress and ETA;
- `bradley_terry`: the maximum-likelihood Elo fit with a pinned anchor and standard errors;
- `report`: rating.json, rating.md, rating.png; `command`: the CLI.

dpv.rating depends on dpv.arena, dpv.play and dpv.selfplay.rundir (the run's layout), never on
dpv.gtp. No torch or ray import at module level.
"""
