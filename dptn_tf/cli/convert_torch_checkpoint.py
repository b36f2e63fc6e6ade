"""Convert official DPTN PyTorch checkpoints into Keras `.keras` models.

    python tools/convert_torch_checkpoint.py latest_net_G.pth \
        --discriminator latest_net_D.pth --out converted/

writes `converted/generator.keras` (the inference generator: `{source_image, source_pose,
target_pose}` -> generated target), with `--discriminator` `converted/discriminator.keras`, and
both as the preset `converted/preset/` (`dptn_tf.presets.from_preset` loads it).
The weights do not say which frame the keypoints live in: `--dataset fashion|market` (the
geometry of `configs/<dataset>.yaml`) or `--frame HxW` (network and annotation size alike)
records it in the generator, so that transfer, export and the demo need no `--config` for it.
Nothing is written unless every tensor of every given checkpoint fits and is finite; a bad file
gets one line naming it and what it holds (the file is read with `weights_only=True`, so no
pickled code ever runs). `--check-against golden.npz` runs the converted models on golden outputs
the official code wrote for the same weights, records the errors in the preset's metadata and
writes nothing when they exceed 1e-4. Temporaries a killed conversion left in `--out` go at the
next start.
"""

import argparse
import sys
from pathlib import Path

from dptn_tf.config import (
    CONFIGS_DIR,
    DATASETS,
    GENERATOR_NAME,
    PRESET_DIR,
    DataConfig,
    load_config,
)
from dptn_tf.console import add_verbose_flag, image_size, quiet_tensorflow


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("generator", type=Path, help="official generator state dict (.pth)")
    parser.add_argument(
        "--discriminator", type=Path, help="official discriminator state dict (.pth)"
    )
    parser.add_argument(
        "--nhead",
        type=int,
        default=2,
        help="attention heads of the PTM (not stored in the weights; default 2)",
    )
    parser.add_argument("--out", type=Path, required=True, help="output directory")
    frame = parser.add_mutually_exclusive_group()
    frame.add_argument(
        "--dataset",
        choices=DATASETS,
        help="record the data set's geometry (configs/<dataset>.yaml) in the generator",
    )
    frame.add_argument(
        "--frame",
        type=image_size,
        metavar="HxW",
        help="record this network and annotation size in the generator",
    )
    parser.add_argument(
        "--check-against",
        type=Path,
        metavar="GOLDEN.npz",
        help="golden outputs of the official code for these weights (inputs, out_target, "
        "disc_out): the errors go into the preset's metadata; over 1e-4 nothing is written",
    )
    add_verbose_flag(parser)
    args = parser.parse_args(argv)
    data = (
        load_config(CONFIGS_DIR / f"{args.dataset}.yaml").data
        if args.dataset
        else DataConfig(load_size=args.frame, old_size=args.frame)
        if args.frame
        else None
    )
    quiet_tensorflow(args.verbose)
    from dptn_tf.convert import (
        GOLDEN_TOLERANCE,
        CheckpointError,
        golden_output_errors,
        import_discriminator,
        import_generator,
        load_torch_state_dict,
    )
    from dptn_tf.files.atomic import atomic_path
    from dptn_tf.files.directory_lock import DirectoryInUseError, exclusive_directory
    from dptn_tf.files.finite import NonFiniteError, model_weights, require_finite
    from dptn_tf.files.weight_files import file_sha256
    from dptn_tf.models import inference_generator
    from dptn_tf.presets import PresetError, save_preset

    try:
        generator, config = import_generator(load_torch_state_dict(args.generator), args.nhead)
        models = {GENERATOR_NAME: inference_generator(generator, frame=data)}
        discriminator = None
        if args.discriminator:
            discriminator, config = import_discriminator(
                load_torch_state_dict(args.discriminator), config
            )
            models["discriminator.keras"] = discriminator
        for name, model in models.items():
            require_finite(model_weights(model), str(args.out / name))
        parity = None
        if args.check_against:
            parity = golden_output_errors(args.check_against, generator, discriminator)
            errors = {k: v for k, v in parity.items() if k.endswith("_error")}
            print(
                "against the golden outputs: "
                + ", ".join(f"{k} {v:.1e}" for k, v in errors.items())
            )
            if max(errors.values()) > GOLDEN_TOLERANCE:
                raise CheckpointError(
                    f"{args.check_against}: the converted models miss these golden outputs by "
                    f"more than {GOLDEN_TOLERANCE} ({errors}); nothing written"
                )
        with exclusive_directory(args.out, "convert_torch_checkpoint.py"):
            for name, model in models.items():
                with atomic_path(args.out / name) as temporary:
                    model.save(temporary)
                trainable = sum(int(w.numpy().size) for w in model.trainable_weights)
                print(f"wrote {args.out / name} ({trainable:,} trainable parameters)")
            checkpoints = [args.generator] + ([args.discriminator] if args.discriminator else [])
            preset = save_preset(
                args.out / PRESET_DIR,
                models[GENERATOR_NAME],
                config,
                discriminator=discriminator,
                dataset=args.dataset,
                weights_from="official PyTorch checkpoints "
                + ", ".join(f"{p.name} (SHA-256 {file_sha256(p)})" for p in checkpoints),
                parity=parity,
            )
            print(f"wrote the preset {preset}")
    except (
        CheckpointError,
        FileNotFoundError,
        NonFiniteError,
        DirectoryInUseError,
        PresetError,
    ) as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    print(f"model settings: {config}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
