import gzip
import os
import pickle
import struct

import numpy as np
import pytest
import torch

from betalib.data import (
    FASHION_MNIST_SYSTEM_DIR, DatasetNotFoundError, augment_batch, load_dataset, split_halves,
)

HAS_FASHION_MNIST = os.path.isfile(os.path.join(FASHION_MNIST_SYSTEM_DIR, "train-images-idx3-ubyte.gz"))


def test_digits_loads_normalised():
    dataset = load_dataset("digits")
    assert dataset.images.shape == (1797, 1, 8, 8)
    assert dataset.num_classes == 10
    assert abs(dataset.images.mean().item()) < 1e-4
    assert abs(dataset.images.std().item() - 1) < 1e-2
    assert set(dataset.labels.tolist()) == set(range(10))


def test_digits_subset_and_resize():
    dataset = load_dataset("digits", image_size=4, train_size=100, seed=3)
    assert dataset.images.shape == (100, 1, 4, 4)
    again = load_dataset("digits", image_size=4, train_size=100, seed=3)
    assert torch.equal(dataset.labels, again.labels)


@pytest.mark.skipif(not HAS_FASHION_MNIST, reason="Debian package dataset-fashion-mnist is not installed")
def test_fashion_mnist_from_debian_package(monkeypatch):
    monkeypatch.delenv("BETALIB_DATA", raising=False)
    dataset = load_dataset("fashion-mnist", train_size=2000, image_size=8)
    assert dataset.images.shape == (2000, 1, 8, 8)
    assert dataset.num_classes == 10
    full = load_dataset("fashion-mnist")
    assert full.images.shape == (60000, 1, 28, 28)
    assert torch.bincount(full.labels).tolist() == [6000] * 10


def write_idx(path, array):
    header = struct.pack(">HBB", 0, 0x08, array.ndim) + struct.pack(f">{array.ndim}I", *array.shape)
    with gzip.open(path, "wb") as handle:
        handle.write(header + array.astype(np.uint8).tobytes())


def test_fashion_mnist_from_given_folder(tmp_path):
    images = np.arange(5 * 28 * 28).reshape(5, 28, 28) % 256
    write_idx(tmp_path / "train-images-idx3-ubyte.gz", images)
    write_idx(tmp_path / "train-labels-idx1-ubyte.gz", np.array([0, 1, 2, 3, 4]))
    dataset = load_dataset("fashion-mnist", root=tmp_path)
    assert dataset.images.shape == (5, 1, 28, 28)
    assert dataset.labels.tolist() == [0, 1, 2, 3, 4]


def test_cifar10_batches_from_folder(tmp_path):
    folder = tmp_path / "cifar-10-batches-py"
    folder.mkdir()
    for i in range(1, 6):
        batch = {b"data": np.full((2, 3072), i, dtype=np.uint8), b"labels": [i, i + 1]}
        with open(folder / f"data_batch_{i}", "wb") as handle:
            pickle.dump(batch, handle)
    dataset = load_dataset("cifar10", root=tmp_path)
    assert dataset.images.shape == (10, 3, 32, 32)
    assert dataset.labels.tolist() == [1, 2, 2, 3, 3, 4, 4, 5, 5, 6]


def test_imagenet16_keeps_first_120_classes(tmp_path):
    for i in range(1, 11):
        batch = {"data": np.zeros((3, 768), dtype=np.uint8), "labels": [1, 120, 121 + i]}
        with open(tmp_path / f"train_data_batch_{i}", "wb") as handle:
            pickle.dump(batch, handle)
    dataset = load_dataset("imagenet16-120", root=tmp_path)
    assert dataset.images.shape == (20, 3, 16, 16)
    assert dataset.num_classes == 120
    assert sorted(set(dataset.labels.tolist())) == [0, 119]


def test_missing_dataset_says_where_and_how(tmp_path, monkeypatch):
    monkeypatch.setenv("BETALIB_DATA", str(tmp_path))
    with pytest.raises(DatasetNotFoundError) as error:
        load_dataset("cifar100", root=tmp_path / "nowhere")
    message = str(error.value)
    assert str(tmp_path / "nowhere") in message
    assert "--download" in message


def test_unknown_dataset_lists_valid_names():
    with pytest.raises(ValueError, match="fashion-mnist"):
        load_dataset("mnist")


def test_split_halves_disjoint_and_reproducible():
    weights, alpha = split_halves(101, seed=4)
    assert len(weights) == len(alpha) == 50
    assert not set(weights.tolist()) & set(alpha.tolist())
    again = split_halves(101, seed=4)
    assert torch.equal(weights, again[0])
    assert not torch.equal(weights, split_halves(101, seed=5)[0])


def test_augmentation_crops_and_flips_within_padding():
    images = torch.arange(2 * 3 * 6 * 6, dtype=torch.float32).reshape(2, 3, 6, 6) + 1
    out = augment_batch(images, torch.Generator().manual_seed(0), padding=2)
    assert out.shape == images.shape
    for original, crop in zip(images, out):
        # Every non-zero pixel of the crop comes from the same image, possibly mirrored.
        values = set(crop[crop != 0].tolist())
        assert values <= set(original.flatten().tolist())
        # Rows stay rows: each crop row is a (possibly mirrored) shifted row of the original.
        assert crop.count_nonzero() >= 3 * 4 * 4


def test_augmentation_reproducible_by_generator():
    images = torch.randn(8, 1, 8, 8)
    first = augment_batch(images, torch.Generator().manual_seed(1))
    second = augment_batch(images, torch.Generator().manual_seed(1))
    assert torch.equal(first, second)
