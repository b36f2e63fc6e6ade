"""Import the official DPTN PyTorch checkpoints (`latest_net_G.pth`, `latest_net_D.pth`).

The importer works on a state dict of arrays, so code that already holds one needs no torch;
only `dptn_tf.convert.torch_files.load_torch_state_dict` reads a `.pth` file and imports torch
(an optional extra). Every setting the tensors determine (widths, depths, numbers of blocks) is
inferred from them; the number of attention heads is not visible in the weights and comes from
the caller. Every
key and shape is checked before any weight is assigned, and a state dict that does not fit is
refused with a `CheckpointError` naming the key and the shapes.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import keras
import numpy as np

from dptn_tf.config import ModelConfig
from dptn_tf.convert.torch_files import CheckpointError
from dptn_tf.files.weight_files import file_sha256
from dptn_tf.models import (
    build_discriminator,
    build_generator,
    generator_parts,
    inference_generator,
)


@dataclass(frozen=True)
class _Target:
    """One Keras variable filled from (part of) one checkpoint tensor."""

    variable: keras.Variable
    convert: Callable[[np.ndarray], np.ndarray]


def normalize_keys(state_dict: dict) -> dict[str, np.ndarray]:
    """Drop DataParallel's `module.` prefix and call the PTM `PTM.` whatever it was saved as."""
    normalized = {}
    for key, value in state_dict.items():
        key = key[len("module.") :] if key.startswith("module.") else key
        key = re.sub(r"^transformer\.", "PTM.", key)
        normalized[key] = np.asarray(value, dtype=np.float32)
    return normalized


def _require(state: dict, key: str, what: str) -> np.ndarray:
    if key not in state:
        raise CheckpointError(f"missing key '{key}' ({what}); is this a DPTN {what} state dict?")
    return state[key]


def _count(state: dict, pattern: str) -> int:
    """Number of consecutive indices i for which some key starts with pattern.format(i)."""
    count = 0
    while any(key.startswith(pattern.format(count)) for key in state):
        count += 1
    return count


