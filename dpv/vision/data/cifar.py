"""CIFAR-10 and CIFAR-100 from their python-format archives (`cifar-10-python.tar.gz`,
`cifar-100-python.tar.gz`), read without trusting them.

The archive is downloaded into `data_dir` when missing and the machine has internet (without,
the one-line error gives the `curl` command that fetches it elsewhere and the folder to put it
in), extracted
into a temporary folder beside its target, checked (every batch file must read), and only then
renamed into place: a damaged archive is a one-line error and leaves no half-extracted folder
for a later run to trust.

A batch file is a pickle written by Python 2: a dict with bytes keys (under
`encoding="bytes"`) holding `data`, a uint8 numpy array of N x 3072 pixels (3 x 32 x 32, row
major), the N labels as a list of ints (`labels` on CIFAR-10, `fine_labels` and
`coarse_labels` on CIFAR-100), `filenames` (a list of bytes) and `batch_label` (bytes). A
pickle can call any function it names, so the batches are read with an unpickler that builds
only the containers, numbers, bytes and str the format has plus numpy arrays and dtypes, and
refuses any other global; then the shapes and the label range (0..9, 0..99) are checked.
"""
from __future__ import annotations

import pickle
import shutil
import tarfile
import tempfile
import urllib.request
import zlib
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

import numpy as np
import torch

try:
    from numpy._core.multiarray import _reconstruct
    from numpy._core.numeric import _frombuffer
except ImportError:  # numpy 1
    from numpy.core.multiarray import _reconstruct
    from numpy.core.numeric import _frombuffer

from dpv.vision.data.images import DatasetError, TensorImages, split_indices


@dataclass(frozen=True)
class CifarLayout:
    """How one CIFAR data set lies in its archive.

    Attributes:
        folder: the folder the archive extracts to.
        train_files: the batch files of the 50,000 training images.
        test_files: the batch file(s) of the 10,000 test images.
        label_key: the key of the labels in a batch.
        classes: number of classes; every label lies in 0..classes-1.
        mean: per-channel mean of the training images (in [0, 1]).
        std: per-channel standard deviation of the training images.
    """

    folder: str
    train_files: tuple[str, ...]
    test_files: tuple[str, ...]
    label_key: bytes
    classes: int
    mean: tuple[float, float, float]
    std: tuple[float, float, float]


CIFAR: dict[str, CifarLayout] = {
    "cifar10": CifarLayout("cifar-10-batches-py", tuple(f"data_batch_{i}" for i in range(1, 6)),
                           ("test_batch",), b"labels", 10, (0.4914, 0.4822, 0.4465),
                           (0.2470, 0.2435, 0.2616)),
    "cifar100": CifarLayout("cifar-100-python", ("train",), ("test",), b"fine_labels", 100,
                            (0.5071, 0.4865, 0.4409), (0.2673, 0.2564, 0.2762)),
}
CIFAR_URL = "https://www.cs.toronto.edu/~kriz/{archive}"
CIFAR_VAL_SIZE = 5000
PIXELS = 3 * 32 * 32


class BadBatch(ValueError):
    """A batch file that is not a CIFAR batch (the message says why, without the path)."""


def cifar(name: str, split: str, data_dir: Path, seed: int, augment: bool,
          download: bool) -> TensorImages:
    """Split `split` of CIFAR data set `name`: `val` is `CIFAR_VAL_SIZE` images held out of
    the training images with `seed`, `test` the test images. With `augment`, random crops
    (padding 4) and horizontal flips."""
    layout = CIFAR[name]
    root = ensure_cifar(name, data_dir, download)
    images, labels = [], []
    for file in layout.test_files if split == "test" else layout.train_files:
        try:
            x, y = read_batch(root / file, layout)
        except BadBatch as err:
            raise DatasetError(f"{name}: cannot read {root / file} ({err}); delete {root} and "
                               f"extract the archive again") from None
        images.append(x)
        labels.append(y)
    x, y = torch.from_numpy(np.concatenate(images)), torch.from_numpy(np.concatenate(labels))
    if split != "test":
        train, val = split_indices(len(y), CIFAR_VAL_SIZE, seed)
        keep = train if split == "train" else val
        x, y = x[keep], y[keep]
    return TensorImages(x, y, list(layout.mean), list(layout.std), pad=4 if augment else 0,
                        flip=augment)


def ensure_cifar(name: str, data_dir: str | Path, download: bool = True) -> Path:
    """The extracted folder of CIFAR data set `name` under `data_dir`: extracted from the
    archive there (and checked), or downloaded first when `download`. `DatasetError` when
    impossible."""
    layout = CIFAR[name]
    data_dir = Path(data_dir)
    root = data_dir / layout.folder
    if root.is_dir():
        return root
    archive = data_dir / f"{name.replace('cifar', 'cifar-')}-python.tar.gz"
    url = CIFAR_URL.format(archive=archive.name)
    where = (f"on a machine with internet run `curl -fLO {url}` and put {archive.name} in "
             f"{data_dir.resolve()}/ here (dpv extracts and checks it)")
    if not archive.is_file():
        if not download:
            raise DatasetError(f"{name}: no {root}/; {where}")
        _download(name, url, archive, root, where)
    _extract_checked(name, archive, root, where)
    return root


