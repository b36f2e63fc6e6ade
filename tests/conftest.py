"""Shared test fixtures.

- `fixtures_dir`: the golden data made with the official PyTorch code, at `../shared/fixtures`
  beside the repository (or `$DPTN_FIXTURES`); tests that need it skip when it is absent.
- `synthetic_root`: a tiny synthetic PATN data set (`synthetic_settings`), made once per session.
"""

import os
from pathlib import Path

import pytest

DEFAULT_FIXTURES = Path(__file__).resolve().parents[1].parent / "shared" / "fixtures"


@pytest.fixture(scope="session")
def fixtures_dir() -> Path:
    path = Path(os.environ.get("DPTN_FIXTURES", DEFAULT_FIXTURES))
    if not path.is_dir():
        pytest.skip(f"golden fixtures not found at {path} (set DPTN_FIXTURES to their folder)")
    return path


@pytest.fixture(scope="session")
def synthetic_settings() -> dict:
    """64x32 images, prefix 'synthetic': 3 train identities x 4 poses (all 36 ordered pairs),
    2 test identities x 4 poses (4 pairs each)."""
    return dict(image_size=(64, 32), num_train_identities=3, num_test_identities=2,
                poses_per_identity=4, test_pairs_per_identity=4, seed=1)


@pytest.fixture(scope="session")
def synthetic_root(tmp_path_factory, synthetic_settings) -> Path:
    from dptn_tf.data.synthetic import make_synthetic_dataset

    return make_synthetic_dataset(tmp_path_factory.mktemp("synthetic") / "root",
                                  **synthetic_settings)
