"""Serving: the SavedModel export for TensorFlow Serving (`export`).

Imports `inference`, `data`, `pose`, `models` and `files`; never `training`.
"""
