"""A PATN training set of real people from your videos and photo folders (`dptn-make-dataset`).
A thin wrapper over `dptn_tf.cli.make_dataset`; `--help` lists the options.
"""

import sys

from dptn_tf.cli.make_dataset import main

if __name__ == "__main__":
    sys.exit(main())
