"""One training run, phase by phase: `prepare` (strategy, precision, data, run directory),
`build` (the compiled model and its backups), `make_callbacks`, `fit`, `finalize` (the final
figures over the whole test split, `generator.keras`, the preset and `validation.json`). `train`
chains them.

`dptn_tf.cli.train` (`train.py`, `dptn-train`) is the command line; tests and benchmarks call the
phases directly.
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
from pathlib import Path

import keras
import tensorflow as tf

from dptn_tf.config import (
    BACKUP_DIR,
    CONFIG_NAME,
    GENERATOR_NAME,
    LOGS_DIR,
    PRESET_DIR,
    SAMPLES_DIR,
    VALIDATION_NAME,
    Config,
    load_config,
)
from dptn_tf.data import PatnSplit, load_split, make_dataset, one_batch
from dptn_tf.files import is_url
from dptn_tf.files.atomic import atomic_path, write_atomically
from dptn_tf.files.finite import model_weights, require_finite
from dptn_tf.files.text import read_utf8
from dptn_tf.presets import save_preset
from dptn_tf.training.backups import Backup, StopOnNonFiniteLoss
from dptn_tf.training.distribute import (
    broadcast_from_chief,
    choose_precision,
    describe,
    distributed_batches,
    evaluation_steps,
    is_chief,
    is_multi_worker,
    select_strategy,
    set_precision,
)
from dptn_tf.training.model import (
    DPTN,
    build_dptn,
    copy_source_baseline,
    float32_inference_generator,
    global_step,
    make_optimizers,
)
from dptn_tf.training.progress import ProgressLines
from dptn_tf.training.run_directory import hold_run_directory, resume_or_record, run_file
from dptn_tf.training.summaries import SampleImages, TrainingSummaries


@dataclasses.dataclass
class Setup:
    """What `prepare` checked and loaded before anything is built."""

    strategy: tf.distribute.Strategy
    chief: bool
    train_index: PatnSplit
    test_index: PatnSplit
    steps_per_epoch: int
    finished: str | None  # `finished_message`, when there is nothing to train


def prepare(config: Config, run_directory: contextlib.ExitStack) -> Setup:
    """Strategy, precision, data and run directory; raises on a bad configuration or data set,
    or a run directory in use. The chief holds the run directory until `run_directory` closes.
    Records the resolved `train.steps_per_epoch` in `config` (a resume compares it)."""
    strategy = select_strategy(config.train.strategy)
    chief = is_chief(strategy)
    if chief:
        run_directory.enter_context(hold_run_directory(config.train.run_dir))
    mixed, why = _precision(config, chief)
    if is_multi_worker(strategy):  # every worker computes in the chief's precision
        decided = tf.Variable(float(mixed), dtype=tf.float64)
        broadcast_from_chief(strategy, [decided])
        mixed = bool(decided.numpy())
    config.train.mixed_precision = mixed  # config.yaml records it resolved
    policy = set_precision(mixed)
    if chief:
        print(f"Precision: {policy} ({why})", flush=True)
    make_data_if_missing(config)
    data = config.data
    train_index, test_index = (
        load_split(
            data.root, split, data.prefix, old_size=data.old_size, check_images=data.check_images
        )
        for split in ("train", "test")
    )
    steps_per_epoch = config.train.steps_per_epoch or train_index.num_pairs // data.batch_size
    if steps_per_epoch < 1:
        raise ValueError(
            f"{data.root}: {train_index.num_pairs} training pairs do not fill one "
            f"batch of data.batch_size={data.batch_size}"
        )
    if data.batch_size % strategy.num_replicas_in_sync:
        raise ValueError(
            f"data.batch_size={data.batch_size} cannot be split evenly over "
            f"{strategy.num_replicas_in_sync} replicas"
        )
    config.train.steps_per_epoch = steps_per_epoch
    if chief:
        resume_or_record(config)
    finished = finished_message(config, steps_per_epoch)
    return Setup(strategy, chief, train_index, test_index, steps_per_epoch, finished)


def _precision(config: Config, chief: bool) -> tuple[bool, str]:
    """`train.mixed_precision` resolved (`choose_precision`) -> (mixed, why). A resumed run left
    to the default goes on with the `train.mixed_precision` its directory records (the chief
    reads it: the other workers may have no access to the run directory)."""
    if config.train.mixed_precision is None and chief:
        try:
            recorded = load_config(run_file(config, CONFIG_NAME)).train.mixed_precision
        except FileNotFoundError:
            recorded = None
        if recorded is not None:
            return recorded, f"as the run's {CONFIG_NAME} records"
    return choose_precision(config.train.mixed_precision)


def make_data_if_missing(config: Config) -> None:
    """Make the synthetic data set when the configuration names it and its root is absent."""
    from dptn_tf.data.synthetic import make_synthetic_dataset

    root = Path(config.data.root)
    if is_url(config.data.root) or root.exists() or config.data.prefix != "synthetic":
        return
    print(f"Making the synthetic data set in {root} ...", flush=True)
    make_synthetic_dataset(root, image_size=tuple(config.data.old_size), prefix="synthetic")


def finished_message(config: Config, steps_per_epoch: int) -> str | None:
    """What to tell the user when the run directory holds a finished run of `config`, else None."""
    run_dir = config.train.run_dir.rstrip("/")
    figures = f"{run_dir}/{VALIDATION_NAME}"
    try:
        step = json.loads(read_utf8(figures))["step"]
    except FileNotFoundError:
        return None
    train = config.train
    if step < (train.niter + train.niter_decay) * steps_per_epoch:
        return None  # epochs were added since it finished
    return (
        f"{run_dir} holds a finished run ({step // steps_per_epoch} epochs, {step} steps): "
        f"nothing to train. Its figures are in {figures}, its generator in "
        f"{run_dir}/{GENERATOR_NAME}.\n"
        f"To train it further, give it more epochs (for example --set "
        f"train.niter_decay={train.niter_decay + train.niter}): it resumes at step {step}.\n"
        f"To train a new run, give another run directory (for example --run-dir "
        f"{run_dir}-2), or delete {run_dir}."
    )


def build(config: Config, setup: Setup) -> tuple[DPTN, Backup]:
    """The compiled training model, in the strategy's scope, and the backups it resumes from."""
    keras.utils.set_random_seed(config.train.seed)
    with setup.strategy.scope():
        model = build_dptn(config)
        model.compile(
            *make_optimizers(config.train, setup.steps_per_epoch),
            jit_compile=config.train.jit_compile,
        )
    backup = Backup(
        run_file(config, BACKUP_DIR),
        model,
        setup.steps_per_epoch,
        keep=config.train.keep_backups,
        strategy=setup.strategy,
    )
    return model, backup