def _cap(widths: list[int], default: int) -> int:
    """`img_f` (the width cap): the official default when it gives these widths, else the widest.

    Any cap at or above the widest layer builds the same network; preferring the default keeps
    the inferred configuration equal to the one the checkpoint was trained with.
    """
    base = widths[0]
    capped = [base] + [
        min(base * 2 ** (i + 1), default // base * base) for i in range(len(widths) - 1)
    ]
    return default if capped == widths else int(max(widths))


def infer_generator_config(state: dict, nhead: int = 2) -> ModelConfig:
    """Model settings a (normalised) generator state dict determines, plus `nhead`."""
    first = _require(state, "block0.model.0.weight", "generator")
    image = _require(state, "source_encoder.block0.model.0.weight", "generator")
    layers = 1 + _count(state, "encoder{}.")
    widths = [first.shape[0]] + [
        _require(state, f"encoder{i}.model.2.weight", "generator").shape[0]
        for i in range(layers - 1)
    ]
    image_channels = image.shape[1]
    return ModelConfig(
        ngf=int(first.shape[0]),
        img_f=_cap(widths, ModelConfig.img_f),
        layers=layers,
        num_blocks=_count(state, "mblock{}."),
        nhead=nhead,
        num_cabs=_count(state, "PTM.encoder.layers.{}."),
        num_ttbs=_count(state, "PTM.decoder.layers.{}."),
        image_channels=int(image_channels),
        pose_channels=int((first.shape[1] - image_channels) // 2),
    )


def infer_discriminator_config(state: dict, base: ModelConfig | None = None) -> ModelConfig:
    """`base` with the discriminator settings a (normalised) D state dict determines."""
    first = _require(state, "block0.model.0.weight_orig", "discriminator")
    layers = 1 + _count(state, "encoder{}.")
    widths = [first.shape[0]] + [
        _require(state, f"encoder{i}.model.3.weight_orig", "discriminator").shape[0]
        for i in range(layers - 1)
    ]
    return dataclasses.replace(
        base or ModelConfig(),
        dis_ndf=int(first.shape[0]),
        dis_img_f=_cap(widths, ModelConfig.dis_img_f),
        dis_layers=layers,
        image_channels=int(first.shape[1]),
    )


# Layout conversions, PyTorch -> Keras.
def _conv(w):  # Conv2d (out, in, kh, kw) and ConvTranspose2d (in, out, kh, kw) alike
    return w.transpose(2, 3, 1, 0)


def _same(w):
    return w


def _linear(w):
    return w.T


def _conv_entries(state_prefix: str, layer) -> dict[str, list[_Target]]:
    return {
        f"{state_prefix}.weight": [_Target(layer.kernel, _conv)],
        f"{state_prefix}.bias": [_Target(layer.bias, _same)],
    }


def _norm_entries(state_prefix: str, layer) -> dict[str, list[_Target]]:
    return {
        f"{state_prefix}.weight": [_Target(layer.gamma, _same)],
        f"{state_prefix}.bias": [_Target(layer.beta, _same)],
    }


def _dense_entries(state_prefix: str, layer) -> dict[str, list[_Target]]:
    return {
        f"{state_prefix}.weight": [_Target(layer.kernel, _linear)],
        f"{state_prefix}.bias": [_Target(layer.bias, _same)],
    }


def _attention_entries(state_prefix: str, layer) -> dict[str, list[_Target]]:
    """`nn.MultiheadAttention`'s packed q/k/v projection -> Keras' per-head projections."""
    projections = (layer.query_dense, layer.key_dense, layer.value_dense)

    def weight(index, kernel_shape):
        return lambda w: np.split(w, 3)[index].T.reshape(kernel_shape)

    def bias(index, bias_shape):
        return lambda b: np.split(b, 3)[index].reshape(bias_shape)

    output_shape = tuple(layer.output_dense.kernel.shape)
    return {
        f"{state_prefix}.in_proj_weight": [
            _Target(p.kernel, weight(i, tuple(p.kernel.shape))) for i, p in enumerate(projections)
        ],
        f"{state_prefix}.in_proj_bias": [
            _Target(p.bias, bias(i, tuple(p.bias.shape))) for i, p in enumerate(projections)
        ],
        f"{state_prefix}.out_proj.weight": [
            _Target(layer.output_dense.kernel, lambda w: w.T.reshape(output_shape))
        ],
        f"{state_prefix}.out_proj.bias": [_Target(layer.output_dense.bias, _same)],
    }


def _encoder_entries(prefix: str, model: keras.Model, config: ModelConfig) -> dict:
    layer = model.get_layer
    entries = {
        **_conv_entries(f"{prefix}block0.model.0", layer("block0_down_conv")),
        **_norm_entries(f"{prefix}block0.model.1", layer("block0_norm")),
        **_conv_entries(f"{prefix}block0.model.3", layer("block0_conv")),
    }
    for i in range(config.layers - 1):
        torch_prefix = f"{prefix}encoder{i}.model"
        entries.update(
            {
                **_norm_entries(f"{torch_prefix}.0", layer(f"encoder{i}_1_norm")),
                **_conv_entries(f"{torch_prefix}.2", layer(f"encoder{i}_down_conv")),
                **_norm_entries(f"{torch_prefix}.3", layer(f"encoder{i}_2_norm")),
                **_conv_entries(f"{torch_prefix}.5", layer(f"encoder{i}_conv")),
            }
        )
    return entries


def _generator_entries(generator: keras.Model, config: ModelConfig):
    """(tensor key -> targets, alias key -> canonical key) for the whole generator."""
    parts = generator_parts(generator)
    shared, decoder = parts["shared_encoder"].get_layer, parts["decoder"].get_layer
    entries = {
        **_encoder_entries("", parts["shared_encoder"], config),
        **_encoder_entries("source_encoder.", parts["source_encoder"], config),
    }
    aliases = {}
    for i in range(config.num_blocks):
        p = f"mblock{i}"
        entries.update(
            {
                **_norm_entries(f"{p}.model.0", shared(f"residual{i}_1_norm")),
                **_conv_entries(f"{p}.model.2", shared(f"residual{i}_conv1")),
                **_norm_entries(f"{p}.model.3", shared(f"residual{i}_2_norm")),
                **_conv_entries(f"{p}.model.5", shared(f"residual{i}_conv2")),
                **_conv_entries(f"{p}.shortcut.0", shared(f"residual{i}_shortcut")),
            }
        )
        for alias, canonical in (
            ("conv1", "model.2"),
            ("conv2", "model.5"),
            ("bypass", "shortcut.0"),
        ):
            for leaf in ("weight", "bias"):
                aliases[f"{p}.{alias}.{leaf}"] = f"{p}.{canonical}.{leaf}"
    for i in range(config.layers):
        p = f"decoder{i}"
        entries.update(
            {
                **_norm_entries(f"{p}.model.0", decoder(f"{p}_1_norm")),
                **_conv_entries(f"{p}.model.2", decoder(f"{p}_conv")),
                **_norm_entries(f"{p}.model.3", decoder(f"{p}_2_norm")),
                **_conv_entries(f"{p}.model.5", decoder(f"{p}_up_conv")),
                **_conv_entries(f"{p}.shortcut.0", decoder(f"{p}_shortcut")),
            }
        )
    entries.update(_conv_entries("outconv.model.2", decoder("output_conv")))
    for leaf in ("weight", "bias"):
        aliases[f"outconv.conv1.{leaf}"] = f"outconv.model.2.{leaf}"

    ptm = parts["pose_transformer"]
    for i, block in enumerate(ptm.context_augment_blocks):
        p = f"PTM.encoder.layers.{i}"
        entries.update(
            {
                **_attention_entries(f"{p}.self_attn", block.self_attention.attention),
                **_norm_entries(f"{p}.norm1", block.self_attention.norm),
                **_dense_entries(f"{p}.linear1", block.feedforward.inner),
                **_dense_entries(f"{p}.linear2", block.feedforward.outer),
                **_norm_entries(f"{p}.norm2", block.feedforward.norm),
            }
        )
    for i, block in enumerate(ptm.texture_transfer_blocks):
        p = f"PTM.decoder.layers.{i}"
        entries.update(
            {
                **_attention_entries(f"{p}.self_attn", block.self_attention.attention),
                **_norm_entries(f"{p}.norm1", block.self_attention.norm),
                **_attention_entries(f"{p}.multihead_attn", block.cross_attention.attention),
                **_norm_entries(f"{p}.norm2", block.cross_attention.norm),
                **_dense_entries(f"{p}.linear1", block.feedforward.inner),
                **_dense_entries(f"{p}.linear2", block.feedforward.outer),
                **_norm_entries(f"{p}.norm3", block.feedforward.norm),
            }
        )
    entries.update(_norm_entries("PTM.decoder.norm", ptm.output_norm))
    return entries, aliases


def _spectral_entries(state_prefix: str, layer) -> dict[str, list[_Target]]:
    return {
        f"{state_prefix}.weight_orig": [_Target(layer.kernel, _conv)],
        f"{state_prefix}.weight_u": [_Target(layer.u, _same)],
        f"{state_prefix}.weight_v": [_Target(layer.v, _same)],
        f"{state_prefix}.bias": [_Target(layer.bias, _same)],
    }


def _discriminator_entries(discriminator: keras.Model, config: ModelConfig):
    layer = discriminator.get_layer
    entries = {
        **_spectral_entries("block0.model.0", layer("block0_conv1")),
        **_spectral_entries("block0.model.2", layer("block0_conv2")),
        **_spectral_entries("block0.shortcut.1", layer("block0_shortcut")),
        **_spectral_entries("conv", layer("head_conv")),
    }
    for i in range(config.dis_layers - 1):
        entries.update(
            {
                **_spectral_entries(f"encoder{i}.model.1", layer(f"encoder{i}_conv1")),
                **_spectral_entries(f"encoder{i}.model.3", layer(f"encoder{i}_conv2")),
                **_spectral_entries(f"encoder{i}.shortcut.1", layer(f"encoder{i}_shortcut")),
            }
        )
    return entries, {}


def _assign(state: dict, entries: dict, aliases: dict, what: str) -> None:
    """Check every key and shape first, then assign: a refused state dict changes nothing."""
    expected = set(entries) | set(aliases)
    missing = sorted(expected - set(state))
    unexpected = sorted(set(state) - expected)
    if missing or unexpected:
        lines = [f"the {what} state dict does not match the inferred DPTN {what}:"]
        lines += [f"  missing key '{k}'" for k in missing[:20]]
        lines += [
            f"  unexpected key '{k}' with shape {tuple(state[k].shape)}" for k in unexpected[:20]
        ]
        if len(missing) + len(unexpected) > 40:
            lines.append(f"  ({len(missing)} missing, {len(unexpected)} unexpected in all)")
        raise CheckpointError("\n".join(lines))
    for alias, canonical in aliases.items():
        if not np.array_equal(state[alias], state[canonical]):
            raise CheckpointError(
                f"key '{alias}' should hold the same tensor as '{canonical}' "
                f"(the reference keeps both names), but the values differ"
            )
    values = []
    for key, targets in entries.items():
        tensor = state[key]
        for target in targets:
            expected_shape = tuple(target.variable.shape)
            try:
                value = target.convert(tensor)
            except ValueError:
                value = None
            if value is None or tuple(value.shape) != expected_shape:
                raise CheckpointError(
                    f"key '{key}' has shape {tuple(tensor.shape)}, which does not fit Keras "
                    f"variable '{target.variable.path}' of shape {expected_shape} "
                    f"(the {what} inferred from the other tensors)"
                )
            values.append((target.variable, value))
    for variable, value in values:
        variable.assign(value)


def import_generator(state_dict: dict, nhead: int = 2) -> tuple[keras.Model, ModelConfig]:
    """Training generator (see `dptn_tf.models.build_generator`) holding the official weights."""
    state = normalize_keys(state_dict)
    config = infer_generator_config(state, nhead)
    if config.bottleneck_channels % nhead:
        raise CheckpointError(
            f"--nhead {nhead} does not divide the PTM width {config.bottleneck_channels}"
        )
    generator = build_generator(config)
    _assign(state, *_generator_entries(generator, config), what="generator")
    return generator, config


def import_discriminator(
    state_dict: dict, base: ModelConfig | None = None
) -> tuple[keras.Model, ModelConfig]:
    """ResDiscriminator holding the official weights, spectral-norm vectors included."""
    state = normalize_keys(state_dict)
    config = infer_discriminator_config(state, base)
    discriminator = build_discriminator(config)
    _assign(state, *_discriminator_entries(discriminator, config), what="discriminator")
    return discriminator, config


GOLDEN_TOLERANCE = 1e-4  # max abs error on outputs, as the parity tests hold it
GOLDEN_INPUTS = ("source_image", "source_pose", "target_pose")


def golden_output_errors(
    path: str, generator: keras.Model, discriminator: keras.Model | None = None
) -> dict:
    """Max abs errors of imported models against golden outputs the official code wrote for
    the same weights: an `.npz` of NHWC `source_image`, `source_pose`, `target_pose`, the
    generated `out_target` and, for the discriminator, `disc_out` (the layout of
    `../shared/fixtures/dptn_market_128x64.npz`). -> the figures a preset records as its parity.
    """
    try:
        golden = dict(np.load(path))
    except (OSError, ValueError) as error:
        raise CheckpointError(f"{path}: not a .npz of golden outputs ({error})") from None
    wanted = [*GOLDEN_INPUTS, "out_target"] + (["disc_out"] if discriminator is not None else [])
    missing = [key for key in wanted if key not in golden]
    if missing:
        raise CheckpointError(f"{path}: lacks {missing} (golden outputs hold {wanted})")
    target = inference_generator(generator)({k: golden[k] for k in GOLDEN_INPUTS})
    errors = {
        "golden_outputs": f"{Path(path).name} (SHA-256 {file_sha256(path)})",
        "tolerance": GOLDEN_TOLERANCE,
        "generated_target_max_abs_error": float(np.max(np.abs(target - golden["out_target"]))),
    }
    if discriminator is not None:
        scores = discriminator(golden["source_image"])
        errors["discriminator_max_abs_error"] = float(np.max(np.abs(scores - golden["disc_out"])))
    return errors
