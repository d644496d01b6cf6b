"""Image classification data sets of `dpv vision-train` / `dpv vision-eval` (thesis 4.3).

`get_dataset(name, split, data_dir, seed)` returns a torch `Dataset` of (normalised float32
image [C, H, W], int label) for

- `cifar10`, `cifar100`: the standard python-format archives (`cifar-10-python.tar.gz`,
  `cifar-100-python.tar.gz`) under `data_dir`, downloaded there when missing and the machine
  has internet, extracted and read without trusting them (`dpv.vision.data.cifar`). `val` is
  5,000 images held out of the 50,000 training images with `seed`; `test` is the 10,000 test
  images.
- `imagenet`: an ImageFolder layout, `data_dir/imagenet/{train,val}/<class>/<image>`. `val`
  (the held-out split) is 200,000 images of `train/` drawn at random with `seed`, as sec. 5.4
  states ("randomly sampling ... 200,000 images from the training set of ImageNet"; its
  "200 samples per class" is that number over the 1,000 classes: a random draw, not one
  stratified per class), at most a fifth of a smaller tree; `test` is `val/` (the thesis's
  50,000 validation images).
- `digits`: scikit-learn's bundled 8x8 digits (1,797 real images, no download), upscaled to
  3x32x32; 1,257 train / 180 val / 360 test drawn with `seed`.
- `synthetic`: 10 classes of noisy smooth 3x32x32 patterns, generated from `seed`.

Splits depend only on `seed` (default 0), never on a training run's seed, so training and
evaluation see the same held-out images. With `augment=True` the training transforms of
Han et al. (2022) apply: random crop (padding 4) and horizontal flip on CIFAR, random crop
(padding 2, no flip) on digits, random resized crop and flip on ImageNet.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
import torch
from torch.nn import functional as F
from torch.utils.data import Dataset

from dpv.vision.data.cifar import CIFAR, cifar, ensure_cifar
from dpv.vision.data.images import DatasetError, TensorImages, split_indices

DATASETS = ("cifar10", "cifar100", "imagenet", "digits", "synthetic")
SPLITS = ("train", "val", "test")
_NUM_CLASSES = {"cifar10": 10, "cifar100": 100, "imagenet": 1000, "digits": 10, "synthetic": 10}


def num_classes(name: str, data_dir: str | Path | None = None) -> int:
    """Number of classes of data set `name`; for `imagenet` with `data_dir` holding the
    ImageFolder layout, the number of class folders in its `train/`."""
    _check_name(name)
    if name == "imagenet" and data_dir is not None and _imagenet_root(data_dir).is_dir():
        return len(_class_dirs(_imagenet_root(data_dir) / "train"))
    return _NUM_CLASSES[name]


def input_shape(name: str) -> tuple[int, int, int]:
    """(C, H, W) of the images of data set `name`."""
    _check_name(name)
    return (3, 224, 224) if name == "imagenet" else (3, 32, 32)


def get_dataset(name: str, split: str, data_dir: str | Path | None = None, seed: int = 0,
                augment: bool = False, download: bool = True) -> Dataset:
    """Split `split` (train, val, test) of data set `name` (see the module docstring).
    Raises `DatasetError` when the files are missing, saying where to put them."""
    _check_name(name)
    if split not in SPLITS:
        raise DatasetError(f"unknown split '{split}' (known: {', '.join(SPLITS)})")
    data_dir = Path(data_dir if data_dir is not None else "data")
    if name in CIFAR:
        return cifar(name, split, data_dir, seed, augment, download)
    if name == "imagenet":
        return _imagenet(split, data_dir, seed, augment)
    if name == "digits":
        return _digits(split, seed, augment)
    return _synthetic(split, seed)


def prepare_dataset(name: str, data_dir: str | Path | None = None,
                    download: bool = True) -> None:
    """Make sure data set `name` can be read (downloading CIFAR once, before the training
    workers start); `DatasetError` saying where to put the files when it cannot."""
    _check_name(name)
    data_dir = Path(data_dir if data_dir is not None else "data")
    if name in CIFAR:
        ensure_cifar(name, data_dir, download)
    elif name == "imagenet":
        for folder in ("train", "val"):
            _imagenet_folder(data_dir, folder)


def _check_name(name: str) -> None:
    if name not in DATASETS:
        raise DatasetError(f"unknown data set '{name}' (known: {', '.join(DATASETS)})")


# --- ImageNet (ImageFolder) ----------------------------------------------------------------

_IMAGENET_MEAN, _IMAGENET_STD = [0.485, 0.456, 0.406], [0.229, 0.224, 0.225]
IMAGENET_VAL_SIZE = 200_000
IMAGENET_VAL_CAP = 5  # at most 1/5 of train/ held out (ImageNet's 1.28 M: 256,000 >= 200,000)
_IMAGE_SUFFIXES = {".jpeg", ".jpg", ".png", ".bmp", ".webp"}


def _imagenet_root(data_dir: str | Path) -> Path:
    return Path(data_dir) / "imagenet"


def _imagenet_folder(data_dir: str | Path, name: str) -> Path:
    root = _imagenet_root(data_dir)
    folder = root / name
    if not folder.is_dir():
        raise DatasetError(
            f"imagenet: no {folder}/; put the training images in {root}/train/<class>/ and the "
            f"validation images in {root}/val/<class>/ (ImageFolder layout, one folder per "
            f"class; ImageNet cannot be downloaded automatically)")
    return folder


def _class_dirs(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if p.is_dir())


class ImageFolder(Dataset):
    """Images listed as (path, label), read with PIL. Training crops are random resized crops
    (8-100 % of the area, aspect 3/4-4/3) with a random flip; otherwise the shorter side is
    resized to 256/224 of `size` and the centre cropped."""

    def __init__(self, items: list[tuple[Path, int]], size: int = 224,
                 augment: bool = False) -> None:
        self.items, self.size, self.augment = items, size, augment
        self.mean = torch.tensor(_IMAGENET_MEAN)[:, None, None]
        self.std = torch.tensor(_IMAGENET_STD)[:, None, None]

    def __len__(self) -> int:
        return len(self.items)

    def __getitem__(self, i: int) -> tuple[torch.Tensor, int]:
        from PIL import Image

        path, label = self.items[i]
        try:
            with Image.open(path) as img:
                img = img.convert("RGB")
        except OSError as err:
            raise DatasetError(f"imagenet: cannot read image {path} ({err})") from None
        img = self._random_crop(img) if self.augment else self._centre_crop(img)
        x = torch.from_numpy(np.asarray(img, dtype=np.uint8).copy()).permute(2, 0, 1)
        if self.augment and torch.rand(()) < 0.5:
            x = x.flip(-1)
        return (x.float() / 255 - self.mean) / self.std, label

    def _centre_crop(self, img):
        w, h = img.size
        short = round(self.size * 256 / 224)
        img = img.resize((max(short, round(w * short / h)), max(short, round(h * short / w))))
        w, h = img.size
        left, top = (w - self.size) // 2, (h - self.size) // 2
        return img.crop((left, top, left + self.size, top + self.size))

    def _random_crop(self, img):
        w, h = img.size
        for _ in range(10):
            area = w * h * float(torch.empty(()).uniform_(0.08, 1.0))
            aspect = float(torch.empty(()).uniform_(np.log(3 / 4), np.log(4 / 3)).exp())
            cw, ch = round((area * aspect) ** 0.5), round((area / aspect) ** 0.5)
            if 0 < cw <= w and 0 < ch <= h:
                left = int(torch.randint(0, w - cw + 1, ()))
                top = int(torch.randint(0, h - ch + 1, ()))
                return img.resize((self.size, self.size), box=(left, top, left + cw, top + ch))
        return self._centre_crop(img)


def _imagenet(split: str, data_dir: Path, seed: int, augment: bool) -> ImageFolder:
    root = _imagenet_root(data_dir)
    folder = _imagenet_folder(data_dir, "val" if split == "test" else "train")
    classes = _class_dirs(root / "train") if (root / "train").is_dir() else _class_dirs(folder)
    index = {c: i for i, c in enumerate(classes)}
    items = [(p, index[c]) for c in _class_dirs(folder) if c in index
             for p in sorted((folder / c).iterdir()) if p.suffix.lower() in _IMAGE_SUFFIXES]
    if not items:
        raise DatasetError(f"imagenet: no images in {folder}/<class>/ (expected .JPEG/.png files)")
    if split != "test":
        held_out = min(IMAGENET_VAL_SIZE, len(items) // IMAGENET_VAL_CAP)
        if held_out == 0:
            raise DatasetError(f"imagenet: {len(items)} images in {folder}/ are too few to hold "
                               f"out a validation split (need at least {IMAGENET_VAL_CAP})")
        train, val = split_indices(len(items), held_out, seed)
        items = [items[i] for i in (train if split == "train" else val).tolist()]
    return ImageFolder(items, augment=augment)


# --- digits and synthetic -------------------------------------------------------------------

DIGITS_SPLIT = {"test": 360, "val": 180}


def _digits(split: str, seed: int, augment: bool) -> TensorImages:
    from sklearn.datasets import load_digits

    digits = load_digits()
    small = torch.from_numpy(digits.images).float()[:, None] / 16.0
    big = F.interpolate(small, size=(32, 32), mode="bilinear", align_corners=False)
    images = (big.clamp(0, 1) * 255).round().to(torch.uint8).expand(-1, 3, -1, -1).contiguous()
    labels = torch.from_numpy(digits.target)
    order = torch.randperm(len(labels), generator=torch.Generator().manual_seed(seed))
    n_test, n_val = DIGITS_SPLIT["test"], DIGITS_SPLIT["val"]
    parts = {"test": order[:n_test], "val": order[n_test:n_test + n_val],
             "train": order[n_test + n_val:]}
    train = images[parts["train"]].float() / 255
    mean, std = [float(train.mean())] * 3, [float(train.std())] * 3
    keep = parts[split].sort().values
    return TensorImages(images[keep], labels[keep], mean, std, pad=2 if augment else 0)


SYNTHETIC_SIZES = {"train": 2000, "val": 500, "test": 500}


def _synthetic(split: str, seed: int) -> TensorImages:
    """10 classes; each a smooth random 3x32x32 prototype (4x4 noise, upsampled); a sample is
    its class's prototype plus pixel noise of the same scale, so classes overlap a little."""
    gen = torch.Generator().manual_seed(seed)
    prototypes = F.interpolate(torch.rand(10, 3, 4, 4, generator=gen), size=(32, 32),
                               mode="bilinear", align_corners=False)
    offset = SPLITS.index(split) + 1
    gen = torch.Generator().manual_seed(seed * 1000 + offset)
    n = SYNTHETIC_SIZES[split]
    labels = torch.randint(0, 10, (n,), generator=gen)
    images = prototypes[labels] + 0.35 * torch.randn(n, 3, 32, 32, generator=gen)
    images = (images.clamp(0, 1) * 255).round().to(torch.uint8)
    return TensorImages(images, labels, [0.5] * 3, [0.3] * 3)