def make_callbacks(config: Config, setup: Setup, backup: Backup, *, terminal: bool) -> list:
    """The non-finite stop and the backups everywhere; TensorBoard summaries, sample grids and
    (off a terminal) plain progress lines on the chief."""
    callbacks = [StopOnNonFiniteLoss(backup), backup]
    if not setup.chief:
        return callbacks
    logs = run_file(config, LOGS_DIR)  # TensorBoard's runs "train" and "validation"
    writer = tf.summary.create_file_writer(tf.io.gfile.join(logs, "train"))
    callbacks += [
        TrainingSummaries(
            writer,
            tf.summary.create_file_writer(tf.io.gfile.join(logs, "validation")),
            config.train.log_every,
            config.to_yaml(),
        ),
        SampleImages(
            writer,
            sample_batch(config, setup.test_index),
            config.data.old_size,
            config.train.image_every,
            run_file(config, SAMPLES_DIR),
        ),
    ]
    if not terminal:
        epochs = config.train.niter + config.train.niter_decay
        callbacks.append(ProgressLines(config.train.log_every, setup.steps_per_epoch, epochs))
    return callbacks


def sample_batch(config: Config, index: PatnSplit) -> dict:
    """`train.sample_pairs` test pairs spread over the split, as numpy arrays."""
    batch = one_batch(config.data, index.spread(config.train.sample_pairs))
    return {key: value.numpy() for key, value in batch.items()}


