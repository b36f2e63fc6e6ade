"""Typed configuration: dataclasses with the official DPTN defaults, loaded from YAML.

A run's configuration is one `Config`, built from `configs/*.yaml` and then from command-line
overrides of the form `section.field=value` (for example `train.batch_size=4`). Unknown keys are
errors, so a typo never silently falls back to a default. PyYAML is imported where YAML is read
or written: `import dptn_tf` must work in the TensorFlow-free install of the LiteRT and ONNX
runtimes (numpy, pillow and a runtime), which reads no configuration.
"""

from __future__ import annotations

import dataclasses
import types
import typing
from dataclasses import dataclass, field
from pathlib import Path

from dptn_tf.files import is_url
from dptn_tf.files.text import read_utf8

# The repository's configs/ folder: the official settings of each data set and the quickstart's.
CONFIGS_DIR = Path(__file__).resolve().parents[1] / "configs"
DATASETS = ("fashion", "market")  # configs/<name>.yaml

# What a training run directory (`TrainConfig.run_dir`) holds, besides the lock and the
# temporaries of killed writes: named here so that every layer reading a run (inference, export,
# the demo, conversion) spells them as training writes them (`dptn_tf.training.run_directory`).
CONFIG_NAME = "config.yaml"  # the resolved configuration
BACKUP_DIR = "backup"  # both networks and both optimizers at each epoch's end
LOGS_DIR = "logs"  # TensorBoard
SAMPLES_DIR = "samples"  # PNG sample grids
GENERATOR_NAME = "generator.keras"  # the float32 inference generator, at the end
PRESET_DIR = "preset"  # the same generator and the discriminator as a preset (dptn_tf.presets)
VALIDATION_NAME = "validation.json"  # the final figures, at the end

# `TrainConfig.strategy`: see `dptn_tf.training.distribute.select_strategy`.
STRATEGIES = ("auto", "default", "mirrored", "multiworker")


def resumable(default):
    """A field that a resumed run may change: it steers how the run goes on (rates, epochs,
    intervals, workers, logging) or says where its files are, not what the run is. Every other
    field must match the run directory's `config.yaml` (`dptn_tf.training.run_directory`);
    deciding which kind a new field is, is part of adding it."""
    return field(default=default, metadata={"resumable": True})


