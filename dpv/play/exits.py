"""Exit policies in text form, shared by `dpv arena`, `dpv gtp`, `dpv study exits` and `dpv demo`:
`k` or `exit=k` (fixed exit k, -1 = deepest), `dynamic:TAU0,ALPHA` (the budget-adaptive
threshold tau = tau0 + alpha * r, eq. 6.5) and `threshold:TAU` (alpha = 0, the ablation of
Table 6.3), `collab:TAU0,ALPHA` (dynamic with collaborative exits: the mean policy logits of
the exits a leaf passed, ExitPolicy.vote), each of these three with an optional `/all` (the
confidence of eq. 6.4 over every action) or `/legal` (over the moves the search expands, the
default); `depth:D,S[,K]` (exit K, default 0, for leaves at most D plies below the root selected
before share S of the budget is spent, the deepest exit for the others: ExitPolicy.depth)."""
from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from go_engine import ExitPolicy

FORMS = "k, dynamic:TAU0,ALPHA[/all], collab:TAU0,ALPHA[/all], threshold:TAU[/all] or depth:D,S[,K]"


def parse_exit_policy(text: str) -> ExitPolicy:
    """An ExitPolicy from "k" / "exit=k" (fixed exit k), "dynamic:TAU0,ALPHA", "collab:TAU0,ALPHA",
    "threshold:TAU" (each with "/all" or "/legal") or "depth:D,S[,K]"; anything else is a one-line ValueError."""
    from go_engine import ExitPolicy

    body = text.strip()
    if body.startswith("exit="):
        body = body[len("exit="):]
    kind, _, values = body.partition(":")
    values, _, confidence = values.partition("/")
    try:
        if kind in ("dynamic", "collab", "threshold"):
            confidence = confidence or "legal"
            if kind != "threshold":
                tau0, alpha = (float(v) for v in values.split(","))
                return ExitPolicy.dynamic(tau0, alpha, confidence, vote=kind == "collab")
            return ExitPolicy.threshold(float(values), confidence)
        if confidence:
            raise ValueError
        if kind == "depth":
            depth, share, *shallow = values.split(",")
            if len(shallow) > 1:
                raise ValueError
            return ExitPolicy.depth(int(depth), float(share), int(shallow[0]) if shallow else 0)
        if values:
            raise ValueError
        return ExitPolicy.fixed(int(kind))
    except ValueError:
        raise ValueError(f"bad exit policy '{text}': use {FORMS}") from None
