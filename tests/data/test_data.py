"""The PATN reader's validation and the tf.data pipeline, on synthetic and dataset-shaped roots."""

import dataclasses

import numpy as np
import pytest
import tensorflow as tf
from PIL import Image

from dptn_tf.config import DataConfig
from dptn_tf.data import (
    DatasetError,
    load_split,
    make_dataset,
    read_annotations,
    read_pairs,
)
from dptn_tf.data.patn import write_annotations, write_pairs
from dptn_tf.pose import keypoints_to_heatmaps

MARKET_NAMES = ["0002_c1s1_000451_03.jpg", "0002_c2s1_000301_01.jpg", "0007_c3s3_077419_03.jpg"]
FASHION_NAMES = [
    "fashionWOMENBlouses_Shirtsid0000637003_1front.jpg",
    "fashionWOMENBlouses_Shirtsid0000637003_2side.jpg",
    "fashionMENTees_Tanksid0000404701_4full.png",
]


def synthetic_config(root, **settings) -> DataConfig:
    """The configuration of the session's tiny synthetic root (64x32 images)."""
    return DataConfig(
        root=str(root), prefix="synthetic", load_size=(64, 32), old_size=(64, 32), **settings
    )


def keypoints_for(index, size):
    """Deterministic keypoints inside `size`, a few missing."""
    rng = np.random.default_rng(index)
    points = np.stack([rng.integers(0, size[0], 18), rng.integers(0, size[1], 18)], axis=1)
    points[rng.choice(18, 3, replace=False)] = -1
    return points


def write_root(root, prefix, images, pairs, split="train"):
    """A PATN root from {name: PIL image}; every image annotated."""
    (root / split).mkdir(parents=True)
    annotations = {}
    for i, (name, image) in enumerate(images.items()):
        image.save(root / split / name)
        annotations[name] = keypoints_for(i, (image.height, image.width))
    write_annotations(root / f"{prefix}-annotation-{split}.csv", annotations)
    write_pairs(root / f"{prefix}-pairs-{split}.csv", pairs)
    return annotations


def noise_image(seed, size, mode="RGB"):
    rng = np.random.default_rng(seed)
    base = rng.integers(0, 256, 3)  # a distinct colour per image, plus smooth texture
    ramp = np.linspace(0, 60, size[1])[None, :, None]
    pixels = np.clip(base + ramp + rng.normal(0, 5, (*size, 3)), 0, 255).astype(np.uint8)
    return Image.fromarray(pixels).convert(mode)


def reference_image(path, load_size):
    """What the pipeline should deliver, computed with PIL instead of TensorFlow."""
    with Image.open(path) as image:
        image = image.convert("RGB").resize(load_size[::-1], Image.BILINEAR)
        return np.asarray(image, np.float32) / 127.5 - 1.0


def check_batch(batch, config, split_root, annotations, pairs, atol):
    """Shapes, dtypes, ranges, and that every element holds the pair (and data) its names say."""
    n = batch["source_image"].shape[0]
    h, w = config.load_size
    for role in ("source", "target"):
        assert batch[f"{role}_image"].dtype == tf.float32
        assert batch[f"{role}_image"].shape == (n, h, w, 3)
        assert batch[f"{role}_pose"].dtype == tf.float32
        assert batch[f"{role}_pose"].shape == (n, h, w, 18)
        assert batch[f"{role}_keypoints"].shape == (n, 18, 2)
        assert batch[f"{role}_name"].dtype == tf.string
        images = batch[f"{role}_image"].numpy()
        assert images.min() >= -1.0 and images.max() <= 1.0
        poses = batch[f"{role}_pose"].numpy()
        assert poses.min() >= 0.0 and poses.max() <= 1.0
    for i in range(n):
        names = tuple(batch[f"{r}_name"][i].numpy().decode() for r in ("source", "target"))
        assert names in pairs
        for role, name in zip(("source", "target"), names, strict=True):
            keypoints = batch[f"{role}_keypoints"][i].numpy()
            np.testing.assert_array_equal(keypoints, annotations[name])
            expected_pose = keypoints_to_heatmaps(keypoints, config.old_size, config.load_size)
            np.testing.assert_allclose(batch[f"{role}_pose"][i], expected_pose, atol=1e-6)
            expected = reference_image(split_root / name, config.load_size)
            np.testing.assert_allclose(batch[f"{role}_image"][i], expected, atol=atol)


def csv_pairs(root, prefix, split):
    return [(a, b) for _, a, b in read_pairs(root / f"{prefix}-pairs-{split}.csv")]


def test_synthetic_root_batches(synthetic_root):
    config = synthetic_config(synthetic_root, batch_size=4, seed=0)
    annotations = read_annotations(synthetic_root / "synthetic-annotation-train.csv")
    pairs = csv_pairs(synthetic_root, "synthetic", "train")
    for batch in make_dataset(config, "train").take(3):
        check_batch(batch, config, synthetic_root / "train", annotations, pairs, atol=0.04)