@dataclass
class ModelConfig:
    """Generator and discriminator hyper-parameters (official defaults, `docs/design.md`)."""

    ngf: int = 64
    img_f: int = 512
    layers: int = 3
    num_blocks: int = 3
    nhead: int = 2
    num_cabs: int = 2
    num_ttbs: int = 2
    # False: the ablation without the Pose Transformer Module (F_st decoded directly, no source
    # encoder, CAB or TTB); the source-to-source task still trains the shared encoder/decoder.
    pose_transformer: bool = True
    image_channels: int = 3
    pose_channels: int = 18
    dis_ndf: int = 32
    dis_img_f: int = 128
    dis_layers: int = 4
    negative_slope: float = 0.1
    norm_epsilon: float = 1e-5
    # The initial weights (`dptn_tf.models.initialization`): "official" draws them as the
    # official code does (orthogonal kernels of gain 0.02: configs/fashion.yaml and market.yaml),
    # "keras" keeps Keras' Glorot-uniform, 10-50x larger, whose untrained generator already draws
    # its inputs (the official one draws flat grey) and from which the small CPU configurations
    # learn within their budget (docs/benchmarks.md). Resumable: a resumed run restores weights.
    init: str = resumable("keras")

    @property
    def bottleneck_channels(self) -> int:
        """Channels of the H/8 features the PTM works on (`ngf * m` of the last encoder layer)."""
        mult = 1
        for i in range(self.layers - 1):
            mult = min(2 ** (i + 1), self.img_f // self.ngf)
        return self.ngf * mult


@dataclass
class DataConfig:
    """Where the PATN-format data lives and how it is turned into batches."""

    root: str = resumable("data/synthetic")
    prefix: str = "synthetic"
    load_size: tuple[int, int] = (128, 64)
    old_size: tuple[int, int] = (128, 64)
    sigma: float = 6.0
    batch_size: int = 8
    shuffle_buffer: int = resumable(2048)
    seed: int | None = resumable(None)
    deterministic: bool = resumable(False)
    num_parallel_calls: int | None = resumable(None)  # None: tf.data.AUTOTUNE
    check_images: bool = resumable(True)  # decode every image once before training starts


@dataclass
class LossConfig:
    """Weights of the dual-task objective (DeepFashion defaults)."""

    lambda_rec: float = 5.0
    lambda_g: float = 2.0
    lambda_content: float = 0.5
    lambda_style: float = 500.0
    t_s_ratio: float = 0.5
    gan_mode: str = "lsgan"
    vgg_weights: str = "torchvision"
    vgg_path: str | None = resumable(None)


@dataclass
class TrainConfig:
    """Optimisation, schedule, logging and run-directory settings."""

    run_dir: str = "runs/default"
    lr: float = resumable(2e-4)
    beta1: float = 0.5
    beta2: float = 0.999
    d_lr_ratio: float = resumable(0.1)
    niter: int = resumable(100)
    niter_decay: int = resumable(100)
    steps_per_epoch: int | None = None  # None: one pass over the training pairs
    validation_steps: int | None = resumable(None)  # None: the whole test split
    log_every: int = resumable(100)  # steps between TensorBoard scalars
    image_every: int = resumable(500)  # steps between sample grids
    sample_pairs: int = resumable(4)  # test pairs (rows) in a sample grid
    keep_backups: int = resumable(2)  # backups of the last epochs kept in <run_dir>/backup
    strategy: str = resumable("auto")
    # None: bfloat16 on CPUs that compute it natively, float32 elsewhere (the console says which,
    # and config.yaml records it); true: float16 on GPUs, bfloat16 on CPUs; false: float32.
    mixed_precision: bool | None = None
    jit_compile: bool = resumable(False)
    seed: int = resumable(0)


@dataclass
class Config:
    """Everything one run needs."""

    model: ModelConfig = field(default_factory=ModelConfig)
    data: DataConfig = field(default_factory=DataConfig)
    loss: LossConfig = field(default_factory=LossConfig)
    train: TrainConfig = field(default_factory=TrainConfig)

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)

    @classmethod
    def resumable_fields(cls) -> frozenset[str]:
        """`section.field` of every field marked `resumable`."""
        hints = typing.get_type_hints(cls)
        return frozenset(
            f"{section.name}.{item.name}"
            for section in dataclasses.fields(cls)
            for item in dataclasses.fields(hints[section.name])
            if item.metadata.get("resumable")
        )

    def to_yaml(self) -> str:
        import yaml  # here, not at the top: see the module's docstring

        return yaml.safe_dump(_plain(self.to_dict()), sort_keys=False)


def _plain(value):
    """Tuples become lists so that `yaml.safe_dump` writes plain YAML."""
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    return value


def _coerce(value, annotation, where: str):
    """Convert a YAML/CLI value to a field's annotated type, or raise naming the field."""
    origin = typing.get_origin(annotation)
    args = typing.get_args(annotation)
    if origin in (typing.Union, types.UnionType):
        if value is None and type(None) in args:
            return None
        if isinstance(value, str) and value.lower() in ("none", "null") and type(None) in args:
            return None
        inner = [a for a in args if a is not type(None)]
        return _coerce(value, inner[0], where)
    if origin is tuple:
        if isinstance(value, str):
            import yaml

            try:
                value = yaml.safe_load(value)
            except yaml.YAMLError:
                pass  # refused just below, as any other non-list
        if not isinstance(value, (list, tuple)) or len(value) != len(args):
            raise ValueError(f"{where}: expected a list of {len(args)} values, got {value!r}")
        return tuple(_coerce(v, a, where) for v, a in zip(value, args))
    if annotation is bool:
        if isinstance(value, str):
            if value.lower() in ("true", "1", "yes"):
                return True
            if value.lower() in ("false", "0", "no"):
                return False
        if isinstance(value, bool):
            return value
        raise ValueError(f"{where}: expected true/false, got {value!r}")
    if annotation in (int, float, str):
        try:
            if annotation is int and isinstance(value, float) and not value.is_integer():
                raise ValueError
            return annotation(value)
        except (TypeError, ValueError):
            raise ValueError(f"{where}: expected {annotation.__name__}, got {value!r}") from None
    return value


