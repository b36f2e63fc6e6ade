"""Inference: the official test protocol (`generation`), where the PTM looks (`attention_maps`),
and a photo's person in another pose (`photo_transfer`) by TensorFlow (`tensorflow_models`) or
by a LiteRT or ONNX export without it (`litert_onnx_models`).

Imports `models`, `data`, `pose` and `files`; the exports and the tools build on it.
`photo_transfer` and `litert_onnx_models` import no TensorFlow.
"""
