"""The "lambda" learning-rate policy: values at epoch boundaries, optimizer use, serialization."""

import json

import keras
import numpy as np
import pytest

from dptn_tf.training.schedules import ConstantThenLinearDecay

LR, STEPS_PER_EPOCH, NITER, NITER_DECAY = 2e-4, 10, 3, 4


def _schedule():
    return ConstantThenLinearDecay(LR, STEPS_PER_EPOCH, NITER, NITER_DECAY)


@pytest.mark.parametrize(
    "step, factor",
    [
        (0, 1.0),  # epoch 1
        (29, 1.0),  # last step of epoch 3 = niter
        (30, 1 - 1 / 5),  # epoch 4, the first decayed one
        (39, 1 - 1 / 5),
        (40, 1 - 2 / 5),  # epoch 5
        (69, 1 - 4 / 5),  # last step of epoch 7 = niter + niter_decay
        (70, 0.0),  # past the end of training
        (1000, 0.0),  # never negative
    ],
)
def test_rate_at_epoch_boundaries(step, factor):
    np.testing.assert_allclose(_schedule()(step), LR * factor, rtol=1e-6)


def test_matches_the_reference_lambda_lr_stepped_per_epoch():
    torch = pytest.importorskip("torch", reason="the reference scheduler is PyTorch's LambdaLR")
    iter_start = 1  # the reference's train.py sets opt.iter_start = start_epoch = 1

    def lambda_rule(epoch):
        return 1.0 - max(0, epoch + iter_start - NITER) / float(NITER_DECAY + 1)

    optimizer = torch.optim.SGD([torch.zeros(1, requires_grad=True)], lr=LR)
    reference = torch.optim.lr_scheduler.LambdaLR(optimizer, lr_lambda=lambda_rule)
    schedule = _schedule()
    for epoch in range(NITER + NITER_DECAY):
        for step in (epoch * STEPS_PER_EPOCH, (epoch + 1) * STEPS_PER_EPOCH - 1):
            np.testing.assert_allclose(schedule(step), reference.get_last_lr()[0], rtol=1e-6)
        optimizer.step()
        reference.step()


def test_driven_by_the_optimizer_iterations():
    optimizer = keras.optimizers.Adam(learning_rate=_schedule(), beta_1=0.5)
    optimizer.build([keras.Variable(np.zeros(2, "float32"))])
    optimizer.iterations.assign(45)
    np.testing.assert_allclose(optimizer.learning_rate, LR * (1 - 2 / 5), rtol=1e-6)


def test_serialization_round_trip():
    schedule = _schedule()
    config = json.loads(json.dumps(keras.optimizers.serialize(keras.optimizers.Adam(schedule))))
    assert config["config"]["learning_rate"]["registered_name"] == "dptn_tf>ConstantThenLinearDecay"
    optimizer = keras.optimizers.deserialize(config)
    optimizer.build([keras.Variable(np.zeros(2, "float32"))])
    optimizer.iterations.assign(69)
    np.testing.assert_allclose(optimizer.learning_rate, schedule(69))
    restored = keras.saving.deserialize_keras_object(keras.saving.serialize_keras_object(schedule))
    assert isinstance(restored, ConstantThenLinearDecay)
    assert restored.get_config() == schedule.get_config()


@pytest.mark.parametrize(
    "arguments, field",
    [((0, 3, 4), "steps_per_epoch"), ((10, -1, 4), "niter"), ((10, 3, 2.5), "niter_decay")],
)
def test_rejects_bad_counts(arguments, field):
    with pytest.raises(ValueError, match=field):
        ConstantThenLinearDecay(LR, *arguments)
