"""dpv.play.settings and dpv.play.exits: one SearchSettings for every program, checked once,
converted to go_engine.SearchConfig once per role; old config keys name their new names."""
from __future__ import annotations

from dataclasses import fields

import pytest

from dpv.arena.match import MatchConfig
from dpv.arena.study import StudyConfig
from dpv.config import ConfigError, from_dict, load_config
from dpv.play.exits import parse_exit_policy
from dpv.play.settings import ROLES, SearchSettings, default_settings
from dpv.selfplay.config import SearchSection, SelfPlayConfig
from go_engine import ExitPolicy, SearchConfig


@pytest.mark.parametrize("key, value", [("c_puct", -1.0), ("leaves_per_tree", 0), ("leaves_per_tree", 2000),
                                        ("opening_moves", -1), ("dirichlet_alpha_scale", 0.0),
                                        ("dirichlet_epsilon", 1.5), ("resign_threshold", -2.0),
                                        ("no_resign_fraction", 2.0)])
def test_bad_settings_name_the_key(key, value):
    with pytest.raises(ValueError, match=f"'{key}'"):
        SearchSettings(**{key: value})


def test_each_role_gets_its_own_noise_resignation_and_tree_reuse():
    settings = SearchSettings(c_puct=2.0, fpu_reduction=0.1, leaves_per_tree=3, opening_moves=7, sensible_moves=True,
                              dirichlet_alpha_scale=5.0, dirichlet_epsilon=0.3, resign_threshold=-0.8,
                              no_resign_fraction=0.2)
    configs = {role: settings.engine_config(role) for role in ROLES}
    assert all(isinstance(c, SearchConfig) for c in configs.values())
    assert {role: (c.root_noise, c.resign_threshold, c.reuse_tree) for role, c in configs.items()} == {
        "selfplay": (True, -0.8, True), "match": (False, None, False), "gtp": (False, None, True)}
    for c in configs.values():  # everything else is the settings' own, under one name each
        assert (c.c_puct, c.fpu_reduction, c.leaves_per_tree, c.temperature_moves) == (2.0, 0.1, 3, 7)
        assert c.temperature == 1.0
        assert (c.sensible_moves, c.dirichlet_alpha_scale, c.dirichlet_epsilon, c.no_resign_fraction) == \
            (True, 5.0, 0.3, 0.2)
    with pytest.raises(ValueError, match="unknown role"):
        settings.engine_config("tournament")  # type: ignore[arg-type]


def test_role_defaults():
    assert default_settings("selfplay") == SearchSettings()
    assert (default_settings("match").opening_moves, default_settings("match").sensible_moves) == (4, False)
    assert (default_settings("gtp").opening_moves, default_settings("gtp").sensible_moves) == (0, False)
    assert MatchConfig().search == default_settings("match")


def test_every_program_reads_the_same_settings():
    names = {f.name for f in fields(SearchSettings)}
    assert names <= {f.name for f in fields(SearchSection)}  # self-play's search: section is SearchSettings
    assert issubclass(SearchSection, SearchSettings)
    local = load_config("configs/local.yaml", SelfPlayConfig)
    assert local.search.opening_moves == 12 and local.search.engine_config("selfplay").temperature_moves == 12
    study = load_config("configs/study-exits.yaml", StudyConfig)
    assert isinstance(study.match.search, SearchSettings) and study.match.search.opening_moves == 4
    assert not {"c_puct", "leaves_per_tree", "opening_moves", "sensible_moves"} & {f.name for f in fields(MatchConfig)}


@pytest.mark.parametrize("schema, data, message", [
    (SelfPlayConfig, {"search": {"temperature_moves": 8}},
     "'search.temperature_moves' is now called 'search.opening_moves'"),
    (StudyConfig, {"match": {"opening_moves": 2}}, "'match.opening_moves' is now called 'match.search.opening_moves'"),
    (StudyConfig, {"match": {"c_puct": 1.0}}, "'match.c_puct' is now called 'match.search.c_puct'"),
    (SelfPlayConfig, {"search": {"leaves_per_tree": 0}}, "'leaves_per_tree' must lie in [1, 1024]"),
])
def test_old_and_bad_keys_are_one_line_config_errors(schema, data, message):
    with pytest.raises(ConfigError) as err:
        from_dict(schema, data, source="run.yaml")
    assert str(err.value).startswith(f"run.yaml: {message}")
    assert "\n" not in str(err.value)


@pytest.mark.parametrize("text, policy", [
    ("0", ExitPolicy.fixed(0)),
    ("exit=-1", ExitPolicy.fixed(-1)),
    ("dynamic:0.5,0.4", ExitPolicy.dynamic(0.5, 0.4)),
    ("threshold:0.7", ExitPolicy.threshold(0.7)),
])
def test_parse_exit_policy(text, policy):
    assert parse_exit_policy(text) == policy


@pytest.mark.parametrize("text", ["sideways", "dynamic:0.5", "threshold:", "3:1", "dynamic:a,b"])
def test_parse_exit_policy_rejects_bad_text(text):
    with pytest.raises(ValueError, match="bad exit policy"):
        parse_exit_policy(text)