def read_batch(path: Path, layout: CifarLayout) -> tuple[np.ndarray, np.ndarray]:
    """The images (uint8 [N, 3, 32, 32]) and labels (int64 [N]) of one batch file, unpickled
    by `_BatchUnpickler` and checked; `BadBatch` when it is not a batch of `layout`."""
    try:
        with open(path, "rb") as f:
            batch = _unpickle(f)
    except OSError as err:
        raise BadBatch(f"{type(err).__name__}: {err.strerror or err}") from None
    if not isinstance(batch, dict):
        raise BadBatch(f"a pickled {type(batch).__name__}, not a dict")
    data, labels = batch.get(b"data"), batch.get(layout.label_key)
    if not (isinstance(data, np.ndarray) and data.dtype == np.uint8 and data.ndim == 2
            and data.shape[1] == PIXELS):
        got = f"{data.dtype} {data.shape}" if isinstance(data, np.ndarray) else type(data).__name__
        raise BadBatch(f"'data' must be a uint8 array of N x {PIXELS} pixels, got {got}")
    if not isinstance(labels, (list, np.ndarray)):
        raise BadBatch(f"no list of labels under {layout.label_key.decode()!r}")
    y = np.asarray(labels)
    if y.shape != (len(data),) or (len(y) and y.dtype.kind not in "iu"):
        raise BadBatch(f"{len(data)} images need {len(data)} integer labels under "
                       f"{layout.label_key.decode()!r}")
    if len(y) and not 0 <= y.min() <= y.max() < layout.classes:
        raise BadBatch(f"labels must lie in 0..{layout.classes - 1}, found {y.min()}..{y.max()}")
    return data.reshape(-1, 3, 32, 32), y.astype(np.int64)


# The only globals a CIFAR batch names: numpy's array and dtype constructors, under numpy 1's
# names (the archives' Python 2 pickles, protocols <= 4) and numpy 2's (re-saved batches;
# protocol 5 pickles rebuild arrays with _frombuffer).
_ALLOWED_GLOBALS: dict[tuple[str, str], object] = {
    ("numpy", "ndarray"): np.ndarray,
    ("numpy", "dtype"): np.dtype,
    **{(f"{package}.multiarray", "_reconstruct"): _reconstruct
       for package in ("numpy.core", "numpy._core")},
    **{(f"{package}.numeric", "_frombuffer"): _frombuffer
       for package in ("numpy.core", "numpy._core")},
}


class _BatchUnpickler(pickle.Unpickler):
    """An unpickler that resolves only the globals of `_ALLOWED_GLOBALS`."""

    def find_class(self, module: str, name: str) -> object:
        """The allowed object `module.name`; `UnpicklingError` for any other."""
        try:
            return _ALLOWED_GLOBALS[module, name]
        except KeyError:
            raise pickle.UnpicklingError(
                f"refused to load {module}.{name} (a CIFAR batch holds only dicts, lists, bytes "
                f"and numpy arrays)") from None


def _unpickle(f: BinaryIO) -> object:
    """The object pickled in `f`, read by `_BatchUnpickler`; `BadBatch` when it does not read."""
    try:
        return _BatchUnpickler(f, encoding="bytes").load()
    except Exception as err:  # untrusted bytes: any failure to decode them means a bad batch
        detail = str(err).splitlines()[0] if str(err) else ""
        reason = f"{type(err).__name__}: {detail}" if detail else type(err).__name__
        raise BadBatch(reason) from None


def _download(name: str, url: str, archive: Path, root: Path, where: str) -> None:
    """Download `url` to `archive` through a partial file (removed when the download fails)."""
    partial = archive.with_suffix(".part")
    try:
        archive.parent.mkdir(parents=True, exist_ok=True)
        with urllib.request.urlopen(url, timeout=60) as response, open(partial, "wb") as out:
            while chunk := response.read(1 << 20):
                out.write(chunk)
        partial.replace(archive)
    except OSError as err:
        partial.unlink(missing_ok=True)
        raise DatasetError(f"{name}: no {root}/ and the download failed ({err}); {where}") from None


def _extract_checked(name: str, archive: Path, root: Path, where: str) -> None:
    """Extract `archive` into a temporary folder beside `root`, read every batch file, then
    rename the extracted folder to `root`; on any failure remove the temporary folder and
    raise `DatasetError` (one line)."""
    layout = CIFAR[name]
    try:
        staging = Path(tempfile.mkdtemp(prefix=f".{root.name}-", dir=root.parent))
    except OSError as err:
        raise DatasetError(f"{name}: cannot extract {archive} in {root.parent}/ "
                           f"({err.strerror or err})") from None
    try:
        try:
            with tarfile.open(archive) as tar:
                tar.extractall(staging, filter="data")
        except (OSError, EOFError, zlib.error, tarfile.TarError) as err:
            raise DatasetError(f"{name}: cannot extract {archive} ({type(err).__name__}: "
                               f"{err}); delete it and {where}") from None
        extracted = staging / layout.folder
        if not extracted.is_dir():
            raise DatasetError(f"{name}: {archive} holds no {layout.folder}/; {where}")
        for file in (*layout.train_files, *layout.test_files):
            try:
                read_batch(extracted / file, layout)
            except BadBatch as err:
                raise DatasetError(f"{name}: {archive} is damaged ({layout.folder}/{file}: "
                                   f"{err}); delete it and {where}") from None
        try:
            extracted.rename(root)
        except OSError as err:
            if not root.is_dir():  # another process may have put it in place meanwhile
                raise DatasetError(f"{name}: cannot move the extracted {archive} to {root}/ "
                                   f"({err.strerror or err})") from None
    finally:
        shutil.rmtree(staging, ignore_errors=True)