def test_evaluation_follows_the_csv_and_keeps_the_remainder(synthetic_root):
    config = synthetic_config(synthetic_root, batch_size=3)
    pairs = csv_pairs(synthetic_root, "synthetic", "test")
    seen = []
    for batch in make_dataset(config, "test"):
        seen += zip(
            [s.decode() for s in batch["source_name"].numpy()],
            [t.decode() for t in batch["target_name"].numpy()],
            strict=True,
        )
    assert seen == pairs  # 8 pairs in batches of 3: the last batch holds 2


def test_spread_takes_pairs_of_several_people(synthetic_root):
    index = load_split(synthetic_root, "test", "synthetic")  # 2 people x 4 pairs, in order
    people = [{name.split("_")[0] for name in pair} for pair in index.spread(2).pair_names()]
    assert len(people) == 2 and people[0] != people[1]
    assert index.spread(100).pair_names() == index.pair_names()
    assert index.spread(3).pair_names() == [index.pair_names()[i] for i in (0, 2, 4)]


def test_market_shaped_root(tmp_path):
    images = {name: noise_image(i, (128, 64)) for i, name in enumerate(MARKET_NAMES)}
    pairs = [
        (MARKET_NAMES[0], MARKET_NAMES[1]),
        (MARKET_NAMES[1], MARKET_NAMES[0]),
        (MARKET_NAMES[2], MARKET_NAMES[2]),
    ]
    annotations = write_root(tmp_path, "market", images, pairs)
    config = DataConfig(
        root=str(tmp_path), prefix="market", load_size=(128, 64), old_size=(128, 64), batch_size=3
    )
    batch = next(iter(make_dataset(config, "train", training=False)))
    check_batch(batch, config, tmp_path / "train", annotations, pairs, atol=4 / 127.5)
    assert [n.decode() for n in batch["source_name"].numpy()] == [p[0] for p in pairs]


def test_deepfashion_shaped_root_with_grayscale_and_rgba(tmp_path):
    images = {
        FASHION_NAMES[0]: noise_image(0, (256, 176)),
        FASHION_NAMES[1]: noise_image(1, (256, 176), mode="L"),
        FASHION_NAMES[2]: noise_image(2, (256, 176), mode="RGBA"),
    }
    pairs = [(FASHION_NAMES[0], FASHION_NAMES[1]), (FASHION_NAMES[2], FASHION_NAMES[0])]
    annotations = write_root(tmp_path, "fasion-resize", images, pairs, split="test")
    config = DataConfig(
        root=str(tmp_path),
        prefix="fasion-resize",
        load_size=(256, 256),
        old_size=(256, 176),
        batch_size=2,
    )
    batch = next(iter(make_dataset(config, "test")))
    check_batch(batch, config, tmp_path / "test", annotations, pairs, atol=4 / 127.5)


def test_seeded_pipelines_repeat_their_order(synthetic_root):
    def names(seed):
        config = synthetic_config(
            synthetic_root, batch_size=4, seed=seed, deterministic=True, check_images=False
        )
        batches = make_dataset(config, "train").take(12)  # more than one pass over 36 pairs
        return [n.decode() for b in batches for n in b["source_name"].numpy()]

    first = names(seed=7)
    assert first == names(seed=7)
    assert first != names(seed=8)
    assert len(first) == 48  # repeats past the 36 pairs, whole batches only


def test_deterministic_needs_a_seed(synthetic_root):
    config = DataConfig(root=str(synthetic_root), prefix="synthetic", deterministic=True)
    with pytest.raises(ValueError, match="data.seed"):
        make_dataset(config, "train")


def test_input_context_shards_and_splits_the_batch(synthetic_root):
    config = synthetic_config(synthetic_root, batch_size=4)
    index = load_split(synthetic_root, "test", "synthetic")
    shards = []
    for pipeline in range(2):
        context = tf.distribute.InputContext(
            num_input_pipelines=2, input_pipeline_id=pipeline, num_replicas_in_sync=2
        )
        batches = list(make_dataset(config, "test", input_context=context, index=index))
        assert all(b["source_image"].shape[0] <= 2 for b in batches)  # per-replica batch
        shards.append(
            [
                (s, t)
                for b in batches
                for s, t in zip(b["source_name"].numpy(), b["target_name"].numpy(), strict=True)
            ]
        )
    assert not set(shards[0]) & set(shards[1])
    assert len(shards[0]) + len(shards[1]) == index.num_pairs


def pair_names(batch) -> list:
    return [
        (s.decode(), t.decode())
        for s, t in zip(batch["source_name"].numpy(), batch["target_name"].numpy(), strict=True)
    ]


