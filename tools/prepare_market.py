"""Lay Market-1501 out as a PATN root: bounding_box_train/test become train/ and test/ (`dptn-
prepare-market`). A thin wrapper over `dptn_tf.cli.prepare_market`; `--help` lists the options.
"""

import sys

from dptn_tf.cli.prepare_market import main

if __name__ == "__main__":
    sys.exit(main())
