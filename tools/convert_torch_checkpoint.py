"""Convert official DPTN PyTorch checkpoints into Keras `.keras` models (`dptn-convert`). A thin
wrapper over `dptn_tf.cli.convert_torch_checkpoint`; `--help` lists the options.
"""

import sys

from dptn_tf.cli.convert_torch_checkpoint import main

if __name__ == "__main__":
    sys.exit(main())
