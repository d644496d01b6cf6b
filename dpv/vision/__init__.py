"""Multi-exit image classifiers (MSDNet, RANet) and their training losses (thesis ch. 4).

`dpv.vision.config` holds the model configs and presets (no torch import),
`dpv.vision.models.build_model` builds a model, `dpv.vision.flops.describe` reports its
per-exit cost, `dpv.vision.losses.make_loss` builds a training loss.
"""
