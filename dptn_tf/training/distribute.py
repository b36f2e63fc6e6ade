"""Training on several devices and machines: the `tf.distribute` strategy, the datasets it feeds,
the chief's role, and the precision policy.

One global batch (`data.batch_size`) is split over the replicas; every worker reads the same
seeded order of pairs and keeps its share, so N replicas on any number of machines see the
batches one device would see (`dptn_tf.data.make_dataset`). Only the chief writes the run
directory; the other workers restore from the chief (`broadcast_from_chief`), so they need
neither read nor write access to it.
"""

from __future__ import annotations

import dataclasses
import json
import math
import os
import socket

import keras
import tensorflow as tf

from dptn_tf.config import STRATEGIES, Config
from dptn_tf.data import PatnSplit, make_dataset

# What a training or validation batch must hold (the data pipeline also yields names and
# keypoints, which `training_batches` drops: strings cannot be distributed across replicas).
BATCH_KEYS = ("source_image", "source_pose", "target_image", "target_pose", "weight")
# Logical CPU devices to make, for MirroredStrategy on a machine without GPUs (tests, CPU users).
CPU_DEVICES_VARIABLE = "DPTN_CPU_DEVICES"


def select_strategy(name: str = "auto") -> tf.distribute.Strategy:
    """The strategy called `name` (`TrainConfig.strategy`); call it before TensorFlow runs an op.

    `auto`: MultiWorkerMirroredStrategy when `TF_CONFIG` describes more than one task,
    MirroredStrategy when there is more than one GPU (or, without GPUs, `$DPTN_CPU_DEVICES`
    splits the CPU into several devices), else the default (single-device) strategy.
    """
    if name not in STRATEGIES:
        raise ValueError(f"train.strategy: expected one of {STRATEGIES}, got {name!r}")
    split_cpu(os.environ.get(CPU_DEVICES_VARIABLE))
    if name == "auto" and _cluster_size() > 1:
        name = "multiworker"
    if name == "multiworker":  # before anything else sets up TensorFlow's devices
        return tf.distribute.MultiWorkerMirroredStrategy()
    gpus = tf.config.list_logical_devices("GPU")
    cpus = tf.config.list_logical_devices("CPU")
    if name == "auto":
        name = "mirrored" if len(gpus) > 1 or (not gpus and len(cpus) > 1) else "default"
    if name == "mirrored":
        return tf.distribute.MirroredStrategy(None if gpus else [cpu.name for cpu in cpus])
    return tf.distribute.get_strategy()


def split_cpu(count: str | int | None) -> None:
    """Split the CPU into `count` logical devices (None: leave it as it is).

    TensorFlow fixes its devices when it first runs an op, so this must come first.
    """
    if count is None:
        return
    try:
        count = int(count)
        if count < 1:
            raise ValueError
    except ValueError:
        raise ValueError(
            f"{CPU_DEVICES_VARIABLE}: expected a positive integer, got {count!r}"
        ) from None
    cpu = tf.config.list_physical_devices("CPU")[0]
    try:
        tf.config.set_logical_device_configuration(
            cpu, [tf.config.LogicalDeviceConfiguration()] * count
        )
    except RuntimeError:
        raise RuntimeError(
            f"{CPU_DEVICES_VARIABLE}={count}: TensorFlow has already set up its "
            "devices; split the CPU before anything runs"
        ) from None


def is_chief(strategy: tf.distribute.Strategy) -> bool:
    """Whether this worker writes the run directory (always, outside multi-worker training)."""
    resolver = strategy.cluster_resolver
    if resolver is None or not resolver.task_type:
        return True
    if resolver.task_type == "chief":
        return True
    has_chief = "chief" in resolver.cluster_spec().as_dict()
    return resolver.task_type == "worker" and resolver.task_id == 0 and not has_chief


def is_multi_worker(strategy: tf.distribute.Strategy) -> bool:
    """Whether `strategy` spans several processes (a `TF_CONFIG` cluster of several tasks)."""
    resolver = strategy.cluster_resolver
    return (
        resolver is not None
        and sum(len(tasks) for tasks in resolver.cluster_spec().as_dict().values()) > 1
    )


def describe(strategy: tf.distribute.Strategy) -> str:
    """What trains, e.g. "MultiWorkerMirroredStrategy, 2 replicas; this is worker 1, not the
    chief"."""
    if strategy.num_replicas_in_sync == 1 and not is_multi_worker(strategy):
        return "one device"
    name = "MultiWorkerMirroredStrategy" if is_multi_worker(strategy) else type(strategy).__name__
    text = f"{name}, {strategy.num_replicas_in_sync} replicas"
    if is_multi_worker(strategy):
        resolver = strategy.cluster_resolver
        role = "the chief" if is_chief(strategy) else "not the chief"
        text += f"; this is {resolver.task_type} {resolver.task_id}, {role}"
    return text


def distributed_batches(
    strategy: tf.distribute.Strategy, config: Config, index: PatnSplit, first_batch: int = 0
):
    """The training batches (`index.split == "train"`) from global batch `first_batch` on, or
    one pass over the evaluation batches; each replica is fed its share of every global batch.

    Workers draw one shuffle order, so they need one seed: `data.seed`, or `train.seed` if unset.
    """
    data = config.data
    if data.seed is None:
        data = dataclasses.replace(data, seed=config.train.seed)

    def dataset(context):
        return training_batches(
            make_dataset(
                data, index.split, input_context=context, index=index, first_batch=first_batch
            )
        )

    return strategy.distribute_datasets_from_function(dataset)


