"""Write a synthetic-person data set in the PATN format, and/or a preview picture of it (`dptn-
make-synthetic`). A thin wrapper over `dptn_tf.cli.make_synthetic_dataset`; `--help` lists the
options.
"""

import sys

from dptn_tf.cli.make_synthetic_dataset import main

if __name__ == "__main__":
    sys.exit(main())
