"""Datasets for the search, read straight from their files, and on-tensor augmentation.

DARTS splits the training set in two halves: the first trains the supernet weights,
the second trains alpha (Liu, Simonyan and Yang, "DARTS", ICLR 2019). Every dataset
here is loaded whole into one float tensor, normalised per channel with the statistics
of its training images, so batches are plain tensor indexing and augmentation runs on
the device. No torchvision: the readers parse the files themselves.

Datasets:

- ``digits``: scikit-learn's bundled 8x8 handwritten digits (1,797 images), no download.
- ``fashion-mnist``: IDX files, from a given folder, ``$BETALIB_DATA`` or the Debian
  package ``dataset-fashion-mnist`` (``/usr/share/datasets/fashion-mnist``).
- ``cifar10``, ``cifar100``: the Python pickle batches of Krizhevsky's archives.
- ``imagenet16-120``: the 16x16 downsampled ImageNet files of NAS-Bench-201, classes 1-120.
"""

from __future__ import annotations

import gzip
import logging
import os
import pickle
import struct
import tarfile
import urllib.request
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

logger = logging.getLogger(__name__)

DATASETS = ("digits", "fashion-mnist", "cifar10", "cifar100", "imagenet16-120")

CIFAR_URLS = {
    "cifar10": "https://www.cs.toronto.edu/~kriz/cifar-10-python.tar.gz",
    "cifar100": "https://www.cs.toronto.edu/~kriz/cifar-100-python.tar.gz",
}
CIFAR_FOLDERS = {"cifar10": "cifar-10-batches-py", "cifar100": "cifar-100-python"}
FASHION_MNIST_SYSTEM_DIR = "/usr/share/datasets/fashion-mnist"


class DatasetNotFoundError(FileNotFoundError):
    """A dataset's files are missing; the message lists where they were looked for."""


@dataclass
class ImageDataset:
    """A labelled image set in memory: ``images`` (N, C, H, W) float32, ``labels`` (N,) int64."""

    name: str
    images: torch.Tensor
    labels: torch.Tensor
    num_classes: int

    @property
    def in_channels(self) -> int:
        return self.images.shape[1]

    @property
    def image_size(self) -> int:
        return self.images.shape[-1]

    def __len__(self) -> int:
        return len(self.labels)

    def to(self, device) -> ImageDataset:
        """Return a copy of the dataset on ``device``."""
        return ImageDataset(self.name, self.images.to(device), self.labels.to(device), self.num_classes)


def default_augment(name: str) -> bool:
    """Return whether CIFAR-style augmentation suits the dataset: natural images only.

    Flipping a handwritten digit or a shoe changes what it shows less predictably than
    flipping a photograph, and 8x8 images have little room for crops.
    """
    return name in ("cifar10", "cifar100", "imagenet16-120")


def load_dataset(
    name: str,
    root: str | os.PathLike | None = None,
    download: bool = False,
    image_size: int | None = None,
    train_size: int | None = None,
    seed: int = 0,
) -> ImageDataset:
    """Load the training set of ``name``, normalised per channel.

    ``image_size`` resizes the images (area averaging when shrinking); ``train_size``
    keeps a random subset of that many images, drawn with ``seed``. Raises
    ``DatasetNotFoundError`` when the files are missing, naming where they were looked
    for and how to get them.
    """
    if name not in DATASETS:
        raise ValueError(f"unknown dataset {name!r}; valid datasets are {', '.join(DATASETS)}")

    images, labels, num_classes = _READERS[name](root, download)
    images = torch.as_tensor(images, dtype=torch.float32)
    labels = torch.as_tensor(labels, dtype=torch.int64)

    # Subset first, so a small run does not resize and normalise the whole set.
    if train_size is not None:
        if train_size < 2 or train_size > len(labels):
            raise ValueError(
                f"train_size must be between 2 and {len(labels)} for {name}, got {train_size}"
            )
        generator = torch.Generator().manual_seed(seed)
        keep = torch.randperm(len(labels), generator=generator)[:train_size]
        images, labels = images[keep], labels[keep]

    if image_size is not None and image_size != images.shape[-1]:
        mode = "area" if image_size < images.shape[-1] else "bilinear"
        images = F.interpolate(images, size=(image_size, image_size), mode=mode)

    mean = images.mean(dim=(0, 2, 3), keepdim=True)
    std = images.std(dim=(0, 2, 3), keepdim=True).clamp_min(1e-6)
    images = (images - mean) / std
    logger.info("loaded %s: %d images of shape %s", name, len(labels), tuple(images.shape[1:]))
    return ImageDataset(name, images.contiguous(), labels, num_classes)


