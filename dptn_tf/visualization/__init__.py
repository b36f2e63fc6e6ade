"""Pictures for people (numpy in, uint8 out): skeletons over images, image grids.

Imports only `dptn_tf.pose`; data (the synthetic preview), training (sample grids) and the tools
use it.
"""

from dptn_tf.visualization.drawing import draw_skeleton, image_grid, to_uint8

__all__ = ["draw_skeleton", "image_grid", "to_uint8"]
