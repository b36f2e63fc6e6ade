"""The private Keras hooks dptn-tf relies on, all in this module.

Keras has no public way to do either of these, and a minor release may rename what they use:
an override of a method that is no longer called is silently a no-op. setup.cfg pins Keras to
the minor version the tests ran on, and `tests/test_keras_internals.py` checks that
each hook still exists and is still called, so an upgrade that breaks one fails a test.

- `NoSymbolicBuild`: `keras.Model.fit`/`evaluate` call `_maybe_symbolic_build` before the first
  step. Under a strategy Keras (3.15) then takes one batch from the distributed iterator and
  all-reduces it: that fails under MultiWorkerMirroredStrategy for dict batches
  (keras-team/keras#20329) and leaves a validation iterator of `validation_steps` batches one
  short, so the next epoch's validation ends in StopIteration.
- `adam_moments`: `keras.optimizers.Adam` keeps its first and second moments in the private
  lists `_momentums` and `_velocities`, found by `_get_variable_index`.
- `all_layers`: `model.layers` lists only a model's own layers; `_flatten_layers` walks nested
  models and the sublayers of custom layers too.

A top-level module, importing nothing of dptn_tf, so that every folder may use it.
"""

from __future__ import annotations


class NoSymbolicBuild:
    """A `keras.Model` mixin for models whose `__init__` and `compile` create every variable:
    Keras' symbolic build before `fit` and `evaluate` has nothing to do and is skipped."""

    def _maybe_symbolic_build(self, iterator=None, data_batch=None):
        """Nothing to build (see the module's docstring)."""


def adam_moments(optimizer, variable):
    """`(m, v)`: the first and second moment variables of `variable` in a Keras Adam."""
    index = optimizer._get_variable_index(variable)
    return optimizer._momentums[index], optimizer._velocities[index]


def all_layers(model) -> list:
    """Every layer inside `model` (not `model` itself): nested models' and custom layers'
    sublayers included."""
    return list(model._flatten_layers(include_self=False, recursive=True))