def synthetic_dataset(count: int, in_channels: int, image_size: int, num_classes: int, seed: int = 0) -> ImageDataset:
    """Return ``count`` random normal images with random labels, for timing runs only."""
    generator = torch.Generator().manual_seed(seed)
    images = torch.randn(count, in_channels, image_size, image_size, generator=generator)
    labels = torch.randint(0, num_classes, (count,), generator=generator)
    return ImageDataset("synthetic", images, labels, num_classes)


def split_halves(count: int, seed: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Split indices 0..count-1 at random into two halves (weights, alpha), reproducibly by seed."""
    generator = torch.Generator().manual_seed(seed)
    order = torch.randperm(count, generator=generator)
    half = count // 2
    return order[:half], order[half : 2 * half]


def augment_batch(images: torch.Tensor, generator: torch.Generator, padding: int = 4) -> torch.Tensor:
    """Random crop with zero padding and random horizontal flip, per image, on any device.

    ``generator`` lives on the CPU so that the draws are the same on every device.
    """
    batch, _, height, width = images.shape
    padded = F.pad(images, (padding, padding, padding, padding))

    # One crop offset per image, applied with a gather over a grid of indices.
    offsets = torch.randint(0, 2 * padding + 1, (batch, 2), generator=generator).to(images.device)
    rows = offsets[:, 0, None] + torch.arange(height, device=images.device)  # (B, H)
    cols = offsets[:, 1, None] + torch.arange(width, device=images.device)  # (B, W)
    flips = (torch.rand(batch, generator=generator) < 0.5).to(images.device)
    cols = torch.where(flips[:, None], cols.flip(1), cols)

    index_rows = rows[:, None, :, None].expand(-1, images.shape[1], -1, padded.shape[-1])
    cropped = padded.gather(2, index_rows)
    index_cols = cols[:, None, None, :].expand(-1, images.shape[1], height, -1)
    return cropped.gather(3, index_cols)


def _read_digits(root, download):
    from sklearn.datasets import load_digits

    bunch = load_digits()
    images = bunch.images.astype(np.float32)[:, None] / 16.0
    return images, bunch.target.astype(np.int64), 10


def _read_fashion_mnist(root, download):
    folders = _candidate_folders(root, "fashion-mnist") + [Path(FASHION_MNIST_SYSTEM_DIR)]
    for folder in folders:
        images_path = _find_idx(folder, "train-images-idx3-ubyte")
        labels_path = _find_idx(folder, "train-labels-idx1-ubyte")
        if images_path and labels_path:
            images = _read_idx(images_path).astype(np.float32)[:, None] / 255.0
            return images, _read_idx(labels_path).astype(np.int64), 10
    raise DatasetNotFoundError(
        "Fashion-MNIST not found: looked for train-images-idx3-ubyte[.gz] and "
        f"train-labels-idx1-ubyte[.gz] in {', '.join(map(str, folders))}. Install the Debian "
        "package dataset-fashion-mnist, or put the IDX files from the Fashion-MNIST "
        "repository in a folder and pass it as data_dir (--data-dir) or $BETALIB_DATA."
    )


def _read_cifar(name):
    def read(root, download):
        folders = _candidate_folders(root, name)
        for folder in folders:
            for base in (folder / CIFAR_FOLDERS[name], folder):
                if name == "cifar10" and (base / "data_batch_1").is_file():
                    batches = [_unpickle(base / f"data_batch_{i}") for i in range(1, 6)]
                    data = np.concatenate([b[b"data"] for b in batches])
                    labels = np.concatenate([b[b"labels"] for b in batches])
                    return _cifar_images(data), labels.astype(np.int64), 10
                if name == "cifar100" and (base / "train").is_file():
                    batch = _unpickle(base / "train")
                    labels = np.asarray(batch[b"fine_labels"], dtype=np.int64)
                    return _cifar_images(batch[b"data"]), labels, 100
        if download:
            target = folders[0]
            _download_cifar(name, target)
            return read(target, False)
        raise DatasetNotFoundError(
            f"{name} not found: looked for the Python batches ({CIFAR_FOLDERS[name]}) in "
            f"{', '.join(map(str, folders))}. Pass download=True (--download) to fetch "
            f"{CIFAR_URLS[name]}, or point data_dir (--data-dir) or $BETALIB_DATA at the "
            "folder that holds the extracted archive."
        )

    return read


def _read_imagenet16(root, download):
    folders = _candidate_folders(root, "imagenet16-120")
    for folder in folders:
        for base in (folder / "ImageNet16", folder):
            if (base / "train_data_batch_1").is_file():
                chunks, labels = [], []
                for i in range(1, 11):
                    batch = _unpickle(base / f"train_data_batch_{i}", encoding="latin1")
                    chunks.append(batch["data"])
                    labels.append(np.asarray(batch["labels"]))
                data, target = np.concatenate(chunks), np.concatenate(labels)

                # Labels run from 1; NAS-Bench-201 keeps classes 1..120.
                keep = target <= 120
                images = data[keep].reshape(-1, 3, 16, 16).astype(np.float32) / 255.0
                return images, (target[keep] - 1).astype(np.int64), 120
    raise DatasetNotFoundError(
        "ImageNet16-120 not found: looked for train_data_batch_1..10 in "
        f"{', '.join(map(str, folders))}. Download the 16x16 ImageNet files that "
        "NAS-Bench-201 uses and point data_dir (--data-dir) or $BETALIB_DATA at their folder."
    )


_READERS = {
    "digits": _read_digits,
    "fashion-mnist": _read_fashion_mnist,
    "cifar10": _read_cifar("cifar10"),
    "cifar100": _read_cifar("cifar100"),
    "imagenet16-120": _read_imagenet16,
}


def _candidate_folders(root, name) -> list[Path]:
    folders = []
    if root is not None:
        folders.append(Path(root).expanduser())
    if os.environ.get("BETALIB_DATA"):
        base = Path(os.environ["BETALIB_DATA"]).expanduser()
        folders += [base / name, base]
    if root is None:
        folders.append(Path("~/.cache/betalib").expanduser() / name)
    return folders


def _find_idx(folder: Path, stem: str) -> Path | None:
    for candidate in (folder / stem, folder / f"{stem}.gz"):
        if candidate.is_file():
            return candidate
    return None


def _read_idx(path: Path) -> np.ndarray:
    """Read an IDX file (the MNIST format), gzipped or not."""
    opener = gzip.open if path.suffix == ".gz" else open
    with opener(path, "rb") as handle:
        raw = handle.read()
    zero, dtype_code, ndim = struct.unpack(">HBB", raw[:4])
    if zero != 0 or dtype_code != 0x08:
        raise ValueError(f"{path} is not an IDX file of unsigned bytes")
    shape = struct.unpack(f">{ndim}I", raw[4 : 4 + 4 * ndim])
    return np.frombuffer(raw, dtype=np.uint8, offset=4 + 4 * ndim).reshape(shape)


def _unpickle(path: Path, encoding="bytes"):
    with open(path, "rb") as handle:
        return pickle.load(handle, encoding=encoding)


def _cifar_images(data: np.ndarray) -> np.ndarray:
    return data.reshape(-1, 3, 32, 32).astype(np.float32) / 255.0


def _download_cifar(name: str, folder: Path) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    archive = folder / Path(CIFAR_URLS[name]).name
    logger.info("downloading %s to %s", CIFAR_URLS[name], archive)
    try:
        urllib.request.urlretrieve(CIFAR_URLS[name], archive)
    except OSError as error:
        raise DatasetNotFoundError(
            f"downloading {name} from {CIFAR_URLS[name]} failed ({error}); download the "
            f"archive by hand and extract it into {folder}"
        ) from error
    with tarfile.open(archive) as tar:
        tar.extractall(folder, filter="data")
