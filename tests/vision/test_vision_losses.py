"""Losses of thesis ch. 4: Propositions 1 and 2, the power-sqrt weighting of eq. 4.18,
detached dynamic weights on the whole per-exit loss along three axes (eq. 4.19-4.21), the
ablations, and a short sanity training."""
from __future__ import annotations

import pickle

import pytest
import torch
from torch.nn import functional as F

from dpv.vision.models.build import build_model
from dpv.vision.models.config import MSDNetConfig, RANetConfig
from dpv.vision.train.config import WEIGHT_NORMS
from dpv.vision.train.losses import (
    LOSS_NAMES,
    damping_loss,
    dynamic_weights,
    make_loss,
    power_sqrt_loss,
    power_sqrt_terms,
)

B, N, K = 5, 10, 4


def logits(seed: int, exits: int = K, scale: float = 3.0) -> list[torch.Tensor]:
    gen = torch.Generator().manual_seed(seed)
    return [(scale * torch.randn(B, N + 1, generator=gen, dtype=torch.float64)).requires_grad_()
            for _ in range(exits)]


def targets(seed: int) -> torch.Tensor:
    return torch.randint(0, N, (B,), generator=torch.Generator().manual_seed(seed))


@pytest.mark.parametrize("seed", range(4))
@pytest.mark.parametrize("lam", [0.005, 0.075, 0.5])
def test_propositions_1_and_2_damping_gradients(seed, lam):
    [z], y = logits(seed, exits=1), targets(seed)
    damping_loss(z, y, lam).backward()
    f = F.softmax(z.detach(), dim=1)
    rows = torch.arange(B)
    expected = (1 + lam) * f  # every other neuron: F[j] from both terms
    expected[rows, y] = (lam + 1) * f[rows, y] - 1  # Proposition 1
    expected[:, -1] = (1 + lam) * f[:, -1] - lam  # Proposition 2
    torch.testing.assert_close(z.grad, expected / B)


def test_proposition_1_sign_flips_at_one_over_one_plus_lambda():
    lam = 0.25  # F[y] = 1 / (1 + lam) = 0.8
    for p_y, sign in [(0.7, -1), (0.9, 1)]:
        rest = (1 - p_y) / N
        probs = torch.full((1, N + 1), rest, dtype=torch.float64)
        probs[0, 0] = p_y
        z = probs.log().requires_grad_()
        damping_loss(z, torch.tensor([0]), lam).backward()
        assert torch.sign(z.grad[0, 0]) == sign


@pytest.mark.parametrize("seed", range(4))
def test_power_sqrt_gradient_follows_eq_4_18(seed):
    lam = 0.05
    z, y = logits(seed), targets(seed)
    power_sqrt_loss(z, y, lam).backward()
    rows = torch.arange(B)
    f = [F.softmax(zk.detach(), dim=1) for zk in z]
    d = torch.stack([-fk[:, -1].log() for fk in f], dim=1)  # -log F_k[N+1], [B, K]
    weight = d / d.norm(dim=1, keepdim=True)  # eq. 4.18's weight on exit k
    for k, (zk, fk) in enumerate(zip(z, f)):
        w = weight[:, k]
        # cross-entropy part F[y] - 1, damping part lambda * w * F[y] (eq. 4.17, 4.18)
        torch.testing.assert_close(zk.grad[rows, y], (fk[rows, y] - 1 + lam * w * fk[rows, y]) / B)
        torch.testing.assert_close(zk.grad[:, -1], (fk[:, -1] - lam * w * (1 - fk[:, -1])) / B)


def test_power_sqrt_focuses_damping_on_exits_with_small_damping_softmax():
    """Eq. 4.18: the exit whose damping neuron is least active gets the largest weight."""
    z = [torch.tensor([[4.0, 0.0, 0.0, v]], dtype=torch.float64, requires_grad=True)
         for v in (1.0, -1.0, -3.0)]
    y = torch.tensor([0])
    power_sqrt_loss(z, y, lam=1.0).backward()
    damping_part = [zk.grad[0, 0] - (F.softmax(zk.detach(), 1)[0, 0] - 1) for zk in z]
    ratio = [float(g / F.softmax(zk.detach(), 1)[0, 0]) for g, zk in zip(damping_part, z)]
    assert ratio[0] < ratio[1] < ratio[2]


