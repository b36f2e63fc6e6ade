"""What the benchmarks share: thread pools, the machine's GEMM peaks, FLOPs of a graph.

- `configure_threads(n)`: TensorFlow's intra-op and inter-op pools of `n` threads each (default:
  the cores this process may use), which is what TensorFlow chooses on a machine of `n` cores.
  With one inter-op thread instead, the generator's independent branches (the source encoder
  beside the shared encoder) and its small ops never overlap: on 2 cores that made inference
  17% slower in float32 and 20% in bfloat16 (measured 2026-12-04).
- `GemmPeak`: the best float32 (or bfloat16) matrix-multiply rate TensorFlow reaches here,
  sampled between the timed runs of the work it is compared with (same threads, same load);
  `peak_dtype(policy)` names the one that matches a Keras precision policy.
- `random_batch(batch, size)`: a training batch of random images in [-1, 1] and pose maps in
  [0, 1], for timing (the work does not depend on the values).
- `graph_gflops(concrete_function)`: the multiply-adds (x2) of every convolution, matrix product
  and einsum in a traced function, forward and backward ops alike; elementwise work is left out,
  as is usual for "model FLOPs".
"""

from __future__ import annotations

import os
import re
import time

import numpy as np
import tensorflow as tf
from tensorflow.python.framework import ops

tf.get_logger().setLevel("ERROR")  # the flop statistics print deprecation notices

BATCH_CHANNELS = {"source_image": 3, "target_image": 3, "source_pose": 18, "target_pose": 18}


def random_batch(batch: int, size, seed: int = 0, names=tuple(BATCH_CHANNELS)) -> dict:
    """float32 numpy arrays `[batch, H, W, channels]` for `names` (default: a training batch)."""
    rng = np.random.default_rng(seed)
    return {
        name: rng.uniform(
            -1 if BATCH_CHANNELS[name] == 3 else 0, 1, (batch, *size, BATCH_CHANNELS[name])
        ).astype("float32")
        for name in names
    }


def describe() -> str:
    """The CPU model, the cores this process may use and its matrix units, for result tables."""
    from dptn_tf.training.distribute import cpu_flags

    model = "unknown CPU"
    try:
        with open("/proc/cpuinfo") as cpuinfo:
            model = next(
                (
                    line.split(":", 1)[1].strip()
                    for line in cpuinfo
                    if line.startswith("model name")
                ),
                model,
            )
    except OSError:
        pass
    flags = cpu_flags()
    units = [
        name
        for flag, name in (
            ("avx512f", "AVX-512"),
            ("avx512_bf16", "AVX512_BF16"),
            ("amx_bf16", "AMX-BF16"),
        )
        if flag in flags
    ]
    gpus = tf.config.list_physical_devices("GPU")
    return (
        f"{model}, {available_cores()} cores"
        + (f" ({', '.join(units)})" if units else "")
        + (f", {len(gpus)} GPU(s)" if gpus else ", no GPU")
    )


def available_cores() -> int:
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()


def configure_threads(threads: int | None = None) -> int:
    """Call before TensorFlow runs anything; -> the intra-op thread count."""
    threads = threads or available_cores()
    tf.config.threading.set_intra_op_parallelism_threads(threads)
    tf.config.threading.set_inter_op_parallelism_threads(threads)
    return threads


class GemmPeak:
    """The best `size`^3 matrix-product rate seen in `dtype` ("float32" or "bfloat16"), in
    GFLOP/s.

    Call `sample()` between the timed runs of the work it is compared with, so both see the same
    threads and the same load from other processes; `gflops` is the best rate over all samples.
    bfloat16 products accumulate in float32 (oneDNN; AMX tiles where the CPU has them).
    """

    def __init__(self, dtype: str = "float32", size: int = 2048):
        rng = np.random.default_rng(0)
        a, b = (tf.constant(rng.standard_normal((size, size)), dtype) for _ in range(2))
        self.dtype = dtype
        self._product = tf.function(lambda: tf.reduce_sum(tf.cast(tf.matmul(a, b), tf.float32)))
        self._product().numpy()
        self._flop = 2 * size**3
        self.gflops = 0.0
        self.samples = 0
        self.sample()

    def sample(self, repeats: int = 3) -> float:
        self.samples += repeats
        for _ in range(repeats):
            start = time.perf_counter()
            self._product().numpy()
            self.gflops = max(self.gflops, self._flop / (time.perf_counter() - start) / 1e9)
        return self.gflops


def peak_dtype(policy: str) -> str:
    """The GEMM dtype a Keras policy computes in: "bfloat16" for mixed_bfloat16, else float32
    (float16 is a GPU's, where these CPU peaks do not apply)."""
    return "bfloat16" if "bfloat16" in str(policy) else "float32"


@ops.RegisterStatistics("Einsum", "flops")
def _einsum_flops(graph, node):
    """2 x the product of the sizes of every index of a two-operand einsum (Keras' attention)."""
    equation = node.attr["equation"].s.decode()
    inputs, _ = equation.split("->")
    operands = inputs.split(",")
    sizes = {}
    for operand, name in zip(operands, node.input):
        shape = _static_shape(graph, name)
        for letter, size in zip(re.sub(r"\.\.\.", "", operand), shape[-len(operand) :]):
            sizes[letter] = size
    return ops.OpStats("flops", 2 * int(np.prod(list(sizes.values()))) if len(operands) == 2 else 0)


def _static_shape(graph, name):
    tensor = graph.as_graph_element(name if ":" in name else f"{name}:0")
    return tensor.shape.as_list()


def graph_gflops(concrete_function) -> float:
    """GFLOP of one call of a traced function (its shapes must be static)."""
    return _graph_flops(concrete_function.graph) / 1e9


def _graph_flops(graph) -> int:
    """Flops of the ops of `graph` that run, and of the functions they call (nested tf.functions,
    loops). Ops nothing depends on (the filter gradients of a frozen network, which a gradient
    tape builds and TensorFlow prunes) are not counted."""
    total = 0
    for op in _live_ops(graph):
        total += _op_flops(graph, op)
        for attr in op.node_def.attr.values():
            if attr.HasField("func"):
                nested = graph._get_function(attr.func.name)
                if nested is not None:
                    total += _graph_flops(nested.graph)
    return total


def _live_ops(graph) -> list:
    """The ops the outputs, control outputs and stateful ops (variable updates) depend on."""
    roots = [t.op for t in graph.outputs] + list(getattr(graph, "control_outputs", []))
    roots += [op for op in graph.get_operations() if op._is_stateful]
    live, stack = set(), list(roots)
    while stack:
        op = stack.pop()
        if op in live:
            continue
        live.add(op)
        stack.extend(t.op for t in op.inputs)
        stack.extend(op.control_inputs)
    return [op for op in graph.get_operations() if op in live]


def _op_flops(graph, op) -> int:
    if op.type not in (
        "Conv2D",
        "Conv2DBackpropInput",
        "Conv2DBackpropFilter",
        "MatMul",
        "BatchMatMul",
        "BatchMatMulV2",
        "BatchMatMulV3",
        "Einsum",
        "DepthwiseConv2dNative",
    ):
        return 0
    try:
        stats = ops.get_stats_for_node_def(graph, op.node_def, "flops")
    except (ValueError, KeyError):
        return 0
    return stats.value or 0
