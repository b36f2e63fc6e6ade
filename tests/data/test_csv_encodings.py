"""PATN CSVs as editors save them: a UTF-8 byte-order mark is accepted, another encoding is
refused naming the file and the line."""

import shutil

import numpy as np
import pytest

from dptn_tf.data import DatasetError, load_split


@pytest.fixture
def root(synthetic_root, tmp_path):
    copy = tmp_path / "root"
    shutil.copytree(synthetic_root, copy)
    return copy


@pytest.mark.parametrize("name", ["synthetic-annotation-test.csv", "synthetic-pairs-test.csv"])
def test_a_byte_order_mark_is_accepted(root, synthetic_root, name):
    path = root / name
    path.write_bytes(b"\xef\xbb\xbf" + path.read_bytes())  # as Excel saves "CSV UTF-8"
    split = load_split(root, "test", "synthetic", check_images=False)
    expected = load_split(synthetic_root, "test", "synthetic", check_images=False)
    assert split.names == expected.names
    np.testing.assert_array_equal(split.keypoints, expected.keypoints)
    np.testing.assert_array_equal(split.pairs, expected.pairs)


def test_another_encoding_is_refused_naming_the_file_and_line(root):
    path = root / "synthetic-pairs-test.csv"
    lines = path.read_text().splitlines()
    lines[2] = lines[2].replace(".jpg", "é.jpg", 1)
    path.write_bytes(("\n".join(lines) + "\n").encode("latin-1"))
    with pytest.raises(
        DatasetError,
        match=rf"^{path}: line 3: not UTF-8 text \(byte 0xe9\); "
        "save the file as UTF-8$",
    ):
        load_split(root, "test", "synthetic", check_images=False)
