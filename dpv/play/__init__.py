"""What every program that plays Go shares (self-play, gating, `dpv arena`, `dpv gtp`):

- `settings`: `SearchSettings`, the one set of search settings, and its conversion to
  go_engine.SearchConfig per role (self-play, match, GTP);
- `networks`: checkpoint -> evaluator and FLOPs per exit, the `rollout` pseudo checkpoint,
  the default network of a command;
- `exits`: exit policies in text form (`-1`, `dynamic:TAU0,ALPHA`, `threshold:TAU`);
- `match`: the one match loop between two search players (any two networks);
- `player`: `MctsPlayer`, the search for one game with its tree kept across moves;
- `gtp_client`: GTP replies and the client of an engine subprocess;
- `referee`: one game between two seats (GTP engines or our search player).

dpv.gtp and dpv.arena depend on dpv.play and never on each other; dpv.play imports neither.
No torch or ray import at module level.
"""
