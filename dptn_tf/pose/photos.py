"""Photos as people take them: the one reader for every photo a person gives a command, the demo
or the serving client, and the only one that needs no TensorFlow (the LiteRT/ONNX path uses it).

Phones store a portrait shot sideways with an EXIF orientation tag; a reader that ignores the tag
finds the person lying on their side. `read_photo` turns the pixels upright as the tag says, as
every photo viewer does. The size is read from the header first, so a photo over the pixel limit
costs nothing to refuse. JPEGs decode with libjpeg's accurate integer DCT, as Pillow does by
default, which is also what the data pipeline's `decode_rgb` computes.
"""

from __future__ import annotations

import io
import warnings
from pathlib import Path

import numpy as np
from PIL import Image, ImageOps

# The largest photo decoded (H * W): 4096x4096 is ~50 MB as uint8 RGB and ~0.2 GB as float32.
# The serving graph holds its source images to the same limit.
MAX_PHOTO_PIXELS = 4096 * 4096
ORIENTATION_TAG = 0x0112  # EXIF's Orientation; 1 is upright


def read_photo(
    source: str | Path | bytes, name: str | None = None, max_pixels: int = MAX_PHOTO_PIXELS
) -> np.ndarray:
    """A photo file (or its encoded bytes) -> uint8 `[H, W, 3]` RGB, upright as its EXIF says.

    Errors name the photo (`name`, else the path): FileNotFoundError for a missing file,
    ValueError for bytes that are no image or an image over `max_pixels`.
    """
    if isinstance(source, (bytes, bytearray)):
        name = name or "photo"
        stream = io.BytesIO(source)
    else:
        name = name or str(source)
        if not Path(source).is_file():
            raise FileNotFoundError(f"{name}: file not found")
        stream = open(source, "rb")  # noqa: SIM115 (closed below, also on errors)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            try:
                image = Image.open(stream)
                width, height = image.size
                if width * height > max_pixels:
                    raise ValueError(
                        f"{name}: {width}x{height} pixels is over the limit of "
                        f"{max_pixels} (W x H); scale the photo down"
                    )
                image = ImageOps.exif_transpose(image)
                return np.asarray(image.convert("RGB"), dtype=np.uint8).copy()
            except (
                Image.UnidentifiedImageError,
                Image.DecompressionBombError,
                Image.DecompressionBombWarning,
                OSError,
                SyntaxError,
            ) as error:
                raise ValueError(f"{name}: not a readable image ({error})") from None
    finally:
        stream.close()


def upright_bytes(data: bytes, name: str = "photo") -> bytes:
    """A photo's bytes for a reader that ignores EXIF (TF Serving's decode): unchanged when it
    has no orientation tag, else its upright pixels as PNG. Errors as `read_photo`'s."""
    photo = read_photo(data, name)
    with Image.open(io.BytesIO(data)) as image:
        if image.getexif().get(ORIENTATION_TAG, 1) == 1:
            return data
    return png_bytes(photo)


def png_bytes(image) -> bytes:
    """uint8 `[H, W, 3]` -> PNG file bytes (lossless: a reader decodes the same pixels)."""
    buffer = io.BytesIO()
    Image.fromarray(np.asarray(image, np.uint8)).save(buffer, format="PNG")
    return buffer.getvalue()


def resize_uint8(image, size) -> np.ndarray:
    """uint8 `[h, w, 3]` -> uint8 `[H, W, 3]` at `size` `(H, W)`, bilinear (Pillow's: antialiased
    when shrinking), rounded: a photo fitted to a frame, or a generated image put back at a
    photo's scale, with or without TensorFlow."""
    image = Image.fromarray(np.asarray(image, np.uint8))
    return np.asarray(image.resize((int(size[1]), int(size[0])), Image.Resampling.BILINEAR))
