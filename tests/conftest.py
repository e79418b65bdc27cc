import pytest
import torch

import course_utils as cu


@pytest.fixture(autouse=True)
def _seeded(monkeypatch):
    """Every test starts from the same seeds and one thread, like the notebooks.

    Unit tests run on the course's own seeds: COURSE_SEED_OFFSET (used by
    ``make test-perturbed`` for the notebooks) is cleared here."""
    monkeypatch.delenv("COURSE_SEED_OFFSET", raising=False)
    cu.setup(seed=0)
    yield
    torch.use_deterministic_algorithms(False)