def training_batches(dataset: tf.data.Dataset) -> tf.data.Dataset:
    """Keep only `BATCH_KEYS` of the data pipeline's batches."""
    return dataset.map(lambda batch: {key: batch[key] for key in BATCH_KEYS})


def evaluation_steps(config: Config, index: PatnSplit) -> int:
    """Global batches in one pass over `index` (the last may be partial)."""
    return math.ceil(index.num_pairs / config.data.batch_size)


def reducible_logs(logs: dict) -> dict:
    """`train_step`/`test_step` results as Keras can average them over workers.

    Keras (3.15) averages step results across the workers of a MultiWorkerMirroredStrategy with
    `strategy.reduce(MEAN, value, axis=0)`, which fails on scalars; a one-element vector
    averages to the same scalar. Other strategies get the scalars.
    """
    if not is_multi_worker(tf.distribute.get_strategy()):
        return logs
    return {name: tf.reshape(value, [1]) for name, value in logs.items()}


def means_over_replicas(trackers: dict) -> dict:
    """The results of `keras.metrics.Mean` trackers over every replica's updates (from replica
    context; each replica gets the same values)."""
    context = tf.distribute.get_replica_context()
    # Tensors read on the variables' devices: `all_reduce` returns each sum to its input's
    # device, and MultiWorkerMirroredStrategy runs a replica without a device scope.
    local = [
        [tf.identity(tracker.total.value), tf.identity(tracker.count.value)]
        for tracker in trackers.values()
    ]
    sums = context.all_reduce(tf.distribute.ReduceOp.SUM, local)
    return {
        name: tf.math.divide_no_nan(total, count)
        for name, (total, count) in zip(trackers, sums, strict=True)
    }


def broadcast_from_chief(strategy: tf.distribute.Strategy, variables) -> None:
    """Give every replica the chief's values of `variables` (the chief's replica is the first).

    After only the chief has restored a backup: the other workers never read the run directory.
    """
    variables = list(variables)

    @tf.function
    def chief_values():
        def replica_values():
            context = tf.distribute.get_replica_context()
            chief = tf.equal(context.replica_id_in_sync_group, 0)
            # One dtype for one all-reduce: float64 holds float32 values and step counts exactly.
            values = [tf.cast(v, tf.float64) for v in variables]
            return context.all_reduce(
                tf.distribute.ReduceOp.SUM, [tf.where(chief, v, tf.zeros_like(v)) for v in values]
            )

        return strategy.run(replica_values)

    values = strategy.experimental_local_results(chief_values())[0]
    for variable, value in zip(variables, values, strict=True):
        variable.assign(tf.cast(value, variable.dtype))


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


def cpu_flags(cpuinfo: str = "/proc/cpuinfo") -> set[str]:
    """The instruction-set flags of the first CPU in `cpuinfo` (empty where there is none)."""
    try:
        with open(cpuinfo) as file:
            for line in file:
                if line.startswith("flags"):
                    return set(line.split(":", 1)[1].split())
    except OSError:
        pass
    return set()


# `/proc/cpuinfo`'s flags for native bfloat16 arithmetic, and how the console names them.
NATIVE_BFLOAT16 = {"amx_bf16": "AMX-BF16", "avx512_bf16": "AVX512_BF16"}


def choose_precision(mixed: bool | None, flags: set[str] | None = None) -> tuple[bool, str]:
    """`train.mixed_precision` resolved -> (mixed, why), the reason the console gives.

    None (the default) is bfloat16 on a CPU that computes it natively (AMX-BF16 or AVX512_BF16),
    where a training step is 1.4-3.7x faster and whole runs learn as float32 does (inside the
    official float32 band, docs/benchmarks.md "Where DPTN learns"); float32 elsewhere: on GPUs,
    where float16 has no such comparison, and on CPUs that emulate bfloat16, where it is slower.
    """
    if mixed is not None:
        return mixed, f"train.mixed_precision: {str(mixed).lower()}"
    if tf.config.list_logical_devices("GPU"):
        return False, "the default on GPUs; --mixed-precision trains in float16"
    present = cpu_flags() if flags is None else flags
    native = [name for flag, name in NATIVE_BFLOAT16.items() if flag in present]
    if native:
        names = " and ".join(native)
        return True, f"the default on this CPU ({names}); --float32 trains in float32"
    return False, "the default on this CPU, which has no native bfloat16 (AMX-BF16, AVX512_BF16)"


def loopback_cluster(workers: int) -> list[str]:
    """`TF_CONFIG` values for `workers` processes on this machine (on free loopback ports), one
    per process: to try a cluster out, and for the tests and benchmarks."""
    sockets = [socket.socket() for _ in range(workers)]
    try:
        for s in sockets:
            s.bind(("127.0.0.1", 0))
        addresses = [f"127.0.0.1:{s.getsockname()[1]}" for s in sockets]
    finally:
        for s in sockets:
            s.close()
    return [
        json.dumps({"cluster": {"worker": addresses}, "task": {"type": "worker", "index": i}})
        for i in range(workers)
    ]


def _cluster_size() -> int:
    config = json.loads(os.environ.get("TF_CONFIG") or "{}")
    return sum(len(tasks) for tasks in config.get("cluster", {}).values())