def fit(
    config: Config, setup: Setup, model: DPTN, callbacks: list, initial_epoch: int, *, verbose: int
) -> None:
    """Train from `initial_epoch` to the last epoch, validating at each epoch's end on
    `train.validation_steps` batches. Raises `NonFiniteTrainingError` at a non-finite loss."""
    epochs = config.train.niter + config.train.niter_decay
    if initial_epoch >= epochs:
        return  # a finished run stopped before its final report
    test_steps = evaluation_steps(config, setup.test_index)
    model.fit(
        distributed_batches(
            setup.strategy,
            config,
            setup.train_index,
            first_batch=initial_epoch * setup.steps_per_epoch,
        ),
        epochs=epochs,
        initial_epoch=initial_epoch,
        steps_per_epoch=setup.steps_per_epoch,
        validation_data=distributed_batches(setup.strategy, config, setup.test_index),
        validation_steps=min(config.train.validation_steps or test_steps, test_steps),
        callbacks=callbacks,
        verbose=verbose,
        shuffle=False,
    )  # the pipeline shuffles by itself


def finalize(config: Config, setup: Setup, model: DPTN) -> dict:
    """Figures over the whole test split (whatever `train.validation_steps` says) beside the
    copy-the-source baseline, printed; the chief writes the float32 inference generator and
    `validation.json`. -> the figures."""
    validation = distributed_batches(setup.strategy, config, setup.test_index)
    generated = model.evaluate(
        validation, steps=evaluation_steps(config, setup.test_index), return_dict=True, verbose=0
    )
    generated = {name: float(value) for name, value in generated.items()}
    baseline = copy_source_baseline(make_dataset(config.data, "test", index=setup.test_index))
    figures = {
        "generated": generated,
        "copy_source": baseline,
        "test_pairs": setup.test_index.num_pairs,
        "step": global_step(model),
    }
    print(report(figures))
    if setup.chief:
        generator_path = run_file(config, GENERATOR_NAME)
        generator = float32_inference_generator(model.generator, config)
        require_finite(model_weights(generator), generator_path)
        with atomic_path(generator_path) as temporary:
            generator.save(temporary)
        preset = save_preset(
            run_file(config, PRESET_DIR),
            generator,
            config.model,
            discriminator=model.discriminator,
            dataset=f"{config.data.prefix} ({config.data.root})",
            weights_from=f"train.py, run {config.train.run_dir}, step {figures['step']}",
        )
        write_atomically(run_file(config, VALIDATION_NAME), json.dumps(figures, indent=2) + "\n")
        print(
            f"Inference generator: {generator_path} (and the preset {preset}); "
            f"TensorBoard: tensorboard --logdir {run_file(config, LOGS_DIR)}"
        )
    return figures


def report(figures: dict) -> str:
    """The final figures as a small table, the generated target against the baseline."""
    rows = [
        ("generated target", figures["generated"]),
        ("copy the source (baseline)", figures["copy_source"]),
    ]
    lines = [
        f"Validation on {figures['test_pairs']} test pairs    "
        "L1 (lower)  SSIM (higher)  PSNR (higher)"
    ]
    lines += [
        f"  {name:<30} {m['l1']:10.4f}  {m['ssim']:13.4f}  {m['psnr']:13.2f}" for name, m in rows
    ]
    return "\n".join(lines)


def train(config: Config, setup: Setup, *, terminal: bool) -> dict:
    """Fit (resuming from the last backup), report the final figures, write the generator.

    Raises `BackupError` when no backup reads back whole (or one is from another epoch length),
    `NonFiniteTrainingError` at a non-finite loss. `terminal`: Keras' progress bar on the chief,
    else plain lines. -> the final figures.
    """
    print(f"Training on {describe(setup.strategy)}", flush=True)
    model, backup = build(config, setup)
    initial_epoch = backup.restore()
    callbacks = make_callbacks(config, setup, backup, terminal=terminal)
    fit(
        config, setup, model, callbacks, initial_epoch, verbose=1 if terminal and setup.chief else 0
    )
    return finalize(config, setup, model)
