"""Functional Keras builders for DPTN's networks: encoders, decoder, generator, discriminator.

Imports `layers` and `config`; training, conversion, inference and serving build on it.
"""

from dptn_tf.models.decoder import build_decoder
from dptn_tf.models.discriminator import build_discriminator
from dptn_tf.models.encoders import build_shared_encoder, build_source_encoder
from dptn_tf.models.generator import (
    INPUT_NAMES,
    build_generator,
    frame_of,
    generator_parts,
    inference_generator,
)

__all__ = [
    "INPUT_NAMES",
    "build_decoder",
    "build_discriminator",
    "build_generator",
    "build_shared_encoder",
    "build_source_encoder",
    "frame_of",
    "generator_parts",
    "inference_generator",
]
