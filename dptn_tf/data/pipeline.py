"""The tf.data input pipeline: validated PATN pairs -> batches of images and pose heatmaps.

Each element is a dict of
  `source_image`, `target_image`: float32 `[B, H, W, 3]` in [-1, 1] at `load_size`;
  `source_pose`, `target_pose`: float32 `[B, H, W, 18]` (`dptn_tf.pose.keypoints_to_heatmaps`);
  `source_keypoints`, `target_keypoints`: float32 `[B, 18, 2]` `(y, x)` in `old_size` pixels;
  `source_name`, `target_name`: tf.string `[B]`;
  `weight`: float32 `[B]`, 1, or 0 for the copies that fill up the last evaluation batch under
  `tf.distribute` (a replica cannot run on an empty batch).
Images are decoded in parallel per pair; heatmaps are rendered per batch, which is cheaper than
per element because the batch does not have to copy them.

On CPU, run with `TF_CPU_ALLOCATOR_USE_BFC=true` (set before TensorFlow runs its first op): the
default allocator page-faults in fresh memory for every large batch, which halves the speed
(`benchmarks/data_pipeline.py`).
"""

from __future__ import annotations

import dataclasses
import math

import numpy as np
import tensorflow as tf

from dptn_tf.config import DataConfig
from dptn_tf.data.images import decode_image
from dptn_tf.data.patn import PatnSplit, load_split
from dptn_tf.pose import keypoints_to_heatmaps


def make_dataset(
    config: DataConfig,
    split: str = "train",
    *,
    training: bool | None = None,
    input_context: tf.distribute.InputContext | None = None,
    index: PatnSplit | None = None,
    first_batch: int = 0,
) -> tf.data.Dataset:
    """Build the pipeline for one split.

    Args:
      config: where the data is and how to batch it. `batch_size` is the global batch size;
        with an `input_context` each pipeline gets its per-replica share.
      split: "train" or "test".
      training: shuffle (seeded by `config.seed`), repeat forever and drop the last partial
        batch; otherwise one pass in CSV order keeping the remainder. Defaults to
        `split == "train"`.
      input_context: from `strategy.distribute_datasets_from_function`: each input pipeline
        (worker) reads a disjoint share of every global batch, the batch of its replicas.
      index: an already loaded split (skips reading and validating the root again).
      first_batch: training batches to skip, so that a resumed run goes on with the batches
        it would have seen (the seeded order is a function of `config.seed` alone).
    """
    training = split == "train" if training is None else training
    if training and config.deterministic and config.seed is None:
        raise ValueError("data.deterministic=true needs a data.seed for the shuffle order")
    if index is None:
        index = load_split(
            config.root,
            split,
            config.prefix,
            old_size=config.old_size,
            check_images=config.check_images,
        )
    load_size = tuple(config.load_size)
    parallel = config.num_parallel_calls or tf.data.AUTOTUNE

    batch_size = config.batch_size
    pairs, weights = index.pairs, np.ones(index.num_pairs, np.float32)
    if input_context is not None and not training:
        padding = math.ceil(index.num_pairs / batch_size) * batch_size - index.num_pairs
        pairs = np.concatenate([pairs, np.repeat(pairs[:1], padding, axis=0)])
        weights = np.concatenate([weights, np.zeros(padding, np.float32)])
    dataset = tf.data.Dataset.from_tensor_slices((pairs, weights))
    if training:
        buffer = min(config.shuffle_buffer, index.num_pairs)
        dataset = dataset.shuffle(buffer, seed=config.seed, reshuffle_each_iteration=True)
        dataset = dataset.repeat().skip(first_batch * config.batch_size)
    if input_context is not None:
        # Every input pipeline (worker) draws the same order and keeps every n-th pair, so the
        # replicas share each run of `config.batch_size` pairs: the global batches are those of
        # one pipeline, whatever the number of replicas and workers.
        batch_size = input_context.get_per_replica_batch_size(config.batch_size)
        shards = input_context.num_input_pipelines
        if training and shards > 1 and config.seed is None:
            raise ValueError(
                f"data.seed: the {shards} input pipelines must draw one shuffle order; set a seed"
            )
        dataset = dataset.shard(shards, input_context.input_pipeline_id)

    paths = tf.constant(index.paths())
    names = tf.constant(index.names)
    keypoints = tf.constant(index.keypoints, tf.float32)

    def load_pair(pair, weight):
        element = {"weight": weight}
        for role, i in (("source", pair[0]), ("target", pair[1])):
            element[f"{role}_image"] = decode_image(tf.io.read_file(paths[i]), load_size)
            element[f"{role}_keypoints"] = keypoints[i]
            element[f"{role}_name"] = names[i]
        return element

    def add_poses(batch):
        for role in ("source", "target"):
            batch[f"{role}_pose"] = keypoints_to_heatmaps(
                batch[f"{role}_keypoints"], config.old_size, load_size, config.sigma
            )
        return batch

    dataset = dataset.map(load_pair, num_parallel_calls=parallel)
    dataset = dataset.batch(batch_size, drop_remainder=training)
    dataset = dataset.map(add_poses, num_parallel_calls=parallel)
    dataset = dataset.prefetch(tf.data.AUTOTUNE)

    options = tf.data.Options()
    options.deterministic = config.deterministic or not training
    options.experimental_distribute.auto_shard_policy = (
        tf.data.experimental.AutoShardPolicy.OFF
        if input_context is not None
        else tf.data.experimental.AutoShardPolicy.DATA
    )
    return dataset.with_options(options)


def one_batch(config: DataConfig, index: PatnSplit) -> dict:
    """Every pair of `index`, in order, as one evaluation batch (sample grids, pictures)."""
    config = dataclasses.replace(config, batch_size=index.num_pairs)
    return next(iter(make_dataset(config, index.split, training=False, index=index)))
