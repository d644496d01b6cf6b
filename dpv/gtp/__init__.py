"""Go Text Protocol: the engine dpv speaks (`dpv gtp`), its clock and its players. The GTP
client, the referee and the search player live in dpv.play (shared with dpv.arena)."""
