"""Train DPTN: `python train.py [--config configs/market.yaml] [--set SECTION.FIELD=VALUE] ...`

A thin wrapper over `dptn_tf.cli.train` (the `dptn-train` command), kept at the repository's root
where the project's users look for it; `python train.py --help` lists the options.
"""

import sys

from dptn_tf.cli.train import main

if __name__ == "__main__":
    sys.exit(main())
