"""Multi-exit image classifiers (thesis ch. 4 and 5), in four layers, each importing only the
ones before it:

- `models`: MSDNet and RANet, their configs and presets (`models.config`, no torch import),
  `models.build.build_model` and per-exit params and FLOPs (`models.flops`).
- `data`: the image data sets both training and inference read.
- `train` (ch. 4): the losses and dynamic weights, the `dpv vision-train` Ray Train job, its
  config, checkpoints and reports (`dpv vision-train`, `dpv vision-report`).
- `infer` (ch. 5): per-exit logits of a checkpoint, collaborative inference, budgeted
  classification and the `dpv vision-eval` report.
- `sim` (sec. 5.4.2): the synthetic study of Bayesian updating (`dpv bayes-sim`).

Outside itself `dpv.vision` uses only the shared helpers of `dpv` (config loading, checkpoint
files, progress lines).
"""
