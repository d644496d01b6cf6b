"""MSDNet and RANet: exit shapes, the damping neuron, and per-exit cost against the thesis."""
from __future__ import annotations

import pytest
import torch

from dpv.config import ConfigError, from_dict
from dpv.vision.models.build import THESIS_COSTS, build_model, preset_costs
from dpv.vision.models.config import INPUT_SHAPES, MSDNetConfig, RANetConfig, preset
from dpv.vision.models.flops import describe, format_table

TOLERANCE = 0.05


def tiny_msdnet(**kw) -> MSDNetConfig:
    return MSDNetConfig(num_classes=10, blocks=3, channels=4, growth_rate=2,
                        head_channels=8, **kw)


def tiny_ranet(**kw) -> RANetConfig:
    return RANetConfig(num_classes=10, blocks=1, block_step=1, step=1, channels=4,
                       growth_rate=4, head_channels=8, **kw)


@pytest.mark.parametrize("make,exits", [(tiny_msdnet, 3), (tiny_ranet, 3)])
@pytest.mark.parametrize("damping", [False, True])
def test_one_logits_tensor_per_exit(make, exits, damping):
    model = build_model(make(damping=damping))
    out = model(torch.randn(2, 3, 32, 32))
    assert model.num_exits == exits
    assert [tuple(o.shape) for o in out] == [(2, 10 + damping)] * exits


@pytest.mark.parametrize("name,exits", [("msdnet-cifar", 7), ("ranet-cifar", 6)])
def test_cifar_presets_forward_and_backward(name, exits):
    model = build_model(preset(name, num_classes=100, damping=True))
    out = model(torch.randn(2, *INPUT_SHAPES["cifar"]))
    assert [tuple(o.shape) for o in out] == [(2, 101)] * exits
    sum(o.sum() for o in out).backward()
    assert all(p.grad is not None for p in model.parameters())


def test_damping_neuron_adds_one_output_and_its_parameters_only():
    plain = preset_costs("msdnet-cifar")
    model = build_model(preset("msdnet-cifar", damping=True))
    damped = describe(model, INPUT_SHAPES["cifar"])
    head_width = model.config.head_channels
    for k, (a, b) in enumerate(zip(plain, damped), start=1):
        assert b.params - a.params == k * (head_width + 1)  # one weight row + bias per head
        assert b.flops - a.flops == k * head_width


def _assert_close_to_thesis(name):
    rows = preset_costs(name)
    thesis = THESIS_COSTS[name]
    assert len(rows) == len(thesis)
    for row, (params_m, flops_m) in zip(rows, thesis):
        assert row.params / 1e6 == pytest.approx(params_m, rel=TOLERANCE), (row, params_m)
        assert row.flops / 1e6 == pytest.approx(flops_m, rel=TOLERANCE), (row, flops_m)
    return rows


@pytest.mark.parametrize("name", ["msdnet-cifar", "ranet-cifar"])
def test_cifar_costs_match_thesis_tables_4_1_and_4_3(name):
    rows = _assert_close_to_thesis(name)
    assert [r.exit for r in rows] == list(range(1, len(rows) + 1))
    assert all(a.flops < b.flops and a.params < b.params for a, b in zip(rows, rows[1:]))


def test_imagenet_msdnet_costs_match_thesis_table_4_4():
    """One 224x224 image through the 24M-parameter model: a few seconds on a CPU."""
    _assert_close_to_thesis("msdnet-imagenet")


def test_describe_restores_training_mode_and_formats():
    model = build_model(tiny_msdnet())
    rows = describe(model, (3, 32, 32))
    assert model.training
    table = format_table(rows, [(1.0, 2.0)] * len(rows))
    assert table.count("\n") == len(rows) + 1 and "thesis FLOPs" in table


def test_every_classifier_reads_features_of_the_expected_width():
    """The RANet preset's exits sit on the coarsest resolution: 8x8 features for CIFAR."""
    model = build_model(preset("ranet-cifar"))
    seen = []
    for head in model.heads:
        head.register_forward_hook(lambda m, args, out: seen.append(tuple(args[0].shape[-2:])))
    model.eval()
    with torch.no_grad():
        model(torch.zeros(1, 3, 32, 32))
    assert seen == [(8, 8)] * 6


def test_bad_configs_are_one_line_errors():
    with pytest.raises(ConfigError, match="bn_factor"):
        from_dict(MSDNetConfig, {"gr_factor": [1, 2], "bn_factor": [1, 2, 4]})
    with pytest.raises(ConfigError, match="unknown key 'depth'"):
        from_dict(RANetConfig, {"depth": 3})
    with pytest.raises(ConfigError, match="compress_factor"):
        from_dict(RANetConfig, {"growth_rate": 1})
    with pytest.raises(ConfigError, match="step_mode"):
        from_dict(MSDNetConfig, {"step_mode": "lg"})
    with pytest.raises(ValueError, match="unknown model preset"):
        preset("resnet")


def test_block_layers_follow_the_step_modes():
    assert preset("msdnet-cifar").block_layers() == [1, 2, 3, 4, 5, 6, 7]
    assert preset("msdnet-imagenet").block_layers() == [4] * 5
    ranet = preset("ranet-cifar")
    assert ranet.flow_blocks() == [2, 4, 6]
    assert [ranet.block_layers(j) for j in range(1, 7)] == [2, 4, 6, 8, 10, 12]
