"""Ask a DPTN model on TensorFlow Serving for one pose transfer and save the generated image
(`dptn-serving-client`). A thin wrapper over `dptn_tf.cli.serving_client`; `--help` lists the
options.
"""

import sys

from dptn_tf.cli.serving_client import main

if __name__ == "__main__":
    sys.exit(main())