def test_replicas_share_the_global_batches_of_one_pipeline(synthetic_root):
    """Whatever the number of workers (input pipelines) and replicas, the replicas' batches of
    one step together are the batch one pipeline of the global batch size gives."""
    config = synthetic_config(
        synthetic_root, batch_size=4, seed=3, deterministic=True, check_images=False
    )
    index = load_split(synthetic_root, "train", "synthetic", check_images=False)
    steps = 10  # more than one pass over the 36 pairs
    single = [pair_names(b) for b in make_dataset(config, "train", index=index).take(steps)]
    for pipelines, replicas in ((1, 2), (2, 2), (2, 4)):
        per_pipeline = replicas // pipelines
        streams = [
            [
                pair_names(b)
                for b in make_dataset(
                    config,
                    "train",
                    index=index,
                    input_context=tf.distribute.InputContext(pipelines, pipeline, replicas),
                ).take(steps * per_pipeline)
            ]
            for pipeline in range(pipelines)
        ]
        for step, expected in enumerate(single):
            shares = [
                batch
                for stream in streams
                for batch in stream[step * per_pipeline : (step + 1) * per_pipeline]
            ]
            assert all(len(share) == 4 // replicas for share in shares)
            together = [pair for share in shares for pair in share]
            assert sorted(together) == sorted(expected), (pipelines, replicas, step)


def test_replicas_get_whole_evaluation_batches(synthetic_root):
    """A split smaller than the global batch: copies weighted 0 fill up every replica's batch."""
    config = synthetic_config(synthetic_root, batch_size=8, check_images=False)
    index = load_split(synthetic_root, "test", "synthetic", check_images=False).subset([0, 1, 2])
    real = []
    for pipeline in range(2):
        context = tf.distribute.InputContext(2, pipeline, 4)
        batches = list(make_dataset(config, "test", input_context=context, index=index))
        assert [b["source_image"].shape[0] for b in batches] == [2, 2]
        for batch in batches:
            real += [
                pair
                for pair, weight in zip(pair_names(batch), batch["weight"].numpy(), strict=True)
                if weight == 1
            ]
            assert set(batch["weight"].numpy()) <= {0.0, 1.0}
    assert sorted(real) == sorted(index.pair_names())


def test_several_pipelines_need_one_seed(synthetic_root):
    config = synthetic_config(synthetic_root, batch_size=4, check_images=False)
    context = tf.distribute.InputContext(2, 0, 2)
    with pytest.raises(ValueError, match="data.seed"):
        make_dataset(config, "train", input_context=context)


def test_first_batch_continues_the_seeded_order(synthetic_root):
    config = synthetic_config(
        synthetic_root, batch_size=4, seed=5, deterministic=True, check_images=False
    )
    index = load_split(synthetic_root, "train", "synthetic", check_images=False)
    from_start = [pair_names(b) for b in make_dataset(config, "train", index=index).take(12)]
    resumed = [
        pair_names(b) for b in make_dataset(config, "train", index=index, first_batch=10).take(2)
    ]
    assert resumed == from_start[10:]


def test_distribute_datasets_from_function(synthetic_root):
    config = synthetic_config(synthetic_root, batch_size=2, seed=0)
    strategy = tf.distribute.OneDeviceStrategy("/cpu:0")
    dataset = strategy.distribute_datasets_from_function(
        lambda context: make_dataset(config, "train", input_context=context)
    )
    batch = next(iter(dataset))
    assert batch["target_pose"].shape == (2, 64, 32, 18)


# --- bad input: each fails at load time with a message naming the culprit -------------------


@pytest.fixture
def market_root(tmp_path):
    images = {name: noise_image(i, (128, 64)) for i, name in enumerate(MARKET_NAMES)}
    pairs = [(MARKET_NAMES[0], MARKET_NAMES[1]), (MARKET_NAMES[1], MARKET_NAMES[2])]
    write_root(tmp_path, "market", images, pairs)
    return tmp_path


def load_market(root, **kwargs):
    return load_split(root, "train", "market", old_size=(128, 64), **kwargs)


def edit_line(path, line, text):
    lines = path.read_text().splitlines()
    lines[line - 1] = text
    path.write_text("\n".join(lines) + "\n")


def test_bad_pair_without_annotation(market_root):
    pairs = market_root / "market-pairs-train.csv"
    edit_line(pairs, 3, f"{MARKET_NAMES[1]},0099_c1s1_000001_01.jpg")
    with pytest.raises(DatasetError) as error:
        load_market(market_root)
    message = str(error.value)
    assert str(pairs) in message and "line 3" in message and "'to'" in message
    assert "0099_c1s1_000001_01.jpg" in message and "market-annotation-train.csv" in message


def test_bad_pair_without_file(market_root):
    (market_root / "train" / MARKET_NAMES[2]).unlink()
    with pytest.raises(
        DatasetError, match=r"line 3: 'to' image '0007_c3s3_077419_03.jpg': no such file"
    ):
        load_market(market_root)


@pytest.mark.parametrize(
    "keypoints_y, expected",
    [
        ("[1, 2, 3]", "got '\\[1, 2, 3\\]'"),  # 3 values, not 18
        ("[" + ", ".join(["1.5"] * 18) + "]", "keypoints_y must be a JSON list of 18 integers"),
        ("[1, 2", "keypoints_y must be a JSON list of 18 integers"),  # not JSON
        ("[" + ", ".join(["-3"] * 18) + "]", "-1 for a missing joint"),
    ],
)
def test_bad_keypoint_list(market_root, keypoints_y, expected):
    annotations = market_root / "market-annotation-train.csv"
    x = "[" + ", ".join(["5"] * 18) + "]"
    edit_line(annotations, 3, f"{MARKET_NAMES[1]}:{keypoints_y}:{x}")
    with pytest.raises(DatasetError, match=expected) as error:
        load_market(market_root)
    assert f"{annotations}: line 3 ('{MARKET_NAMES[1]}')" in str(error.value)


@pytest.mark.parametrize("x, refused", [(500, True), (66, False), (67, True), (0, False)])
def test_keypoint_outside_the_frame(market_root, x, refused):
    """x = 500 in a 64-wide frame (annotations made at another resolution) stops the load,
    naming the file, the line and the joint; up to 2 pixels past an edge is rounding."""
    annotations = market_root / "market-annotation-train.csv"
    y = "[" + ", ".join(["5"] * 18) + "]"
    xs = [5] * 18
    xs[4] = x  # joint 4, the right wrist
    edit_line(annotations, 3, f"{MARKET_NAMES[1]}:{y}:{xs}")
    if not refused:
        load_market(market_root)
        return
    with pytest.raises(
        DatasetError,
        match=r"joint 4 \(Rwri\) at \(y, x\) = \(5, (67|500)\) "
        r"is outside the 128x64 frame",
    ) as error:
        load_market(market_root)
    assert f"{annotations}: line 3 ('{MARKET_NAMES[1]}')" in str(error.value)


def test_undecodable_image(market_root):
    broken = market_root / "train" / MARKET_NAMES[1]
    broken.write_bytes(broken.read_bytes()[:200])  # a truncated JPEG
    with pytest.raises(DatasetError, match="cannot be decoded") as error:
        load_market(market_root)
    assert str(broken) in str(error.value)
    load_market(market_root, check_images=False)  # the check can be switched off


def test_image_of_the_wrong_size(market_root):
    wrong = market_root / "train" / MARKET_NAMES[0]
    noise_image(0, (256, 176)).save(wrong)
    with pytest.raises(DatasetError, match=r"image is 256x176, expected 128x64") as error:
        load_market(market_root)
    assert str(wrong) in str(error.value)


def test_empty_split(market_root):
    pairs = market_root / "market-pairs-train.csv"
    pairs.write_text("from,to\n")
    with pytest.raises(DatasetError, match="empty split") as error:
        load_market(market_root)
    assert str(pairs) in str(error.value)


def test_missing_folder_file_and_header(market_root):
    with pytest.raises(DatasetError, match="test: image folder not found"):
        load_split(market_root, "test", "market")
    with pytest.raises(DatasetError, match="fasion-resize-annotation-train.csv: file not found"):
        load_split(market_root, "train", "fasion-resize")
    pairs = market_root / "market-pairs-train.csv"
    edit_line(pairs, 1, "source,target")
    with pytest.raises(DatasetError, match="line 1: expected a header with columns 'from,to'"):
        load_market(market_root)


def test_make_dataset_validates_before_returning(market_root):
    (market_root / "train" / MARKET_NAMES[0]).unlink()
    config = DataConfig(
        root=str(market_root), prefix="market", load_size=(128, 64), old_size=(128, 64)
    )
    with pytest.raises(DatasetError, match="no such file"):
        make_dataset(config, "train")


def test_config_fields_are_used(synthetic_root):
    config = dataclasses.replace(
        DataConfig(root=str(synthetic_root), prefix="synthetic", old_size=(64, 32)),
        load_size=(32, 16),
        batch_size=5,
        num_parallel_calls=1,
        sigma=3.0,
    )
    batch = next(iter(make_dataset(config, "test")))
    assert batch["source_image"].shape == (5, 32, 16, 3)
    expected = keypoints_to_heatmaps(batch["source_keypoints"], (64, 32), (32, 16), sigma=3.0)
    np.testing.assert_allclose(batch["source_pose"], expected, atol=1e-6)
