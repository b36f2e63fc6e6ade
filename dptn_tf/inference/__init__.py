"""Inference: the official test protocol (`generation`) and where the PTM looks (`attention_maps`).

Imports `models`, `data` and `files`; serving and the tools build on it.
"""
