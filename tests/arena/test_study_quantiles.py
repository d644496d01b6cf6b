"""dpv.arena.study.exit_confidence_quantiles: the study's tau grids are measured over the moves
play measures the exit confidence over (eq. 6.4): sensible or legal moves, or every action."""
from __future__ import annotations

import numpy as np
import pytest
import torch

from dpv.arena.match import MatchConfig
from dpv.arena.study import StudyConfig, exit_confidence_quantiles
from dpv.nets.checkpoint import save_checkpoint
from dpv.nets.config import load_net_config
from dpv.nets.model import DPVNet
from dpv.play.settings import SearchSettings
from go_engine import Board

GAME = [40, 41, 30, 31, 50, 49, 39, 32, 22, 23]


def by_hand(model: DPVNet, mask_of) -> np.ndarray:
    """Exit 0's max softmax over `mask_of(board)` (None: every action) at each position of GAME."""
    board, out = Board(9, 7.5), []
    for action in GAME:
        with torch.inference_mode():
            logits = model.forward_exit(torch.from_numpy(board.planes()[None].astype(np.float32)), 0)[0][0]
        mask = None if mask_of is None else mask_of(board)
        if mask is not None:
            logits = logits.masked_fill(~torch.from_numpy(mask), float("-inf"))
        out.append(float(torch.softmax(logits, 0).max()))
        board.play(action)
    return np.array(out)


MASKS = {"all": None, "sensible": Board.sensible_actions, "legal": Board.legal_actions}


@pytest.fixture(scope="module")
def network(tmp_path_factory) -> tuple[str, dict[str, np.ndarray]]:
    """A fresh net-tiny checkpoint and, per mask, exit 0's confidence at GAME's positions by hand."""
    torch.manual_seed(0)
    model = DPVNet(load_net_config("net-tiny")).eval()
    path = tmp_path_factory.mktemp("net") / "net.pt"
    save_checkpoint(path, model)
    return str(path), {name: by_hand(model, mask_of) for name, mask_of in MASKS.items()}


@pytest.mark.parametrize("sensible, confidence, mask", [(True, "legal", "sensible"), (False, "legal", "legal"),
                                                        (True, "all", "all")])
def test_quantiles_use_the_mask_that_play_uses(network, sensible, confidence, mask):
    path, confidences = network
    match = MatchConfig(search=SearchSettings(sensible_moves=sensible))
    got = exit_confidence_quantiles(path, [GAME], [0.0, 0.5, 1.0], match, confidence)
    assert got == pytest.approx(np.quantile(confidences[mask], [0.0, 0.5, 1.0]).tolist(), rel=1e-5)
    assert all(not np.allclose(confidences[mask], other)          # the masks do differ here
               for name, other in confidences.items() if name != mask)


def test_study_confidence_is_legal_or_all():
    assert StudyConfig(confidence="all").confidence == "all"
    with pytest.raises(ValueError, match="confidence"):
        StudyConfig(confidence="sensible")
