"""Data sets of dpv vision-train: the real digits, synthetic data, CIFAR read from its
python-format archive (checked, never trusted: crafted pickles, wrong shapes and labels, damaged
archives are one-line errors that leave nothing behind), an ImageFolder, fixed splits, and
one-line errors for missing data."""
from __future__ import annotations

import io
import os
import pickle
import shlex
import struct
import tarfile

import numpy as np
import pytest
import torch

from dpv.vision.data.datasets import DATASETS, get_dataset, input_shape, num_classes, prepare_dataset
from dpv.vision.data.images import DatasetError


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
    extracted = "cifar-10-batches-py" if name == "cifar10" else "cifar-100-python"
    assert sorted(p.name for p in data.iterdir()) == sorted([archive.name, extracted])  # no temp


@pytest.mark.parametrize("name", ["cifar10", "cifar100"])
def test_missing_cifar_is_a_one_line_error_saying_where_to_put_it(tmp_path, name):
    with pytest.raises(DatasetError) as err:
        get_dataset(name, "train", tmp_path, download=False)
    message = str(err.value)
    assert "\n" not in message and str(tmp_path) in message
    archive = f"{name.replace('cifar', 'cifar-')}-python.tar.gz"
    assert f"curl -fLO https://www.cs.toronto.edu/~kriz/{archive}" in message
    assert f"put {archive} in {tmp_path.resolve()}/" in message


def test_corrupt_cifar_is_a_one_line_error(tmp_path):
    folder = tmp_path / "cifar-100-python"
    folder.mkdir()
    (folder / "train").write_bytes(b"not a pickle")
    with pytest.raises(DatasetError, match="cannot read .*train") as err:
        get_dataset("cifar100", "train", tmp_path)
    assert "\n" not in str(err.value)


class _Python2Pickler(pickle._Pickler):
    """Writes str and bytes as Python 2's str (SHORT_BINSTRING / BINSTRING), as the CIFAR
    archives' batches were written (protocol 2, by Python 2 and numpy 1)."""

    dispatch = dict(pickle._Pickler.dispatch)

    def save_python2_str(self, obj: str | bytes) -> None:
        data = obj.encode("latin1") if isinstance(obj, str) else obj
        if len(data) < 256:
            self.write(pickle.SHORT_BINSTRING + bytes([len(data)]) + data)
        else:
            self.write(pickle.BINSTRING + struct.pack("<i", len(data)) + data)
        self.memoize(obj)

    dispatch[str] = save_python2_str
    dispatch[bytes] = save_python2_str


def _python2_pickle(obj: object) -> bytes:
    buffer = io.BytesIO()
    _Python2Pickler(buffer, protocol=2).dump(obj)
    # numpy 1 named its array constructor numpy.core.multiarray._reconstruct
    return buffer.getvalue().replace(b"cnumpy._core.multiarray\n", b"cnumpy.core.multiarray\n")


def _cifar100_archive(data, batches: dict[str, bytes], folder: str = "cifar-100-python"):
    """data/cifar-100-python.tar.gz holding `folder`/ with the given batch files."""
    data.mkdir(exist_ok=True)
    archive = data / "cifar-100-python.tar.gz"
    with tarfile.open(archive, "w:gz") as tar:
        for file, payload in batches.items():
            info = tarfile.TarInfo(f"{folder}/{file}")
            info.size = len(payload)
            tar.addfile(info, io.BytesIO(payload))
    return archive


