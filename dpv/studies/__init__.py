"""The thesis's training studies: `dpv study training` (6.3.1, Figures 6.6 and 6.7)."""
