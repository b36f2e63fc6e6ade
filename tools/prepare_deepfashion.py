"""Split the raw DeepFashion In-shop images into a PATN root's train/ and test/ (`dptn-prepare-
deepfashion`). A thin wrapper over `dptn_tf.cli.prepare_deepfashion`; `--help` lists the
options.
"""

import sys

from dptn_tf.cli.prepare_deepfashion import main

if __name__ == "__main__":
    sys.exit(main())
