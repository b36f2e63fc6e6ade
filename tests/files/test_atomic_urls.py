"""Atomic writes on a file system that is not the local one (TensorFlow's in-memory `ram://`)."""

import uuid

import pytest
import tensorflow as tf

from dptn_tf.files.atomic import atomic_path, write_atomically


@pytest.fixture
def folder() -> str:
    path = f"ram://atomic-{uuid.uuid4().hex}"
    yield path
    if tf.io.gfile.exists(path):
        tf.io.gfile.rmtree(path)


def files_under(root: str) -> list:
    return sorted(
        tf.io.gfile.join(directory, name)[len(root) + 1 :]
        for directory, _, names in tf.io.gfile.walk(root)
        for name in names
    )


def test_a_file_is_written_whole_and_replaced(folder):
    path = tf.io.gfile.join(folder, "sub", "figures.json")
    write_atomically(path, "first")
    write_atomically(path, b"second")
    assert tf.io.gfile.GFile(path).read() == "second"
    assert files_under(folder) == ["sub/figures.json"]


def test_a_directory_arrives_with_all_its_files(folder):
    # ram:// renames a directory without its contents, so this takes the file-by-file path.
    target = tf.io.gfile.join(folder, "exports", "1")
    with atomic_path(target) as temporary:
        assert isinstance(temporary, str) and temporary.startswith(f"{folder}/exports/.1.tmp-")
        tf.io.gfile.makedirs(tf.io.gfile.join(temporary, "variables"))
        for name, text in (("saved_model.pb", "graph"), ("variables/variables.index", "index")):
            with tf.io.gfile.GFile(tf.io.gfile.join(temporary, name), "w") as file:
                file.write(text)
    assert files_under(folder) == [
        "exports/1/saved_model.pb",
        "exports/1/variables/variables.index",
    ]
    assert (
        tf.io.gfile.GFile(tf.io.gfile.join(target, "variables", "variables.index")).read()
        == "index"
    )


def test_a_failed_write_leaves_nothing(folder):
    path = tf.io.gfile.join(folder, "generator.keras")
    with pytest.raises(RuntimeError, match="killed"), atomic_path(path) as temporary:
        with tf.io.gfile.GFile(temporary, "w") as file:
            file.write("half a model")
        raise RuntimeError("killed while writing")
    assert files_under(folder) == []
