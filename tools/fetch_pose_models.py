"""Put BlazePose's two model files where dptn-tf looks for them, checking their SHA-256 (`dptn-
fetch-pose-models`). A thin wrapper over `dptn_tf.cli.fetch_pose_models`; `--help` lists the
options.
"""

import sys

from dptn_tf.cli.fetch_pose_models import main

if __name__ == "__main__":
    sys.exit(main())
