"""Go Text Protocol: the engine dpv speaks (`dpv gtp`), its players, and a client and referee
for driving other GTP engines (GNU Go, or another `dpv gtp`)."""
