"""dpv.play.exits: the text forms of the exit policies beyond the thesis's (confidence over all
actions, depth by place in the tree)."""
from __future__ import annotations

import pytest

from dpv.play.exits import parse_exit_policy
from go_engine import ExitPolicy


@pytest.mark.parametrize("text, policy", [
    ("dynamic:0.5,0.4/all", ExitPolicy.dynamic(0.5, 0.4, "all")),
    ("dynamic:0.5,0.4/legal", ExitPolicy.dynamic(0.5, 0.4)),
    ("threshold:0.7/all", ExitPolicy.threshold(0.7, "all")),
    ("collab:0.3,0.2", ExitPolicy.dynamic(0.3, 0.2, vote=True)),
    ("collab:0.3,0.2/all", ExitPolicy.dynamic(0.3, 0.2, "all", vote=True)),
    ("depth:2,0.5", ExitPolicy.depth(2, 0.5)),
    ("depth:3,1,1", ExitPolicy.depth(3, 1.0, exit=1)),
])
def test_parse_exit_policy_beyond_the_thesis(text, policy):
    assert parse_exit_policy(text) == policy


@pytest.mark.parametrize("text", ["dynamic:0.5,0.4/most", "0/all", "depth:2", "depth:2,1.5", "depth:-1,0.5",
                                  "depth:2,0.5,0,1", "depth:2,0.5/all", "collab:0.3"])
def test_parse_exit_policy_rejects_bad_forms_in_one_line(text):
    with pytest.raises(ValueError, match="bad exit policy") as err:
        parse_exit_policy(text)
    assert "\n" not in str(err.value) and "depth:D,S" in str(err.value)
