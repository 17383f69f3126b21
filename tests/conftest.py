"""Shared fixtures: tiny search settings that finish in seconds on the CPU."""

import pytest
import torch

from betalib.config import SearchConfig


@pytest.fixture
def tiny_config():
    """A search of a few seconds: digits, 4 channels, one cell per stage, 6 steps per epoch."""
    return SearchConfig(
        dataset="digits", channels=4, cells_per_stage=1, epochs=3, batch_size=32,
        steps_per_epoch=6, progress=False, threads=1, device="cpu",
    )


@pytest.fixture(autouse=True)
def _restore_threads():
    threads = torch.get_num_threads()
    yield
    torch.set_num_threads(threads)
