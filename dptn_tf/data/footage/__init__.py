"""Real people from a person's own footage: videos and photo folders -> a PATN root.

`sources` reads the inputs, `people` finds every person of a frame (HOG, then BlazePose per
crop), `tracking` follows them from frame to frame, `dataset` filters, splits and writes the
root. Needs OpenCV (`pip install -e ".[video]"`).
"""

from dptn_tf.data.footage.dataset import FILTERS, SPLITS, DatasetSettings, make_footage_dataset
from dptn_tf.data.footage.sources import FootageError

__all__ = ["FILTERS", "SPLITS", "DatasetSettings", "FootageError", "make_footage_dataset"]
