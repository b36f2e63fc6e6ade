"""Pictures of a DPTN generator's results and of what its Pose Transformer attends to (`dptn-
visualize`). A thin wrapper over `dptn_tf.cli.visualize`; `--help` lists the options.
"""

import sys

from dptn_tf.cli.visualize import main

if __name__ == "__main__":
    sys.exit(main())