def test_power_sqrt_of_one_exit_is_the_damping_loss():
    [z], y = logits(7, exits=1), targets(7)
    torch.testing.assert_close(power_sqrt_loss([z], y, 0.1), damping_loss(z, y, 0.1))


@pytest.mark.parametrize("norm", WEIGHT_NORMS)
def test_dynamic_weights_lie_in_one_plus_minus_alpha_and_carry_no_gradient(norm):
    z = logits(1, scale=8.0)
    w = dynamic_weights(z, alpha=0.8, norm=norm)
    assert w.shape == (B, K) and not w.requires_grad
    assert ((w >= 0.2) & (w <= 1.8)).all()
    # eq. 4.20: along the normalised axis a smaller damping softmax (larger -log F[N+1]) means
    # a larger weight
    r = torch.stack([-F.log_softmax(zk.detach(), 1)[:, -1] for zk in z], dim=1)
    if norm == "matrix":
        assert torch.equal(w.flatten().argsort(), r.flatten().argsort())
    else:
        dim = 0 if norm == "exit" else 1
        assert torch.equal(w.argsort(dim=dim), r.argsort(dim=dim))
    w_grad = dynamic_weights(z, alpha=0.8, norm=norm, grad=True)
    assert w_grad.requires_grad
    torch.testing.assert_close(w_grad.detach(), w)
    (grad,) = torch.autograd.grad(w_grad.sum(), z[0])
    assert grad.abs().sum() > 0


def _with_damping_softmax(p: torch.Tensor) -> list[torch.Tensor]:
    """Logits whose damping softmax F[N+1] is p[i, k] (sample i, exit k), the rest uniform."""
    rest = ((1 - p) / N).log()
    return [torch.cat([rest[:, k, None].expand(-1, N), p[:, k, None].log()], dim=1)
            for k in range(p.shape[1])]


# Table 4.8's mean damping softmax per exit, power-sqrt + dynamic training (CIFAR-100).
TABLE_4_8_DYNAMIC = torch.tensor([0.004, 0.006, 0.010, 0.019, 0.031, 0.049, 0.044],
                                 dtype=torch.float64)


def test_weight_normalisation_axes_and_the_table_4_8_property():
    """Eq. 4.19-4.20 centred along each of Han et al.'s axes: `exit` ignores an exit-wide level
    of the damping neuron (so every exit keeps a mean weight near 1), `sample` a sample-wide
    one, `matrix` only a global one -- fed Table 4.8's damping means it weights exit 1 by
    1.71 and exit 7 by 0.39, starving the deep exits whose damping softmax Table 4.8 sees
    rise."""
    gen = torch.Generator().manual_seed(0)
    jitter = torch.exp(0.5 * torch.randn(64, 7, generator=gen, dtype=torch.float64))
    p = TABLE_4_8_DYNAMIC[None, :] * jitter
    per_exit_shift = torch.exp(torch.linspace(-1, 1, 7, dtype=torch.float64))[None, :]
    per_sample_shift = torch.exp(torch.linspace(-1, 1, 64, dtype=torch.float64))[:, None]
    w = {n: dynamic_weights(_with_damping_softmax(p), 0.8, n) for n in WEIGHT_NORMS}
    shifted_exits = {n: dynamic_weights(_with_damping_softmax(p * per_exit_shift), 0.8, n)
                     for n in WEIGHT_NORMS}
    shifted_samples = {n: dynamic_weights(_with_damping_softmax(p * per_sample_shift), 0.8, n)
                       for n in WEIGHT_NORMS}
    torch.testing.assert_close(shifted_exits["exit"], w["exit"])
    torch.testing.assert_close(shifted_samples["sample"], w["sample"])
    assert not torch.allclose(shifted_exits["sample"], w["sample"])
    assert not torch.allclose(shifted_exits["matrix"], w["matrix"])
    assert not torch.allclose(shifted_samples["exit"], w["exit"])

    flat = _with_damping_softmax(TABLE_4_8_DYNAMIC[None, :].expand(4, -1))
    matrix = dynamic_weights(flat, 0.8, "matrix")[0]
    assert round(float(matrix[0]), 2) == 1.71 and round(float(matrix[-1]), 2) == 0.39
    assert (matrix[0] > matrix[1:]).all() and (matrix[:5] > matrix[5:].max()).all()
    torch.testing.assert_close(dynamic_weights(flat, 0.8, "exit"), torch.ones(4, 7, dtype=torch.float64))
    assert (w["exit"].mean(0) - 1).abs().max() < 0.2
    assert w["matrix"].mean(0)[0] > 1.5 and w["matrix"].mean(0)[-1] < 0.6
    assert w["sample"].mean(0)[0] > 1.3 and w["sample"].mean(0)[-1] < 0.7


