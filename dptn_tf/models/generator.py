"""The DPTN generator: a Siamese network of two tasks joined by the Pose Transformer Module.

`build_generator` returns the training generator, whose outputs are the generated target and
the source reconstruction. `inference_generator` re-wires the same layers (same weights) into
the test-time model, which skips the source-to-source decode as the reference does; given the
data's geometry it records it in the model (`ImageFrame`), which `frame_of` reads back.
"""

import keras

from dptn_tf.config import DataConfig, ModelConfig
from dptn_tf.layers import BatchSplit, ImageFrame, PoseTransformerModule
from dptn_tf.models.decoder import build_decoder
from dptn_tf.models.encoders import build_shared_encoder, build_source_encoder
from dptn_tf.models.initialization import initialize

PART_NAMES = ("shared_encoder", "source_encoder", "pose_transformer", "decoder")
FRAME_LAYER = "frame"
INPUT_NAMES = ("source_image", "source_pose", "target_pose")


def _inputs(image_channels: int, pose_channels: int) -> dict:
    """Named NHWC inputs of any batch size, height and width (H and W divisible by 8)."""
    channels = {
        "source_image": image_channels,
        "source_pose": pose_channels,
        "target_pose": pose_channels,
    }
    return {name: keras.Input((None, None, c), name=name) for name, c in channels.items()}


def _assemble(
    parts: dict,
    inputs: dict,
    with_source_reconstruction: bool,
    name: str,
    frame: DataConfig | None = None,
):
    """Both tasks' inputs go through the shared encoder as one batch of 2B, and in training both
    tasks' features through the decoder as one batch: per sample the same arithmetic as two
    calls, in larger matrix products (10-20% faster on a CPU at batch 1). Without a PTM
    (`parts` has none) the test-time model runs the source-to-target branch alone."""
    x_s, p_s, p_t = (inputs[k] for k in INPUT_NAMES)
    if frame is not None:
        x_s = ImageFrame(frame.load_size, frame.old_size, frame.sigma, name=FRAME_LAYER)(x_s)
    pose_transformer = parts.get("pose_transformer")
    if pose_transformer is None and not with_source_reconstruction:
        source_to_target = keras.layers.Concatenate(name="source_to_target_input")([x_s, p_s, p_t])
        f_st = parts["shared_encoder"](source_to_target)
        return keras.Model(inputs, parts["decoder"](f_st), name=name)
    source_to_source = keras.layers.Concatenate(name="source_to_source_input")([x_s, p_s, p_s])
    source_to_target = keras.layers.Concatenate(name="source_to_target_input")([x_s, p_s, p_t])
    both = keras.layers.Concatenate(axis=0, name="both_tasks")([source_to_source, source_to_target])
    f_ss, f_st = BatchSplit(2, name="split_tasks")(parts["shared_encoder"](both))
    if pose_transformer is not None:
        f_st = pose_transformer(f_ss, f_st, parts["source_encoder"](x_s))
    if not with_source_reconstruction:
        return keras.Model(inputs, parts["decoder"](f_st), name=name)
    decoded = parts["decoder"](keras.layers.Concatenate(axis=0, name="both_features")([f_st, f_ss]))
    generated_target, reconstructed_source = BatchSplit(2, name="split_images")(decoded)
    outputs = {"generated_target": generated_target, "reconstructed_source": reconstructed_source}
    return keras.Model(inputs, outputs, name=name)


def build_generator(config: ModelConfig | None = None) -> keras.Model:
    """Training generator: `{source_image, source_pose, target_pose}` ->
    `{"generated_target", "reconstructed_source"}`, both NHWC images in [-1, 1]."""
    config = config or ModelConfig()
    # Created in this order (the PTM's weights are drawn at its first call, in `_assemble`): a
    # seed gives the weights it gave before the switch existed.
    parts = {"shared_encoder": build_shared_encoder(config)}
    if config.pose_transformer:
        parts["source_encoder"] = build_source_encoder(config)
        parts["pose_transformer"] = PoseTransformerModule(
            num_heads=config.nhead,
            num_cabs=config.num_cabs,
            num_ttbs=config.num_ttbs,
            negative_slope=config.negative_slope,
            epsilon=config.norm_epsilon,
            name="pose_transformer",
        )
    parts["decoder"] = build_decoder(config)
    inputs = _inputs(config.image_channels, config.pose_channels)
    generator = _assemble(
        parts, inputs, with_source_reconstruction=True, name="dptn_training_generator"
    )
    return initialize(generator, config.init)


def generator_parts(generator: keras.Model) -> dict:
    """The shared parts of a (training or inference) generator, by name: all four of
    `PART_NAMES`, or two (the shared encoder and the decoder) for one built without a PTM.
    Raises ValueError for a model that is neither."""
    parts = {layer.name: layer for layer in generator.layers if layer.name in PART_NAMES}
    if sorted(parts) not in (sorted(PART_NAMES), ["decoder", "shared_encoder"]):
        raise ValueError(
            f"model {generator.name!r} is not a DPTN generator: its parts are "
            f"{sorted(parts)}, expected {list(PART_NAMES)} (or the shared encoder "
            "and the decoder alone, without a PTM)"
        )
    return parts


def inference_generator(generator: keras.Model, frame: DataConfig | None = None) -> keras.Model:
    """Test-time generator sharing `generator`'s weights: inputs -> generated target only.

    With `frame`, its `load_size`, `old_size` and `sigma` are recorded in the model (and its
    `.keras` file); without, the frame `generator` records, if any, is kept.
    """
    parts = generator_parts(generator)
    inputs = _inputs(
        generator.input["source_image"].shape[-1], generator.input["source_pose"].shape[-1]
    )
    frame = frame or frame_of(generator)
    return _assemble(
        parts, inputs, with_source_reconstruction=False, name="dptn_generator", frame=frame
    )


def frame_of(generator: keras.Model) -> DataConfig | None:
    """The geometry a generator records (`DataConfig` with `load_size`, `old_size` and `sigma`
    set, the rest default), or None for one that records none."""
    layer = next((layer for layer in generator.layers if isinstance(layer, ImageFrame)), None)
    if layer is None:
        return None
    return DataConfig(load_size=layer.load_size, old_size=layer.old_size, sigma=layer.sigma)
