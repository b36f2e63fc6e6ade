"""Synthetic people in the PATN format: a data set that trains DPTN on a CPU in minutes.

`people` samples identities and poses, `rendering` paints them, `dataset` writes the PATN files.
"""

from dptn_tf.data.synthetic.dataset import make_synthetic_dataset, preview_grid
from dptn_tf.data.synthetic.people import sample_identity, sample_pose
from dptn_tf.data.synthetic.rendering import render_person

__all__ = [
    "make_synthetic_dataset",
    "preview_grid",
    "render_person",
    "sample_identity",
    "sample_pose",
]
