"""The person of your photo in another pose, in one command (`dptn-transfer`). A thin wrapper over
`dptn_tf.cli.transfer`; `--help` lists the options.
"""

import sys

from dptn_tf.cli.transfer import main

if __name__ == "__main__":
    sys.exit(main())