def _python2_batch(n: int, seed: int) -> tuple[bytes, np.ndarray, list[int]]:
    rng = np.random.default_rng(seed)
    pixels = rng.integers(0, 256, (n, 3072), dtype=np.uint8)
    labels = rng.integers(0, 100, n).tolist()
    batch = {"filenames": [f"img_{i}.png" for i in range(n)], "batch_label": "training batch",
             "fine_labels": labels, "coarse_labels": [label // 5 for label in labels],
             "data": pixels}
    return _python2_pickle(batch), pixels, labels


def test_a_cifar_archive_in_the_python2_format_loads(tmp_path):
    train, _, _ = _python2_batch(5010, 0)
    test, test_pixels, test_labels = _python2_batch(20, 1)
    archive = _cifar100_archive(tmp_path / "data", {"train": train, "test": test})
    data = get_dataset("cifar100", "test", archive.parent, download=False)
    assert _labels(data) == test_labels
    assert torch.equal(data.images, torch.from_numpy(test_pixels).reshape(-1, 3, 32, 32))
    assert len(get_dataset("cifar100", "train", archive.parent)) == 10
    assert sorted(p.name for p in archive.parent.iterdir()) == ["cifar-100-python", archive.name]


class _RunsCode:
    """What a crafted batch holds: unpickling it runs a shell command."""

    def __init__(self, marker) -> None:
        self.command = f"touch {shlex.quote(str(marker))}"

    def __reduce__(self):
        return os.system, (self.command,)


@pytest.mark.parametrize("extracted", [False, True], ids=["archive", "extracted"])
def test_a_cifar_batch_that_would_run_code_is_refused_and_runs_nothing(tmp_path, extracted):
    marker = tmp_path / "ran"
    crafted = pickle.dumps({b"data": _RunsCode(marker), b"fine_labels": []})
    good = pickle.dumps({b"data": np.zeros((1, 3072), np.uint8), b"fine_labels": [0]})
    data = tmp_path / "data"
    if extracted:
        (data / "cifar-100-python").mkdir(parents=True)
        (data / "cifar-100-python" / "train").write_bytes(crafted)
        (data / "cifar-100-python" / "test").write_bytes(good)
    else:
        _cifar100_archive(data, {"train": crafted, "test": good})
    with pytest.raises(DatasetError) as err:
        get_dataset("cifar100", "train", data, download=False)
    assert not marker.exists()
    message = str(err.value)
    assert "refused to load posix.system" in message and "cifar-100-python/train" in message
    assert "\n" not in message


@pytest.mark.parametrize("batch,message", [
    ({b"data": np.zeros((4, 1536), np.uint8), b"fine_labels": [0, 1]}, "N x 3072 pixels"),
    ({b"data": np.zeros((2, 3072), np.float32), b"fine_labels": [0, 1]}, "uint8 array"),
    ({b"data": np.zeros((2, 3072), np.uint8), b"fine_labels": [0, 100]}, "lie in 0..99"),
    ({b"data": np.zeros((2, 3072), np.uint8), b"fine_labels": [-1, 3]}, "lie in 0..99"),
    ({b"data": np.zeros((2, 3072), np.uint8), b"fine_labels": [7]}, "2 integer labels"),
    ({b"data": np.zeros((2, 3072), np.uint8), b"labels": [0, 1]}, "under 'fine_labels'"),
    ([np.zeros((2, 3072), np.uint8)], "not a dict"),
])
def test_cifar_batches_of_the_wrong_shape_or_labels_are_refused(tmp_path, batch, message):
    folder = tmp_path / "cifar-100-python"
    folder.mkdir()
    (folder / "train").write_bytes(pickle.dumps(batch))
    with pytest.raises(DatasetError, match=f"cannot read {folder}/train") as err:
        get_dataset("cifar100", "train", tmp_path)
    assert message in str(err.value) and "\n" not in str(err.value)


def _truncated(archive) -> None:
    archive.write_bytes(archive.read_bytes()[:archive.stat().st_size // 2])


@pytest.mark.parametrize("damage", ["truncated", "bad batch", "other folder"])
def test_a_damaged_cifar_archive_is_one_line_and_leaves_nothing(tmp_path, damage):
    rng = np.random.default_rng(0)
    good = {file: pickle.dumps({b"data": rng.integers(0, 256, (200, 3072), dtype=np.uint8),
                                b"fine_labels": rng.integers(0, 100, 200).tolist()})
            for file in ("train", "test")}
    if damage == "bad batch":
        good["test"] = good["test"][:1000]
    archive = _cifar100_archive(tmp_path, good, "cifar-100-batches" if damage == "other folder"
                                else "cifar-100-python")
    if damage == "truncated":
        _truncated(archive)
    for _ in range(2):  # the second run finds nothing to trust either
        with pytest.raises(DatasetError, match=str(archive)) as err:
            get_dataset("cifar100", "test", tmp_path)
        assert "\n" not in str(err.value) and "https://www.cs.toronto.edu/~kriz/" in str(err.value)
        assert [p.name for p in tmp_path.iterdir()] == [archive.name]


def test_missing_imagenet_is_a_one_line_error_naming_the_layout(tmp_path):
    with pytest.raises(DatasetError) as err:
        prepare_dataset("imagenet", tmp_path)
    message = str(err.value)
    assert "\n" not in message and f"{tmp_path}/imagenet/train/<class>/" in message


def test_imagenet_holds_out_sec_5_4_s_200000_training_images():
    from dpv.vision.data.datasets import IMAGENET_VAL_CAP, IMAGENET_VAL_SIZE

    assert IMAGENET_VAL_SIZE == 200_000 and 1_281_167 // IMAGENET_VAL_CAP >= IMAGENET_VAL_SIZE


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
    assert (len(train), len(val), len(test)) == (24, 6, 6)  # a fifth of 30 held out
    assert train[0][0].shape == test[0][0].shape == (3, 224, 224)
    assert sorted(_labels(test)) == [0, 0, 1, 1, 2, 2]
