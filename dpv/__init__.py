"""dpv: dynamic early-exit networks for adaptive-compute game search and image classification."""

__version__ = "0.1.0"
