"""One step on two replicas (the CPU split into two logical devices) equals one step on one.

The logical devices must be configured before TensorFlow initialises, so the comparison runs in
a child process: this file, executed as a script (with `tests/` on its PYTHONPATH, for the
shared helpers), prints the figures as JSON.
"""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

TOLERANCE = 1e-5


@pytest.mark.slow
def test_two_replicas_update_the_weights_as_one():
    tests = str(Path(__file__).resolve().parents[1])
    paths = [tests, *filter(None, [os.environ.get("PYTHONPATH")])]
    result = subprocess.run(
        [sys.executable, __file__],
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
        env=os.environ | {"PYTHONPATH": os.pathsep.join(paths)},
    )
    assert result.returncode == 0, result.stderr[-3000:]
    figures = json.loads(result.stdout.strip().splitlines()[-1])
    assert figures["replicas"] == [1, 2]
    # The step moved the weights far more than the tolerance: a wrong loss scaling (a sum
    # instead of a mean over the global batch, say) would show.
    assert figures["largest_update"] > 100 * TOLERANCE
    assert figures["largest_difference"] < TOLERANCE, figures["worst_variable"]
    assert figures["iterations"] == [[1, 1], [1, 1]]
    for name, (one, two) in figures["losses"].items():
        assert one == pytest.approx(two, rel=1e-5), name


def _one_step(strategy, batch, config) -> dict:
    """Build the tiny model in `strategy`'s scope and fit one global batch."""
    import keras
    import numpy as np
    import tensorflow as tf

    from dptn_tf import training

    with strategy.scope():
        keras.utils.set_random_seed(0)  # the same initial weights under both strategies
        model = training.build_dptn(config)
        # Plain SGD: its update is linear in the gradient, so the comparison measures the
        # gradient aggregation. (Adam's first step is about lr * sign(gradient): gradients that
        # are rounding noise around 0, such as those of a bias before an instance norm, flip it.)
        model.compile(keras.optimizers.SGD(0.1), keras.optimizers.SGD(0.1))
    networks = (model.generator, model.discriminator)
    trainable = {id(v) for network in networks for v in network.trainable_weights}

    def variables(trainable_only=False):
        return {
            f"{network.name}/{v.path}": np.array(v.numpy())
            for network in networks
            for v in network.weights
            if id(v) in trainable or not trainable_only
        }

    before = variables(trainable_only=True)
    history = model.fit(tf.data.Dataset.from_tensors(batch), epochs=1, verbose=0).history
    after = variables()
    return {
        "replicas": strategy.num_replicas_in_sync,
        "update": max(float(np.max(np.abs(after[n] - before[n]))) for n in before),
        "variables": after,
        "iterations": [
            int(model.generator_optimizer.iterations.numpy()),
            int(model.discriminator_optimizer.iterations.numpy()),
        ],
        "losses": {name: float(values[0]) for name, values in history.items()},
    }


def main():
    import numpy as np
    import tensorflow as tf

    cpu = tf.config.list_physical_devices("CPU")[0]
    tf.config.set_logical_device_configuration(cpu, [tf.config.LogicalDeviceConfiguration()] * 2)

    from helpers.training import random_batch, tiny_config

    config = tiny_config()  # with the perceptual losses, on random VGG features
    batch = random_batch(batch_size=4)
    runs = [
        _one_step(strategy, batch, config)
        for strategy in (
            tf.distribute.get_strategy(),
            tf.distribute.MirroredStrategy(["CPU:0", "CPU:1"]),
        )
    ]
    one, two = (run["variables"] for run in runs)
    differences = {name: float(np.max(np.abs(one[name] - two[name]))) for name in one}
    worst = max(differences, key=differences.get)
    print(
        json.dumps(
            {
                "replicas": [run["replicas"] for run in runs],
                "largest_update": runs[0]["update"],
                "largest_difference": differences[worst],
                "worst_variable": worst,
                "iterations": [run["iterations"] for run in runs],
                "losses": {
                    name: [run["losses"][name] for run in runs] for name in runs[0]["losses"]
                },
            }
        )
    )


if __name__ == "__main__":
    main()
