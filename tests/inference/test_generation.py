"""The official test protocol (names, sizes, resumability) and the visualisation tools."""

import subprocess
import sys
from pathlib import Path

import keras
import numpy as np
import pytest
import tensorflow as tf

from dptn_tf.config import DataConfig
from dptn_tf.data import decode_rgb, load_split
from dptn_tf.inference.attention_maps import point_attention
from dptn_tf.inference.generation import (
    generate_test_images,
    result_name,
    to_saved_uint8,
)

REPO = Path(__file__).resolve().parents[2]


def _data_config(root, load_size=(64, 64)):
    # Load size differs from the annotation size, as DeepFashion's 256x256 vs 256x176.
    return DataConfig(
        root=str(root), prefix="synthetic", load_size=load_size, old_size=(64, 32), batch_size=3
    )


def test_result_name_is_the_official_one():
    assert result_name("id00003_001.jpg", "id00003_002.jpg") == "id00003_001_2_id00003_002_vis.jpg"


def test_saved_pixels_truncate_then_resize_like_the_official_script():
    images = tf.constant([[[[-1.0, 0.0, 1.0]] * 2] * 2])  # 1x2x2x3
    pixels = to_saved_uint8(images, (2, 2)).numpy()
    assert pixels.dtype == np.uint8
    np.testing.assert_array_equal(pixels[0, 0, 0], [0, 127, 255])  # 127.5 truncates to 127


def test_generate_writes_every_test_pair_at_annotation_size_and_resumes(
    synthetic_root, generator_file, tmp_path
):
    config = _data_config(synthetic_root)
    model = keras.saving.load_model(generator_file)
    out = tmp_path / "results"
    written = generate_test_images(model, config, out, verbose=False)
    index = load_split(synthetic_root, "test", "synthetic")
    expected = sorted(result_name(a, b) for a, b in index.pair_names())
    assert sorted(p.name for p in written) == expected == sorted(p.name for p in out.iterdir())
    image = tf.io.decode_jpeg((out / expected[0]).read_bytes()).numpy()
    assert image.shape == (64, 32, 3)
    # A second run finds everything written; a deleted file is the only one made again.
    assert generate_test_images(model, config, out, verbose=False) == []
    (out / expected[1]).unlink()
    assert [p.name for p in generate_test_images(model, config, out, verbose=False)] == [
        expected[1]
    ]


def tool_command(tool: str, generator_file, synthetic_root) -> list:
    """`tools/<tool>.py` on the tiny generator and the tests' synthetic set (64x32)."""
    overrides = [
        f"data.root={synthetic_root}",
        "data.prefix=synthetic",
        "data.load_size=[64,32]",
        "data.old_size=[64,32]",
    ]
    return [
        sys.executable,
        str(REPO / "tools" / f"{tool}.py"),
        "--generator",
        str(generator_file),
        *(arg for item in overrides for arg in ("--set", item)),
    ]


def test_generate_cli_with_a_pairs_subset_and_a_bad_row(synthetic_root, generator_file, tmp_path):
    index = load_split(synthetic_root, "test", "synthetic")
    chosen = index.pair_names()[:2]
    pairs = tmp_path / "subset.csv"
    pairs.write_text("from,to\n" + "".join(f"{a},{b}\n" for a, b in chosen))
    common = tool_command("generate", generator_file, synthetic_root)
    out = tmp_path / "subset"
    subprocess.run(
        common + ["--out", str(out), "--pairs", str(pairs)], check=True, capture_output=True
    )
    assert sorted(p.name for p in out.iterdir()) == sorted(result_name(a, b) for a, b in chosen)

    pairs.write_text("from,to\nnobody.jpg,id00003_000.jpg\n")
    result = subprocess.run(
        common + ["--out", str(tmp_path / "bad"), "--pairs", str(pairs)],
        capture_output=True,
        text=True,
    )
    assert result.returncode == 1
    assert "line 2" in result.stderr and "nobody.jpg" in result.stderr


def test_point_attention_reads_the_row_of_the_points_token():
    attention = np.zeros((2 * 4, 2 * 4))  # a 16x32 image: 2x4 tokens
    attention[1 * 4 + 3, 5] = 1.0  # token (1, 3) attends to source token (1, 1)
    maps = point_attention(attention, [(12, 30)], (16, 32))
    assert maps.shape == (1, 16, 32)
    y, x = np.unravel_index(np.argmax(maps[0]), maps[0].shape)
    assert (y // 8, x // 8) == (1, 1)
    with pytest.raises(ValueError, match="inside the 16x32 image"):
        point_attention(attention, [(16, 0)], (16, 32))


def test_visualize_grid_and_attention_pictures(synthetic_root, generator_file, tmp_path):
    common = tool_command("visualize", generator_file, synthetic_root)
    subprocess.run(
        common + ["grid", "--num-pairs", "2", "--out", str(tmp_path / "grid.png")],
        check=True,
        capture_output=True,
    )
    grid = tf.io.decode_png((tmp_path / "grid.png").read_bytes()).numpy()
    tile, rows = (128 + 2, 64 + 2), 2  # 64x32 images enlarged twice (the default --scale)
    header = grid.shape[0] - (2 + rows * tile[0])
    assert header > 0 and grid.shape[1:] == (2 + 4 * tile[1], 3)
    assert grid[:header].min() < 128  # the column labels
    # Column 1 holds the sources, of two people: the test split's pairs 0 and 4.
    index = load_split(synthetic_root, "test", "synthetic")
    for row, pair in enumerate((0, 4)):
        source = index.names[index.pairs[pair][0]]
        expected = decode_rgb((synthetic_root / "test" / source).read_bytes()).numpy()
        top = header + 2 + row * tile[0]
        shown = grid[top : top + 128 : 2, 2 : 2 + 64 : 2]
        np.testing.assert_allclose(shown, expected, atol=1)

    a, b = index.pair_names()[0]
    subprocess.run(
        common
        + [
            "attention",
            "--pair",
            f"{a},{b}",
            "--points",
            "10,10",
            "50,20",
            "--scale",
            "3",
            "--out",
            str(tmp_path / "attention.png"),
        ],
        check=True,
        capture_output=True,
    )
    picture = tf.io.decode_png((tmp_path / "attention.png").read_bytes()).numpy()
    assert picture.shape[1:] == (2 + 3 * (3 * 32 + 2), 3)
    assert picture.shape[0] > 2 + 3 * 64 + 2  # the label row on top
