"""Inference with a trained multi-exit classifier (thesis ch. 5): cached per-exit logits,
collaborative inference across exits, budgeted classification, the `vision-eval` command and
its report."""
