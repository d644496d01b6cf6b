"""Data sets of dpv vision-train: the real digits, synthetic data, CIFAR read from its
python-format archive, an ImageFolder, fixed splits, and one-line errors for missing data."""
from __future__ import annotations

import pickle
import tarfile

import numpy as np
import pytest
import torch

from dpv.vision.data.datasets import (DATASETS, DatasetError, get_dataset, input_shape, num_classes,
                                      prepare_dataset)


def _labels(ds) -> list[int]:
    return [ds[i][1] for i in range(len(ds))]


def _images(ds) -> torch.Tensor:
    return torch.stack([ds[i][0] for i in range(len(ds))])


def test_digits_splits_are_fixed_disjoint_and_cover_the_data_set():
    splits = {s: get_dataset("digits", s) for s in ("train", "val", "test")}
    assert {s: len(d) for s, d in splits.items()} == {"train": 1257, "val": 180, "test": 360}
    x, y = splits["train"][0]
    assert x.shape == (3, 32, 32) and x.dtype == torch.float32 and isinstance(y, int)
    train = _images(splits["train"])
    assert abs(float(train.mean())) < 0.05 and abs(float(train.std()) - 1) < 0.05  # normalised
    keys = {s: {tuple(x.flatten()[::7].tolist()) for x in _images(d)}
            for s, d in splits.items()}
    assert not keys["val"] & keys["test"] and len(keys["val"] & keys["train"]) < 5  # duplicates
    assert set(_labels(splits["test"])) == set(range(10))
    again = get_dataset("digits", "val")
    assert torch.equal(_images(again), _images(splits["val"]))
    other = get_dataset("digits", "val", seed=1)
    assert not torch.equal(_images(other), _images(splits["val"]))


def test_augmentation_crops_but_keeps_shape_and_label():
    plain = get_dataset("digits", "train")
    augmented = get_dataset("digits", "train", augment=True)
    torch.manual_seed(0)
    xs = [augmented[3][0] for _ in range(8)]
    assert all(x.shape == (3, 32, 32) for x in xs)
    assert any(not torch.equal(x, plain[3][0]) for x in xs)
    assert augmented[3][1] == plain[3][1]


def test_synthetic_is_deterministic_and_learnable_by_class_means():
    train, test = get_dataset("synthetic", "train"), get_dataset("synthetic", "test")
    assert (len(train), len(test)) == (2000, 500)
    assert torch.equal(_images(test), _images(get_dataset("synthetic", "test")))
    x, y = _images(train), torch.tensor(_labels(train))
    means = torch.stack([x[y == c].mean(0) for c in range(10)])
    xt, yt = _images(test), torch.tensor(_labels(test))
    nearest = torch.cdist(xt.flatten(1), means.flatten(1)).argmin(1)
    assert (nearest == yt).float().mean() > 0.9


def test_num_classes_and_shapes():
    assert [num_classes(n) for n in DATASETS] == [10, 100, 1000, 10, 10]
    assert input_shape("imagenet") == (3, 224, 224) and input_shape("cifar100") == (3, 32, 32)
    with pytest.raises(DatasetError, match="unknown data set 'mnist'"):
        get_dataset("mnist", "train")
    with pytest.raises(DatasetError, match="unknown split"):
        get_dataset("digits", "dev")


def _write_fake_cifar(root, name: str, n_train: int = 5500, n_test: int = 100) -> None:
    rng = np.random.default_rng(0)
    folder = root / ("cifar-10-batches-py" if name == "cifar10" else "cifar-100-python")
    folder.mkdir(parents=True)
    key = b"labels" if name == "cifar10" else b"fine_labels"
    classes = 10 if name == "cifar10" else 100
    files = [f"data_batch_{i}" for i in range(1, 6)] if name == "cifar10" else ["train"]
    per_file = n_train // len(files)
    for file, n in [*((f, per_file) for f in files),
                    ("test_batch" if name == "cifar10" else "test", n_test)]:
        batch = {b"data": rng.integers(0, 256, (n, 3072), dtype=np.uint8),
                 key: rng.integers(0, classes, n).tolist()}
        with open(folder / file, "wb") as f:
            pickle.dump(batch, f)


@pytest.mark.parametrize("name", ["cifar10", "cifar100"])
def test_cifar_from_its_archive_with_5000_validation_images_held_out(tmp_path, name):
    _write_fake_cifar(tmp_path / "src", name)
    archive = tmp_path / "data" / f"{name.replace('cifar', 'cifar-')}-python.tar.gz"
    archive.parent.mkdir()
    with tarfile.open(archive, "w:gz") as tar:
        for folder in (tmp_path / "src").iterdir():
            tar.add(folder, arcname=folder.name)
    data = tmp_path / "data"
    train, val = get_dataset(name, "train", data), get_dataset(name, "val", data)
    test = get_dataset(name, "test", data, download=False)
    assert (len(train), len(val), len(test)) == (500, 5000, 100)
    assert train[0][0].shape == (3, 32, 32)
    assert max(_labels(test)) < num_classes(name)


@pytest.mark.parametrize("name", ["cifar10", "cifar100"])
def test_missing_cifar_is_a_one_line_error_saying_where_to_put_it(tmp_path, name):
    with pytest.raises(DatasetError) as err:
        get_dataset(name, "train", tmp_path, download=False)
    message = str(err.value)
    assert "\n" not in message and str(tmp_path) in message
    assert "https://www.cs.toronto.edu/~kriz/" in message and "extract it in" in message


def test_corrupt_cifar_is_a_one_line_error(tmp_path):
    folder = tmp_path / "cifar-100-python"
    folder.mkdir()
    (folder / "train").write_bytes(b"not a pickle")
    with pytest.raises(DatasetError, match="cannot read .*train") as err:
        get_dataset("cifar100", "train", tmp_path)
    assert "\n" not in str(err.value)


def test_missing_imagenet_is_a_one_line_error_naming_the_layout(tmp_path):
    with pytest.raises(DatasetError) as err:
        prepare_dataset("imagenet", tmp_path)
    message = str(err.value)
    assert "\n" not in message and f"{tmp_path}/imagenet/train/<class>/" in message


def test_imagenet_folder_layout(tmp_path):
    from PIL import Image

    rng = np.random.default_rng(0)
    for split, per_class in (("train", 10), ("val", 2)):
        for c in ("n01", "n02", "n03"):
            folder = tmp_path / "imagenet" / split / c
            folder.mkdir(parents=True)
            for i in range(per_class):
                size = (int(rng.integers(60, 120)), int(rng.integers(60, 120)))
                pixels = rng.integers(0, 256, (size[1], size[0], 3), dtype=np.uint8)
                Image.fromarray(pixels).save(folder / f"{i}.png")
    prepare_dataset("imagenet", tmp_path)
    assert num_classes("imagenet", tmp_path) == 3
    train = get_dataset("imagenet", "train", tmp_path, augment=True)
    val, test = get_dataset("imagenet", "val", tmp_path), get_dataset("imagenet", "test", tmp_path)
    assert (len(train), len(val), len(test)) == (27, 3, 6)
    assert train[0][0].shape == test[0][0].shape == (3, 224, 224)
    assert sorted(_labels(test)) == [0, 0, 1, 1, 2, 2]
