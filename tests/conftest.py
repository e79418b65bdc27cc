import pytest
import torch

import course_utils as cu


@pytest.fixture(autouse=True)
def _seeded():
    """Every test starts from the same seeds and one thread, like the notebooks."""
    cu.setup(seed=0)
    yield
    torch.use_deterministic_algorithms(False)
