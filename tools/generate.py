"""Generate every test pair of a PATN root with a DPTN generator, named as the official script
(`dptn-generate`). A thin wrapper over `dptn_tf.cli.generate`; `--help` lists the options.
"""

import sys

from dptn_tf.cli.generate import main

if __name__ == "__main__":
    sys.exit(main())
