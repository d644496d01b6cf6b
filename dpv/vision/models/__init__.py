"""MSDNet and RANet (thesis 4.3): configs and presets, layers, the two networks, building one
from its config and counting its per-exit params and FLOPs."""
