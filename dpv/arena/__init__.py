"""Matches between search players (thesis ch. 6.2.3, 6.3.2): player specs and budget modes
(`spec`), win-rate statistics (`stats`), chunks of games through the match loop of dpv.play
(`match`), what they produced and how it is reported (`report`), games against external GTP
engines (`external`), the inference study of Tables 6.2 and 6.3 (`study`), and the
`dpv arena` / `dpv study exits` commands (`command`).

Importing `dpv.arena` or `dpv.arena.spec` does not import torch or ray; dpv.arena depends on
dpv.play, never on dpv.gtp.
"""
