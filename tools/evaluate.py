"""Evaluate generated test images with the paper's metrics; print a table and write JSON (`dptn-
evaluate`). A thin wrapper over `dptn_tf.cli.evaluate`; `--help` lists the options.
"""

import sys

from dptn_tf.cli.evaluate import main

if __name__ == "__main__":
    sys.exit(main())
