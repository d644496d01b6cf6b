"""Exit policies in text form, shared by `dpv arena`, `dpv gtp`, `dpv study exits` and `dpv demo`:
`k` or `exit=k` (fixed exit k, -1 = deepest), `dynamic:TAU0,ALPHA` (the budget-adaptive
threshold tau = tau0 + alpha * r, eq. 6.5) and `threshold:TAU` (alpha = 0, the ablation of
Table 6.3)."""
from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from go_engine import ExitPolicy


def parse_exit_policy(text: str) -> ExitPolicy:
    """An ExitPolicy from "k" / "exit=k" (fixed exit k), "dynamic:TAU0,ALPHA" or "threshold:TAU";
    anything else is a one-line ValueError."""
    from go_engine import ExitPolicy

    body = text.strip()
    if body.startswith("exit="):
        body = body[len("exit="):]
    kind, _, values = body.partition(":")
    try:
        if kind == "dynamic":
            tau0, alpha = (float(v) for v in values.split(","))
            return ExitPolicy.dynamic(tau0, alpha)
        if kind == "threshold":
            return ExitPolicy.threshold(float(values))
        if values:
            raise ValueError
        return ExitPolicy.fixed(int(kind))
    except ValueError:
        raise ValueError(f"bad exit policy '{text}': use k, dynamic:TAU0,ALPHA or threshold:TAU") from None
