"""One photo's person in another pose by every format side by side: Keras, LiteRT float32,
float16 and int8, ONNX (docs/images/exports_side_by_side.png).

    python benchmarks/exports_picture.py --source me.jpg --pose other.jpg \
        [--generator runs/synthetic/generator.keras --config runs/synthetic/config.yaml] \
        --out docs/images/exports_side_by_side.png

Without `--generator`, a small random generator at 128x64 (what the picture then shows is that
the formats agree, not a person). Each panel is labelled with its format and its PSNR against
the Keras result.
"""

from __future__ import annotations

import argparse
import io
import sys
import tempfile
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw

from dptn_tf.console import quiet_tensorflow

LABEL_HEIGHT = 28
PANEL_HEIGHT = 256


def psnr_uint8(a, b) -> float:
    mse = np.mean((a.astype(float) - b.astype(float)) ** 2)
    return float("inf") if mse == 0 else float(10 * np.log10(255.0**2 / mse))


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--source", type=Path, required=True)
    parser.add_argument("--pose", required=True)
    parser.add_argument("--generator", type=Path)
    parser.add_argument("--config", type=Path)
    parser.add_argument("--out", type=Path, required=True)
    args = parser.parse_args(argv)
    quiet_tensorflow()
    import keras

    from dptn_tf.config import Config, ModelConfig
    from dptn_tf.console import native_stderr_off
    from dptn_tf.files.atomic import write_atomically
    from dptn_tf.inference.photo_transfer import pose_in_frame, transfer
    from dptn_tf.inference.portable import PortableModel
    from dptn_tf.inference.tensorflow_models import GeneratorModel
    from dptn_tf.models import build_generator
    from dptn_tf.pose import BlazePose, read_photo, resize_uint8
    from dptn_tf.pose.blazepose import VISIBILITY_THRESHOLD
    from dptn_tf.serving.portable import FILES, export_portable

    with tempfile.TemporaryDirectory() as folder, native_stderr_off():
        folder = Path(folder)
        if args.generator is None:
            keras.utils.set_random_seed(0)
            config = Config(model=ModelConfig(ngf=16, img_f=256, num_blocks=2, num_cabs=1,
                                              num_ttbs=1))
            build_generator(config.model).save(folder / "generator.keras")
            (folder / "config.yaml").write_text(config.to_yaml())
            args.generator, args.config = folder / "generator.keras", folder / "config.yaml"
        keras_model = GeneratorModel(args.generator, args.config, [])
        models = {"Keras": keras_model}
        for fmt in FILES:
            path = Path(export_portable(keras_model.generator, folder / fmt, keras_model.data,
                                        fmt))
            for variant, name in FILES[fmt].items():
                label = "ONNX" if fmt == "onnx" else f"LiteRT {variant}"
                models[label] = PortableModel(path / name)
        extractor = BlazePose()
        photo = read_photo(args.source)
        pose = pose_in_frame(args.pose, keras_model.frame, extractor, VISIBILITY_THRESHOLD)
        results = {label: transfer(model, photo, pose, extractor, VISIBILITY_THRESHOLD)
                   for label, model in models.items()}
    height = PANEL_HEIGHT
    width = round(height * results["Keras"].shape[1] / results["Keras"].shape[0])
    sheet = Image.new("RGB", (width * len(results), height + LABEL_HEIGHT), "white")
    draw = ImageDraw.Draw(sheet)
    for i, (label, image) in enumerate(results.items()):
        sheet.paste(Image.fromarray(resize_uint8(image, (height, width))), (i * width, LABEL_HEIGHT))
        quality = "" if label == "Keras" else f" {psnr_uint8(image, results['Keras']):.0f} dB"
        draw.text((i * width + 4, 2), label, fill="black")
        draw.text((i * width + 4, 14), quality.strip() or "reference", fill="black")
        print(f"{label}: PSNR against Keras{quality or ' -'}")
    encoded = io.BytesIO()
    sheet.save(encoded, "PNG", optimize=True)
    write_atomically(args.out, encoded.getvalue())
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
