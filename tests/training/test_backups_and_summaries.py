"""Backups (round trip, epoch check), the non-finite-loss stop, sample grids."""

import math

import numpy as np
import pytest
import tensorflow as tf

from dptn_tf.training.backups import Backup, NonFiniteTrainingError, StopOnNonFiniteLoss
from dptn_tf.training.summaries import SAMPLE_COLUMNS, SampleImages
from dptn_tf.visualization import to_uint8
from helpers.training import compiled_model, random_batch, tiny_config

STEPS_PER_EPOCH = 2


def optimizer_state(model) -> list:
    return [
        v.numpy()
        for optimizer in (model.generator_optimizer, model.discriminator_optimizer)
        for v in optimizer.variables
    ]


def network_weights(model) -> list:
    return model.generator.get_weights() + model.discriminator.get_weights()


@pytest.fixture(scope="module")
def config():
    return tiny_config("loss.lambda_content=0", "loss.lambda_style=0")


@pytest.fixture(scope="module")
def data():
    return tf.data.Dataset.from_tensors(random_batch()).repeat()


@pytest.fixture(scope="module")
def trained(config, data, tmp_path_factory):
    """A model after one epoch, with its backup."""
    directory = tmp_path_factory.mktemp("backup")
    model = compiled_model(config)
    model.fit(
        data,
        epochs=1,
        steps_per_epoch=STEPS_PER_EPOCH,
        verbose=0,
        callbacks=[Backup(directory, model, STEPS_PER_EPOCH)],
    )
    return model, directory


def test_backup_restores_networks_optimizers_and_epoch(config, trained):
    model, directory = trained
    fresh = compiled_model(config)
    assert Backup(directory, fresh, STEPS_PER_EPOCH).restore() == 1
    for restored, saved in zip(
        network_weights(fresh) + optimizer_state(fresh),
        network_weights(model) + optimizer_state(model),
    ):
        np.testing.assert_array_equal(restored, saved)
    assert float(fresh.generator_optimizer.learning_rate) == pytest.approx(2e-4)


def test_without_backup_training_starts_at_epoch_0(config, tmp_path):
    assert Backup(tmp_path, compiled_model(config), STEPS_PER_EPOCH).restore() == 0


def test_restore_refuses_a_backup_from_another_epoch_length(config, trained):
    _, directory = trained
    with pytest.raises(ValueError, match="not the end of an epoch of 3 steps"):
        Backup(directory, compiled_model(config), 3).restore()


def test_non_finite_loss_stops_before_the_backup(trained, data):
    """A NaN step raises out of `fit` at once: the epoch's backup is not written, the last good
    one stays, and the message names it."""
    model, directory = trained
    saved = tf.train.latest_checkpoint(str(directory))
    weights = network_weights(model)
    backup = Backup(directory, model, STEPS_PER_EPOCH)
    backup.restore()
    model.generator.set_weights([np.full_like(w, np.nan) for w in model.generator.get_weights()])
    try:
        with pytest.raises(
            NonFiniteTrainingError, match=rf"at step 3; .*last good backup is {saved} \(step 2\)"
        ):
            model.fit(
                data,
                epochs=2,
                initial_epoch=1,
                steps_per_epoch=STEPS_PER_EPOCH,
                verbose=0,
                callbacks=[StopOnNonFiniteLoss(backup), backup],
            )
    finally:
        count = len(model.generator.get_weights())
        model.generator.set_weights(weights[:count])
        model.discriminator.set_weights(weights[count:])
    assert tf.train.latest_checkpoint(str(directory)) == saved
    reader = tf.train.load_checkpoint(saved)
    for name in reader.get_variable_to_shape_map():
        value = reader.get_tensor(name)
        if isinstance(value, np.ndarray) and value.dtype.kind == "f":
            assert np.all(np.isfinite(value)), name


def test_finite_losses_pass(trained):
    model, directory = trained
    guard = StopOnNonFiniteLoss(Backup(directory, model, STEPS_PER_EPOCH))
    guard.set_model(model)
    guard.on_train_batch_end(0, {"app_gen_t": 1.5, "ad_gen_t": np.float32(0.2)})
    with pytest.raises(NonFiniteTrainingError, match=r"\(ad_gen_t, app_gen_t\)"):
        guard.on_train_batch_end(0, {"app_gen_t": math.inf, "ad_gen_t": math.nan})


def test_sample_grid_and_png(trained, tmp_path):
    model, _ = trained
    batch = random_batch(batch_size=3)
    keypoints = np.full((3, 18, 2), -1.0, np.float32)
    keypoints[:, 1] = (10.0, 8.0)  # the neck only
    batch |= {"source_keypoints": keypoints, "target_keypoints": keypoints}
    writer = tf.summary.create_file_writer(str(tmp_path / "logs"))
    samples = SampleImages(writer, batch, old_size=(32, 32), every=5, directory=tmp_path)
    samples.set_model(model)
    grid = samples.grid()
    assert grid.shape == (3 * 34 + 2, len(SAMPLE_COLUMNS) * 34 + 2, 3)
    # Row 0: the source image, then its skeleton on black, with the neck joint drawn.
    np.testing.assert_array_equal(grid[2:34, 2:34], to_uint8(batch["source_image"][0]))
    assert grid[2 + 10, 36 + 8].any() and not grid[2 + 30, 36 + 30].any()
    samples.write(7)
    png = tf.io.decode_png((tmp_path / "step-0000007.png").read_bytes())
    np.testing.assert_array_equal(png.numpy(), grid)
