"""PATN annotation rows for your photos (BlazePose) or for OpenPose's JSON files (`dptn-
keypoints`). A thin wrapper over `dptn_tf.cli.keypoints`; `--help` lists the options.
"""

import sys

from dptn_tf.cli.keypoints import main

if __name__ == "__main__":
    sys.exit(main())
