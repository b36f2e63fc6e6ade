"""DeepFashion and Market-1501 preparation on tiny trees that follow the real naming."""

import importlib

import numpy as np
import pytest
from PIL import Image

from dptn_tf.data import DatasetError, write_annotations, write_pairs
from dptn_tf.data.prepare import deepfashion_name, prepare_deepfashion, prepare_market

IN_SHOP = {  # path under img/ -> PATN name
    "WOMEN/Blouses_Shirts/id_00006370/03_1_front.jpg": (
        "fashionWOMENBlouses_Shirtsid0000637003_1front.jpg"
    ),
    "WOMEN/Blouses_Shirts/id_00006370/03_2_side.jpg": (
        "fashionWOMENBlouses_Shirtsid0000637003_2side.jpg"
    ),
    "MEN/Tees_Tanks/id_00004047/01_7_additional.jpg": (
        "fashionMENTees_Tanksid0000404701_7additional.jpg"
    ),
    "MEN/Denim/id_00000080/01_4_full.jpg": "fashionMENDenimid0000008001_4full.jpg",
}
MARKET = {
    "bounding_box_train": ["0002_c1s1_000451_03.jpg", "0002_c2s1_000301_01.jpg"],
    "bounding_box_test": [
        "0000_c1s1_000151_01.jpg",
        "-1_c1s1_000401_03.jpg",
        "0001_c1s1_001051_00.jpg",
    ],
}


def save(path, size, seed):
    path.parent.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    pixels = np.repeat(np.linspace(0, 255, size[1], dtype=np.uint8)[None, :, None], size[0], 0)
    pixels = np.concatenate([pixels, np.full((*size, 2), rng.integers(0, 255, 2), np.uint8)], -1)
    Image.fromarray(pixels).save(path, quality=98)


@pytest.fixture
def in_shop(tmp_path):
    for i, relative in enumerate(IN_SHOP):
        save(tmp_path / "img" / relative, (256, 256), i)
    names = list(IN_SHOP.values())
    root = tmp_path / "fashion"
    root.mkdir()
    (root / "train.lst").write_text("\n".join(names[:2]) + "\n")
    (root / "test.lst").write_text(names[2] + "\n")  # the last image is in neither list
    return tmp_path


def test_deepfashion_name():
    for relative, name in IN_SHOP.items():
        assert deepfashion_name(f"img/{relative}") == name
    with pytest.raises(DatasetError, match="expected <GENDER>/<Category>/id_<digits>/<file>"):
        deepfashion_name("img/WOMEN/Dresses/03_1_front.jpg")


def test_prepare_deepfashion_splits_renames_and_crops(in_shop):
    root = in_shop / "fashion"
    assert prepare_deepfashion(in_shop / "img", root) == {"train": 2, "test": 1}
    names = list(IN_SHOP.values())
    assert sorted(p.name for p in (root / "train").iterdir()) == sorted(names[:2])
    assert [p.name for p in (root / "test").iterdir()] == [names[2]]
    with (
        Image.open(root / "train" / names[0]) as out,
        Image.open(in_shop / "img" / list(IN_SHOP)[0]) as raw,
    ):
        assert out.size == (176, 256)  # 256 rows x 176 columns, the keypoints' frame
        cropped = np.asarray(raw, np.float32)[:, 40:216]
        assert np.abs(np.asarray(out, np.float32) - cropped).mean() < 2
    assert not [p for p in root.iterdir() if p.name.startswith(".")]  # no temporary folders


def test_prepare_deepfashion_checks_against_the_csvs(in_shop):
    root = in_shop / "fashion"
    names = list(IN_SHOP.values())
    keypoints = np.zeros((18, 2), int)
    write_annotations(root / "fasion-resize-annotation-train.csv", {n: keypoints for n in names})
    write_pairs(root / "fasion-resize-pairs-train.csv", [(names[0], names[3])])  # not in train.lst
    with pytest.raises(DatasetError, match=f"'to' image '{names[3]}': no such file"):
        prepare_deepfashion(in_shop / "img", root)


def test_prepare_deepfashion_errors(in_shop):
    root = in_shop / "fashion"
    (root / "test.lst").write_text("fashionWOMENDressesid0000999901_1front.jpg\n")
    with pytest.raises(DatasetError, match="1 images of the test list are not under"):
        prepare_deepfashion(in_shop / "img", root)
    save(in_shop / "img" / list(IN_SHOP)[0], (300, 200), 0)
    with pytest.raises(
        DatasetError, match="03_1_front.jpg: image is 300x200, expected the In-shop 256x256"
    ):
        prepare_deepfashion(
            in_shop / "img",
            in_shop / "other",
            train_list=root / "train.lst",
            test_list=root / "train.lst",
        )


def make_market(tmp_path):
    market = tmp_path / "Market-1501-v15.09.15"
    for folder, names in MARKET.items():
        for i, name in enumerate(names):
            save(market / folder / name, (128, 64), i)
        (market / folder / "Thumbs.db").write_bytes(b"not an image")
    return market


def test_prepare_market_renames_folders_and_keeps_names(tmp_path):
    market, root = make_market(tmp_path), tmp_path / "market"
    root.mkdir()
    names = MARKET["bounding_box_train"]
    write_annotations(
        root / "market-annotation-train.csv", {n: np.zeros((18, 2), int) for n in names}
    )
    write_pairs(root / "market-pairs-train.csv", [tuple(names)])
    assert prepare_market(market, root) == {"train": 2, "test": 3}
    assert sorted(p.name for p in (root / "train").iterdir()) == sorted(names)
    assert sorted(p.name for p in (root / "test").iterdir()) == sorted(MARKET["bounding_box_test"])
    source = market / "bounding_box_train" / names[0]
    assert (root / "train" / names[0]).read_bytes() == source.read_bytes()
    with pytest.raises(FileExistsError, match="train exists"):
        prepare_market(market, root)


def test_prepare_market_needs_the_download(tmp_path):
    with pytest.raises(DatasetError, match="bounding_box_train: folder not found"):
        prepare_market(tmp_path / "nowhere", tmp_path / "market")


def run_tool(command, *args):
    assert importlib.import_module(f"dptn_tf.cli.{command}").main(list(args)) in (None, 0)


def test_command_lines(tmp_path, in_shop, capsys):
    run_tool(
        "prepare_deepfashion",
        "--images",
        str(in_shop / "img"),
        "--root",
        str(in_shop / "fashion"),
    )
    run_tool(
        "prepare_market",
        "--market",
        str(make_market(tmp_path)),
        "--root",
        str(tmp_path / "market"),
    )
    run_tool(
        "make_synthetic_dataset",
        str(tmp_path / "synthetic"),
        "--image-size",
        "32",
        "16",
        "--train-identities",
        "1",
        "--test-identities",
        "1",
        "--poses",
        "2",
        "--preview",
        str(tmp_path / "grid.png"),
    )
    output = capsys.readouterr().out
    assert "2 train images, 1 test images" in output and "2 train images, 3 test images" in output
    assert (tmp_path / "synthetic" / "synthetic-pairs-test.csv").is_file()
    assert Image.open(tmp_path / "grid.png").size[0] > 12 * 16
