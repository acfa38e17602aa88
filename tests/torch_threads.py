"""One autouse fixture for the test packages that run the tiny model (train, recipes): import it into a conftest."""

from __future__ import annotations

import pytest


@pytest.fixture(scope="session", autouse=True)
def one_torch_thread():
    """One intra-op thread: on the shared 2-core machines two threads oversubscribe (generation ~6x slower)."""
    import torch

    previous = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(previous)
