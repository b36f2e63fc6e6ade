"""Choosing the `tf.distribute` strategy and the precision policy of a training run."""

from __future__ import annotations

import json
import os

import keras
import tensorflow as tf

from dptn_tf.config import STRATEGIES


def select_strategy(name: str = "auto") -> tf.distribute.Strategy:
    """The strategy called `name` (`TrainConfig.strategy`).

    `auto`: MultiWorkerMirroredStrategy when `TF_CONFIG` describes more than one task,
    MirroredStrategy when there is more than one GPU, else the default (single-device) strategy.
    """
    if name not in STRATEGIES:
        raise ValueError(f"train.strategy: expected one of {STRATEGIES}, got {name!r}")
    if name == "auto":
        if _cluster_size() > 1:
            name = "multiworker"
        elif len(tf.config.list_logical_devices("GPU")) > 1:
            name = "mirrored"
        else:
            name = "default"
    if name == "multiworker":
        return tf.distribute.MultiWorkerMirroredStrategy()
    if name == "mirrored":
        return tf.distribute.MirroredStrategy()
    return tf.distribute.get_strategy()


def is_chief(strategy: tf.distribute.Strategy) -> bool:
    """Whether this worker writes the run directory (always, outside multi-worker training)."""
    resolver = strategy.cluster_resolver
    if resolver is None or not resolver.task_type:
        return True
    if resolver.task_type == "chief":
        return True
    has_chief = "chief" in resolver.cluster_spec().as_dict()
    return resolver.task_type == "worker" and resolver.task_id == 0 and not has_chief


def set_precision(mixed: bool) -> str:
    """Set Keras' global dtype policy before the networks are built; -> its name.

    Mixed precision computes in float16 on GPUs (losses scaled, see `DPTN.compile`) and in
    bfloat16 elsewhere, where float16 arithmetic is slow or missing.
    """
    if not mixed:
        policy = "float32"
    elif tf.config.list_logical_devices("GPU"):
        policy = "mixed_float16"
    else:
        policy = "mixed_bfloat16"
    keras.mixed_precision.set_global_policy(policy)
    return policy


def _cluster_size() -> int:
    config = json.loads(os.environ.get("TF_CONFIG") or "{}")
    return sum(len(tasks) for tasks in config.get("cluster", {}).values())
