"""Serving: the SavedModel export for TensorFlow Serving (`export`), the LiteRT and ONNX exports
for runtimes without TensorFlow (`portable`).

Imports `inference`, `data`, `pose`, `models`, `layers` (to trace the PTM's norm in float32
for LiteRT) and `files`; never `training`.
"""
