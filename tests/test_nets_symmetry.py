"""8-fold board symmetry augmentation of (planes, pi) batches."""
import numpy as np
import torch
from hypothesis import given, settings, strategies as st

from dpv.nets.symmetry import NUM_SYMMETRIES, apply_symmetry, random_symmetry


def _reference(image: torch.Tensor, s: int) -> torch.Tensor:
    """Symmetry s on the last two dims with plain rot90/flip."""
    if s >= 4:
        image = image.flip(-1)
    return torch.rot90(image, s % 4, dims=(-2, -1))


def _batch(n: int, size: int = 9, seed: int = 0):
    g = torch.Generator().manual_seed(seed)
    planes = torch.rand(n, 17, size, size, generator=g)
    pi = torch.rand(n, size * size + 1, generator=g).softmax(1)
    return planes, pi


def test_each_symmetry_matches_rot90_and_flip_per_sample():
    planes, pi = _batch(NUM_SYMMETRIES)
    sym = torch.arange(NUM_SYMMETRIES)
    out_planes, out_pi = apply_symmetry(planes, pi, sym)
    for s in range(NUM_SYMMETRIES):
        torch.testing.assert_close(out_planes[s], _reference(planes[s], s), rtol=0, atol=0)
        board = _reference(pi[s, :81].view(9, 9), s).reshape(-1)
        torch.testing.assert_close(out_pi[s, :81], board, rtol=0, atol=0)
        assert out_pi[s, 81] == pi[s, 81]


def test_symmetries_are_distinct_and_identity_first():
    planes, pi = _batch(1)
    images = [apply_symmetry(planes, pi, torch.tensor([s]))[0] for s in range(NUM_SYMMETRIES)]
    assert torch.equal(images[0], planes)
    assert len({tuple(im.flatten().tolist()) for im in images}) == NUM_SYMMETRIES


@settings(max_examples=30, deadline=None)
@given(st.integers(0, 80), st.integers(0, 2**31 - 1), st.sampled_from([5, 9]))
def test_move_target_follows_its_stone(point, seed, size):
    """A one-hot pi on the point where plane 0 has its only stone stays on that stone."""
    point %= size * size
    planes = torch.zeros(4, 17, size, size)
    planes[:, 0].view(4, -1)[:, point] = 1
    pi = torch.zeros(4, size * size + 1)
    pi[:, point] = 1
    out_planes, out_pi = random_symmetry(planes, pi, torch.Generator().manual_seed(seed))
    stones = out_planes[:, 0].reshape(4, -1).argmax(1)
    assert torch.equal(out_pi[:, : size * size].argmax(1), stones)
    assert torch.equal(out_planes.sum((1, 2, 3)), planes.sum((1, 2, 3)))


def test_random_symmetry_varies_per_sample():
    planes, pi = _batch(1)
    planes, pi = planes.expand(64, -1, -1, -1), pi.expand(64, -1)
    out, _ = random_symmetry(planes, pi, torch.Generator().manual_seed(0))
    assert len({tuple(o.flatten().tolist()) for o in out}) > 4


def test_torch_augmentation_matches_the_engine_symmetries():
    from go_engine import transform_planes, transform_policy

    rng = np.random.default_rng(5)
    planes = rng.random((8, 17, 9, 9), dtype=np.float32)
    pi = rng.random((8, 82), dtype=np.float32)
    out_planes, out_pi = apply_symmetry(torch.from_numpy(planes), torch.from_numpy(pi), torch.arange(8))
    for s in range(8):
        np.testing.assert_array_equal(out_planes[s].numpy(), transform_planes(planes[s], s))
        np.testing.assert_array_equal(out_pi[s].numpy(), transform_policy(pi[s], s))
