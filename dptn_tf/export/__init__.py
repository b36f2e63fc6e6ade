"""Exports of the inference generator, one module a format: the SavedModel for TensorFlow
Serving (`savedmodel`) and the LiteRT and ONNX files for runtimes without TensorFlow
(`litert_onnx`, which writes its versions as `savedmodel` does), and the static web site that
runs the ONNX file in a browser (`web`).

Imports `inference`, `data`, `pose`, `models`, `layers` (to trace the PTM's norm in float32
for LiteRT), `keras_internals` and `files`; never `training`.
"""
