"""Image decoding shared by the pipeline, the up-front check and the export's serving graph."""

from __future__ import annotations

import numpy as np
import tensorflow as tf


def decode_rgb(contents) -> tf.Tensor:
    """Encoded JPEG/PNG (or BMP, GIF) bytes -> uint8 `[H, W, 3]` RGB.

    JPEGs use the accurate integer DCT, which decodes exactly as PIL (the reference's loader)
    does; TensorFlow's default fast DCT is off by up to 15 levels at sharp edges. Grayscale is
    replicated to RGB and an alpha channel dropped, as PIL's `convert('RGB')` does.
    """
    return tf.cond(
        tf.io.is_jpeg(contents),
        lambda: tf.io.decode_jpeg(contents, channels=3, dct_method="INTEGER_ACCURATE"),
        lambda: tf.io.decode_image(contents, channels=3, expand_animations=False),
    )


def read_rgb(path) -> np.ndarray:
    """An image file -> uint8 `[H, W, 3]` numpy, decoded as `decode_rgb` does (for the tools).

    A file that is not an image is a ValueError naming it.
    """
    try:
        return decode_rgb(tf.io.read_file(str(path))).numpy()
    except tf.errors.NotFoundError:
        raise FileNotFoundError(f"{path}: file not found") from None
    except tf.errors.InvalidArgumentError:
        raise ValueError(f"{path}: not a JPEG, PNG, BMP or GIF image") from None


def to_network_input(image, load_size) -> tf.Tensor:
    """uint8 RGB `[h, w, 3]` -> float32 `[H, W, 3]` in [-1, 1] at `load_size` (a python pair).

    The resize is bilinear, as the reference's PIL resize; when shrinking it is antialiased
    (as PIL is), when enlarging it skips the antialiasing kernel, which would change nothing
    but cost twice the time. An image known to be at `load_size` already is only scaled (the
    resize would change nothing, and LiteRT has no resize of uint8 images).
    """
    if tuple(image.shape[:2]) != tuple(load_size):
        shrinking = tf.reduce_any(tf.shape(image)[:2] > tf.constant(load_size, tf.int32))
        image = tf.cond(
            shrinking,
            lambda: tf.image.resize(image, load_size, method="bilinear", antialias=True),
            lambda: tf.image.resize(image, load_size, method="bilinear"),
        )
        image = tf.ensure_shape(image, (*load_size, 3))
    return tf.clip_by_value(tf.cast(image, tf.float32) / 127.5 - 1.0, -1.0, 1.0)


def decode_image(contents, load_size) -> tf.Tensor:
    """Encoded bytes -> float32 `[H, W, 3]` in [-1, 1] at `load_size` (a python pair)."""
    return to_network_input(decode_rgb(contents), load_size)


def encoded_image_size(contents) -> tf.Tensor:
    """int64 `(H, W)` of one encoded JPEG or PNG, read from its header: nothing is decoded,
    so a size limit can be checked before a huge image takes the memory to decode it.

    A PNG's first chunk is its IHDR: 4 bytes of length, "IHDR", then width and height as
    big-endian 32-bit integers. A PNG too short to hold it fails with InvalidArgument.
    """

    def png_size():
        # Padded, so that a short file fails the check below, not `substr` (whose error would
        # quote the raw bytes).
        header = tf.strings.join([tf.strings.substr(contents, 0, 24), b"\0" * 24])
        valid = tf.logical_and(
            tf.strings.length(contents) >= 24, tf.equal(tf.strings.substr(header, 12, 4), b"IHDR")
        )
        check = tf.debugging.Assert(valid, ["a PNG without its IHDR header (truncated?)"])
        with tf.control_dependencies([check]):
            size = tf.io.decode_raw(tf.strings.substr(header, 16, 8), tf.uint8)
        digits = tf.reshape(tf.cast(size, tf.int64), (2, 4))  # width, height
        width, height = tf.unstack(tf.reduce_sum(digits * [2**24, 2**16, 2**8, 1], axis=1))
        return tf.stack([height, width])

    return tf.cond(
        tf.io.is_jpeg(contents),
        lambda: tf.cast(tf.io.extract_jpeg_shape(contents)[:2], tf.int64),
        png_size,
    )
