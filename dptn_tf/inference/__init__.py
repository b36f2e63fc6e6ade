"""Inference: the official test protocol (`generation`), where the PTM looks (`attention_maps`),
and a photo's person in another pose (`photo_transfer`).

Imports `models`, `data`, `pose` and `files`; serving and the tools build on it.
"""
