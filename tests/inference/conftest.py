"""A tiny generator file for the generation tests."""

import pytest

from dptn_tf.models import build_generator
from helpers.training import TINY_GENERATOR


@pytest.fixture(scope="module")
def generator_file(tmp_path_factory):
    path = tmp_path_factory.mktemp("generator") / "generator.keras"
    build_generator(TINY_GENERATOR).save(path)  # a training generator: the tools accept it too
    return path