def _update(section, values: dict, source: str, prefix: str = ""):
    """Set `values` on the dataclass `section`; errors name `source` and the field."""
    hints = typing.get_type_hints(type(section))
    names = {f.name for f in dataclasses.fields(section)}
    for key, value in values.items():
        name = f"{prefix}{key}"
        if key not in names:
            raise ValueError(f"{source}: unknown key '{name}' (known: {', '.join(sorted(names))})")
        current = getattr(section, key)
        if dataclasses.is_dataclass(current):
            if not isinstance(value, dict):
                raise ValueError(
                    f"{source}: {name}: expected a mapping of its fields, got {value!r}"
                )
            _update(current, value, source, f"{name}.")
        else:
            setattr(section, key, _coerce(value, hints[key], f"{source}: {name}"))


def apply_overrides(config: Config, overrides: list[str]) -> Config:
    """Apply `section.field=value` strings (values parsed as YAML) to `config` in place."""
    import yaml

    for item in overrides:
        if "=" not in item:
            raise ValueError(f"--set {item}: expected section.field=value")
        key, raw = item.split("=", 1)
        try:
            value = yaml.safe_load(raw) if raw.strip() else raw
        except yaml.YAMLError:
            raise ValueError(f"--set {item}: the value is not valid YAML") from None
        *path, leaf = key.strip().split(".")
        nested: dict = {leaf: value}
        for part in reversed(path):
            nested = {part: nested}
        _update(config, nested, "--set")
    return config


def read_yaml_mapping(path: str | Path) -> dict:
    """A YAML file's top-level mapping; raises ValueError naming the file and what is wrong."""
    import yaml

    try:
        values = yaml.safe_load(read_utf8(path))
    except yaml.YAMLError as error:
        mark = getattr(error, "problem_mark", None)
        where = f"line {mark.line + 1}, column {mark.column + 1}: " if mark else ""
        problem = getattr(error, "problem", None) or str(error).splitlines()[0]
        raise ValueError(f"{path}: {where}not valid YAML ({problem})") from None
    if values is None:
        raise ValueError(
            f"{path}: the file is empty; expected a mapping of sections (model, data, loss, train)"
        )
    if not isinstance(values, dict):
        raise ValueError(
            f"{path}: expected a mapping of sections (model, data, loss, train), "
            f"got {type(values).__name__}"
        )
    return values


def load_config(path: str | Path | None = None, overrides: list[str] | None = None) -> Config:
    """Read a YAML file (sections `model`, `data`, `loss`, `train`; a local path or a URL) over
    the defaults.

    Every error is a ValueError (FileNotFoundError for a missing file) naming the file (or
    `--set`) and the field.
    """
    config = Config()
    if path is not None:
        try:
            values = read_yaml_mapping(path)
        except (FileNotFoundError, IsADirectoryError):
            raise FileNotFoundError(f"config file not found: {path}") from None
        _update(config, values, str(path))
    return apply_overrides(config, overrides or [])


def resolve_relative(path: str, config_file: str | Path | None) -> str:
    """A path a configuration file names (a run's `data.root`), as the folder it means from here.

    `train.py` records `data.root` in the run's `config.yaml` as it was given, so a relative root
    means the folder it named from where `train.py` ran (usually the project folder holding
    `runs/<name>`); no absolute path is recorded, so a run directory reads the same after the
    project is moved or copied. From another working directory that folder is found like this:
    the path as given, if it exists from the current directory (the folder every command-line
    tool reads); else the first folder above `config_file`, nearest first, from which it exists
    (for `<project>/runs/<name>/config.yaml`, `<project>`; for `configs/fashion.yaml`, the
    repository). An absolute path, a URL, a path found nowhere or one without `config_file`
    comes back as given, for the caller's message to name.
    """
    if config_file is None or is_url(path) or is_url(config_file) or Path(path).is_absolute():
        return path
    if Path(path).exists():
        return path
    for folder in Path(config_file).resolve().parents:
        if (folder / path).exists():
            return str(folder / path)
    return path
