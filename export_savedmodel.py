"""Export a DPTN generator: a versioned SavedModel for TensorFlow Serving, or a LiteRT or ONNX
file (`dptn-export`). A thin wrapper over `dptn_tf.cli.export`; `--help` lists the options.
"""

import sys

from dptn_tf.cli.export import main

if __name__ == "__main__":
    sys.exit(main())