# r = -log F[N+1] of 2 samples x 3 exits, and r minus its mean along each axis, by hand:
# exit means (over the batch) 2, 3, 5.5; sample means (over the exits) 2, 5; matrix mean 21/6.
HAND_R = [[1.0, 2.0, 3.0], [3.0, 4.0, 8.0]]
HAND_CENTRED = {"exit": [[-1.0, -1.0, -2.5], [1.0, 1.0, 2.5]],
                "sample": [[-1.0, 0.0, 1.0], [-2.0, -1.0, 3.0]],
                "matrix": [[-2.5, -1.5, -0.5], [-0.5, 0.5, 4.5]]}


@pytest.mark.parametrize("norm", WEIGHT_NORMS)
def test_each_weight_normalisation_on_a_hand_computed_matrix(norm):
    """Eq. 4.19-4.20: w = 1 + alpha * tanh(r - mean(r)), the mean along `norm`."""
    p = torch.exp(-torch.tensor(HAND_R, dtype=torch.float64))
    w = dynamic_weights(_with_damping_softmax(p), 0.5, norm)
    expected = 1 + 0.5 * torch.tanh(torch.tensor(HAND_CENTRED[norm], dtype=torch.float64))
    torch.testing.assert_close(w, expected)


def test_default_loss_normalises_per_exit():
    z, y = logits(6), targets(6)
    default = make_loss("power-sqrt", 0.05, dynamic=True)(z, y)
    torch.testing.assert_close(default, make_loss("power-sqrt", 0.05, dynamic=True,
                                                  weight_norm="exit")(z, y))
    with pytest.raises(ValueError, match="unknown weight normalisation 'rows'"):
        make_loss("power-sqrt", dynamic=True, weight_norm="rows")


@pytest.mark.parametrize("norm", WEIGHT_NORMS)
@pytest.mark.parametrize("name", ["damping", "power-sqrt"])
def test_dynamic_weights_scale_the_whole_per_exit_gradient(name, norm):
    """Eq. 4.21: w_i^(k) multiplies sample i's whole loss at exit k (cross-entropy and damping
    term), so its gradient on exit k's logits is w_i^(k) times the unweighted loss's gradient:
    the damping neuron's balance (Propositions 1 and 2, eq. 4.18) stays as it is."""
    lam, alpha = 0.05, 0.8
    z, y = logits(2), targets(2)
    make_loss(name, lam)(z, y).backward()
    plain = [zk.grad.clone() for zk in z]
    z2 = [zk.detach().clone().requires_grad_() for zk in z]
    make_loss(name, lam, dynamic=True, alpha=alpha, weight_norm=norm)(z2, y).backward()
    w = dynamic_weights(z2, alpha, norm)
    for k, (g, zk) in enumerate(zip(plain, z2)):
        torch.testing.assert_close(zk.grad, w[:, k, None] * g)


@pytest.mark.parametrize("name", ["damping", "power-sqrt"])
def test_dynamic_loss_treats_weights_as_constants(name):
    lam, alpha = 0.05, 0.8
    z, y = logits(2), targets(2)
    make_loss(name, lam, dynamic=True, alpha=alpha)(z, y).backward()
    dynamic_grads = [zk.grad.clone() for zk in z]

    z2 = [zk.detach().clone().requires_grad_() for zk in z]
    w = dynamic_weights(z2, alpha).clone()  # a constant tensor
    ce = torch.stack([F.cross_entropy(zk, y, reduction="none") for zk in z2], dim=1)
    damp = torch.stack([-F.log_softmax(zk, 1)[:, -1] for zk in z2], dim=1)
    share = 1 if name == "damping" else (damp / damp.norm(dim=1, keepdim=True)).detach()
    (w * (ce + lam * share * damp)).sum(1).mean().backward()
    for g, zk in zip(dynamic_grads, z2):
        torch.testing.assert_close(g, zk.grad)


