"""TorchAdam: `torch.optim.Adam`'s update, Keras' variables (old backups resume), serialization."""

import json

import keras
import numpy as np
import pytest
import tensorflow as tf

from dptn_tf import training
from dptn_tf.config import load_config
from dptn_tf.training.backups import Backup
from dptn_tf.training.optimizers import TorchAdam
from dptn_tf.training.schedules import ConstantThenLinearDecay
from helpers.training import compiled_model, fit_one_step, random_batch, tiny_config

# Gradients from 1e-8 (PyTorch's epsilon, where Keras' update differs most) to 1.
GRADIENT_SCALES = np.array([1e-8, 1e-6, 1e-4, 1e-2, 1.0], "float32")


def _gradients(steps, seed=0):
    rng = np.random.default_rng(seed)
    return [
        (rng.standard_normal((5, 40)) * GRADIENT_SCALES[:, None]).astype("float32")
        for _ in range(steps)
    ]


def test_update_equals_torch_adam_element_by_element():
    torch = pytest.importorskip("torch")
    schedule = ConstantThenLinearDecay(2e-4, steps_per_epoch=1, niter=1, niter_decay=2)
    # Small weights, so that float32 rounding of a weight is far below the tolerance.
    initial = np.random.default_rng(1).uniform(-0.01, 0.01, (5, 40)).astype("float32")
    variable = keras.Variable(initial)
    optimizer = TorchAdam(schedule, beta_1=0.5, beta_2=0.999)
    parameter = torch.nn.Parameter(torch.from_numpy(initial.copy()))
    reference = torch.optim.Adam([parameter], lr=2e-4, betas=(0.5, 0.999))
    rates = torch.optim.lr_scheduler.LambdaLR(
        reference, lambda epoch: float(schedule(epoch)) / 2e-4
    )
    for gradient in _gradients(3):
        before = variable.numpy().astype("float64")
        lr = float(reference.param_groups[0]["lr"])
        optimizer.apply_gradients([(tf.constant(gradient), variable)])
        parameter.grad = torch.from_numpy(gradient.copy())
        reference.step()
        rates.step()
        ours = variable.numpy() - before
        theirs = parameter.detach().numpy() - before
        np.testing.assert_allclose(ours / lr, theirs / lr, rtol=0, atol=1e-4)
    assert int(optimizer.iterations) == 3
    assert lr == pytest.approx(2e-4 / 3)  # the third step ran on the decayed rate


def test_differs_from_keras_adam_where_the_gradient_is_tiny():
    """The bug it fixes: Keras' Adam moves a weight with |g| ~ 1e-8 by a fraction of lr less."""
    gradient = _gradients(1)[0]
    moves = {}
    for name, optimizer in (
        ("torch", TorchAdam(1e-3, beta_1=0.5)),
        ("keras", keras.optimizers.Adam(1e-3, beta_1=0.5, epsilon=1e-8)),
    ):
        variable = keras.Variable(np.zeros_like(gradient))
        optimizer.apply_gradients([(tf.constant(gradient), variable)])
        moves[name] = -variable.numpy() / 1e-3
    # At step 1 the bias-corrected m / sqrt(v) is g / |g|: PyTorch moves each weight by
    # lr * g / (|g| + eps), Keras by lr * g / (|g| + eps / sqrt(1 - beta_2)).
    np.testing.assert_allclose(moves["torch"], gradient / (np.abs(gradient) + 1e-8), rtol=1e-5)
    assert np.abs(moves["torch"][0] - moves["keras"][0]).max() > 0.3  # the |g| ~ 1e-8 row


def test_both_networks_use_it():
    generator_optimizer, discriminator_optimizer = training.make_optimizers(
        load_config(None).train, steps_per_epoch=10
    )
    assert isinstance(generator_optimizer, TorchAdam)
    assert isinstance(discriminator_optimizer, TorchAdam)
    assert generator_optimizer.epsilon == 1e-8


def test_serialization_round_trip():
    optimizer = TorchAdam(ConstantThenLinearDecay(2e-4, 10, 1, 1), beta_1=0.5)
    config = json.loads(json.dumps(keras.optimizers.serialize(optimizer)))
    assert config["registered_name"] == "dptn_tf>TorchAdam"
    restored = keras.optimizers.deserialize(config)
    assert isinstance(restored, TorchAdam)
    assert restored.beta_1 == 0.5 and restored.epsilon == 1e-8
    with pytest.raises(ValueError, match="amsgrad"):
        TorchAdam(amsgrad=True)


def test_a_backup_written_with_keras_adam_resumes_with_its_moments(tmp_path):
    """Backups written before TorchAdam (Keras Adam's iterations, m and v) restore into it
    unchanged; from then on the updates are PyTorch's, from those moments."""
    config = tiny_config("loss.lambda_content=0", "loss.lambda_style=0")
    old = compiled_model(config)
    # What `make_optimizers` returned before TorchAdam.
    old_optimizers = [
        keras.optimizers.Adam(
            ConstantThenLinearDecay(2e-4 * ratio, 1, 100, 100), beta_1=0.5, epsilon=1e-8, name=name
        )
        for ratio, name in ((1.0, "generator_optimizer"), (0.1, "discriminator_optimizer"))
    ]
    old.compile(*old_optimizers, run_eagerly=True)
    fit_one_step(old, random_batch())
    backup = Backup(tmp_path, old, steps_per_epoch=1)
    backup.set_model(old)
    backup.on_epoch_end(0)

    new = compiled_model(config)
    assert isinstance(new.generator_optimizer, TorchAdam)
    assert Backup(tmp_path, new, steps_per_epoch=1).restore() == 1
    for name in ("generator_optimizer", "discriminator_optimizer"):
        before, after = getattr(old, name), getattr(new, name)
        assert int(after.iterations) == 1
        for kind in ("_momentums", "_velocities"):
            for a, b in zip(getattr(before, kind), getattr(after, kind), strict=True):
                np.testing.assert_array_equal(a.numpy(), b.numpy())
    for a, b in zip(old.generator.get_weights(), new.generator.get_weights(), strict=True):
        np.testing.assert_array_equal(a, b)
    assert np.isfinite(fit_one_step(new, random_batch(seed=1))["total_gen"][0])
    assert int(new.generator_optimizer.iterations) == 2
