"""Training multi-exit classifiers (thesis ch. 4): losses and dynamic weights, the Ray Train job,
its config, checkpoints and reports, and the `vision-train` / `vision-report` commands."""