def test_power_sqrt_terms_add_up_to_the_power_sqrt_loss():
    z, y = logits(8), targets(8)
    ce = torch.stack([F.cross_entropy(zk, y, reduction="none") for zk in z], dim=1)
    damp = torch.stack([-F.log_softmax(zk, 1)[:, -1] for zk in z], dim=1)
    torch.testing.assert_close(power_sqrt_terms(z, y, 0.1).sum(1), ce.sum(1) + 0.1 * damp.norm(dim=1))


def test_weight_gradient_ablation_changes_the_gradient():
    y = targets(3)
    grads = {}
    for flag in (False, True):
        z = logits(3)
        make_loss("power-sqrt", 0.005, dynamic=True, weight_grad=flag)(z, y).backward()
        grads[flag] = torch.cat([zk.grad[:, -1] for zk in z])
    assert not torch.allclose(grads[False], grads[True])


def test_last_only_losses_train_the_last_exit_alone():
    y = targets(4)
    for name in ("last-only", "threshold-last-only", "damping-last-only"):
        z = logits(4)
        make_loss(name)(z, y).backward()
        assert all(zk.grad is None for zk in z[:-1]), name
        assert z[-1].grad.abs().sum() > 0, name


def test_threshold_last_only_drops_confident_samples():
    z = torch.tensor([[5.0, 0.0, 0.0], [0.5, 0.0, 0.0]], requires_grad=True)  # F[y]: 0.99, 0.45
    make_loss("threshold-last-only", threshold=0.9)([z], torch.tensor([0, 0])).backward()
    assert torch.all(z.grad[0] == 0) and z.grad[1].abs().sum() > 0


def test_label_smoothing_and_ce_are_summed_over_exits():
    z, y = logits(5), targets(5)
    plain = sum(F.cross_entropy(zk, y) for zk in z)
    torch.testing.assert_close(make_loss("ce")(z, y), plain)
    smoothed = make_loss("label-smoothing", smoothing=0.1)(z, y)
    expected = sum(F.cross_entropy(zk, y, label_smoothing=0.1) for zk in z)
    torch.testing.assert_close(smoothed, expected)


def test_make_loss_rejects_bad_requests_and_pickles():
    with pytest.raises(ValueError, match="unknown loss"):
        make_loss("focal")
    with pytest.raises(ValueError, match="damping neuron"):
        make_loss("ce", dynamic=True)
    with pytest.raises(ValueError):
        make_loss("damping", lam=-1)
    loss = pickle.loads(pickle.dumps(make_loss("power-sqrt", dynamic=True)))
    assert loss.damping and loss.name == "power-sqrt"
    assert [make_loss(n).damping for n in LOSS_NAMES] == [
        False, True, True, False, False, False, True]


SANITY_CASES = [(name, False) for name in LOSS_NAMES] + [("damping", True), ("power-sqrt", True)]


@pytest.mark.parametrize("name,dynamic", SANITY_CASES)
def test_a_few_steps_on_random_tensors_lower_each_loss(name, dynamic):
    torch.manual_seed(0)
    loss = make_loss(name, lam=0.05, dynamic=dynamic, threshold=0.99)
    small = dict(num_classes=5, damping=loss.damping, channels=4, growth_rate=4, head_channels=8)
    # power-sqrt trains the RANet, the others an MSDNet: both models learn on each path.
    if name == "power-sqrt":
        model = build_model(RANetConfig(blocks=1, block_step=1, step=1, **small))
    else:
        model = build_model(MSDNetConfig(blocks=2, **small))
    x, y = torch.randn(8, 3, 16, 16), torch.randint(0, 5, (8,))
    opt = torch.optim.Adam(model.parameters(), lr=0.01)
    values = []
    for _ in range(12):
        opt.zero_grad()
        value = loss(model(x), y)
        value.backward()
        opt.step()
        values.append(value.item())
    assert values[-1] < 0.8 * values[0], values
