"""Data: image decoding, the PATN format, the tf.data pipeline, preparation, synthetic people.

`images`, `patn` and `pipeline` make the batches; `prepare` turns DeepFashion and Market-1501
downloads into PATN roots; `synthetic` draws a PATN data set; `footage` makes one of real people
from videos and photo folders (it needs OpenCV, so it is imported by name only). Imports `pose`,
`visualization`, `files`.
"""

from dptn_tf.data.images import decode_image, decode_rgb, read_rgb
from dptn_tf.data.patn import (
    DatasetError,
    PatnSplit,
    annotation_path,
    check_image_files,
    format_keypoints,
    load_split,
    pairs_path,
    parse_keypoints,
    read_annotations,
    read_pairs,
    write_annotations,
    write_pairs,
)
from dptn_tf.data.pipeline import make_dataset, one_batch

__all__ = [
    "DatasetError",
    "PatnSplit",
    "annotation_path",
    "check_image_files",
    "decode_image",
    "decode_rgb",
    "format_keypoints",
    "load_split",
    "make_dataset",
    "one_batch",
    "pairs_path",
    "parse_keypoints",
    "read_annotations",
    "read_pairs",
    "read_rgb",
    "write_annotations",
    "write_pairs",
]
