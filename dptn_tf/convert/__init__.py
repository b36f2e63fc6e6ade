"""Everything that reads PyTorch files: the official checkpoints and the metric networks' weights.

`torch_files` is the one place torch is imported (an optional extra); `checkpoint` imports the
official G and D into `dptn_tf.models`; `named_layers` fills Keras networks whose layers are
named after PyTorch modules. Imports `models`, `layers`, `config` and `files`.
"""

from dptn_tf.convert.checkpoint import (
    GOLDEN_TOLERANCE,
    golden_output_errors,
    import_discriminator,
    import_generator,
    infer_discriminator_config,
    infer_generator_config,
    normalize_keys,
)
from dptn_tf.convert.named_layers import assign_state_dict
from dptn_tf.convert.torch_files import CheckpointError, load_torch_state_dict

__all__ = [
    "GOLDEN_TOLERANCE",
    "CheckpointError",
    "golden_output_errors",
    "assign_state_dict",
    "import_discriminator",
    "import_generator",
    "infer_discriminator_config",
    "infer_generator_config",
    "load_torch_state_dict",
    "normalize_keys",
]
