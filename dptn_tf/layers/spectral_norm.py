"""Spectrally normalised convolution with the semantics of `torch.nn.utils.spectral_norm`.

`keras.layers.SpectralNormalization` overwrites the kernel with its normalised value and treats
sigma as a constant. The reference instead keeps the raw kernel, runs one power iteration on
stored `u`/`v` vectors per training forward pass, and divides by `sigma = u^T W v` with the
gradient flowing through sigma; inference reuses the stored vectors without iterating. Matching
that is what makes GAN training reproducible and `weight_orig`/`weight_u`/`weight_v` importable.
"""

import keras
from keras import ops


def _l2_normalize(x, epsilon):
    return x / ops.maximum(ops.sqrt(ops.sum(ops.square(x))), epsilon)


@keras.saving.register_keras_serializable(package="dptn_tf")
class SpectralNormConv2D(keras.layers.Layer):
    """2-D convolution whose kernel is divided by its largest singular value.

    The kernel is seen as the matrix `[filters, in_channels * kh * kw]` in PyTorch's order, so
    `v` has the layout of a PyTorch checkpoint's `weight_v`.

    Args:
        filters: output channels.
        kernel_size: square kernel size.
        strides: stride in both directions.
        padding: zero pixels added on every side (PyTorch's symmetric `padding`).
        use_bias: add a bias after the convolution.
        power_iterations: power iterations per training call.
        epsilon: floor of vector norms in the power iteration.
    """

    def __init__(
        self,
        filters,
        kernel_size,
        strides=1,
        padding=0,
        use_bias=True,
        power_iterations=1,
        epsilon=1e-12,
        **kwargs,
    ):
        super().__init__(**kwargs)
        self.filters = filters
        self.kernel_size = kernel_size
        self.strides = strides
        self.padding = padding
        self.use_bias = use_bias
        self.power_iterations = power_iterations
        self.epsilon = epsilon

    def build(self, input_shape):
        in_channels = input_shape[-1]
        k = self.kernel_size
        self.kernel = self.add_weight(
            shape=(k, k, in_channels, self.filters), initializer="glorot_uniform", name="kernel"
        )
        self.bias = (
            self.add_weight(shape=(self.filters,), initializer="zeros", name="bias")
            if self.use_bias
            else None
        )
        # Only the first replica's iteration is kept, as with PyTorch's DataParallel buffers.
        self.u = self.add_weight(
            shape=(self.filters,),
            initializer="random_normal",
            trainable=False,
            aggregation="only_first_replica",
            name="u",
        )
        self.v = self.add_weight(
            shape=(in_channels * k * k,),
            initializer="random_normal",
            trainable=False,
            aggregation="only_first_replica",
            name="v",
        )
        self.u.assign(_l2_normalize(self.u, self.epsilon))
        self.v.assign(_l2_normalize(self.v, self.epsilon))

    def _kernel_matrix(self):
        """`[filters, in * kh * kw]`, flattened in PyTorch's (in, kh, kw) order."""
        kernel = ops.transpose(ops.cast(self.kernel, "float32"), (3, 2, 0, 1))
        return ops.reshape(kernel, (self.filters, -1))

    def normalized_kernel(self, training=False):
        """The kernel divided by sigma, after a power iteration when training."""
        matrix = self._kernel_matrix()
        u, v = ops.cast(self.u, "float32"), ops.cast(self.v, "float32")
        if training:
            frozen = ops.stop_gradient(matrix)
            for _ in range(self.power_iterations):
                v = _l2_normalize(ops.matmul(u, frozen), self.epsilon)
                u = _l2_normalize(ops.matmul(frozen, v), self.epsilon)
            self.u.assign(u)
            self.v.assign(v)
        u, v = ops.stop_gradient(u), ops.stop_gradient(v)
        sigma = ops.sum(u * ops.matmul(matrix, v))
        return ops.cast(self.kernel, "float32") / sigma

    def call(self, inputs, training=False):
        kernel = ops.cast(self.normalized_kernel(training), self.compute_dtype)
        if self.padding:
            p = self.padding
            inputs = ops.pad(inputs, [[0, 0], [p, p], [p, p], [0, 0]])
        outputs = ops.conv(inputs, kernel, strides=self.strides, padding="valid")
        if self.use_bias:
            outputs = outputs + ops.cast(self.bias, self.compute_dtype)
        return outputs

    def compute_output_shape(self, input_shape):
        batch, height, width, _ = input_shape

        def out(size):
            if size is None:
                return None
            return (size + 2 * self.padding - self.kernel_size) // self.strides + 1

        return (batch, out(height), out(width), self.filters)

    def get_config(self):
        return {
            **super().get_config(),
            "filters": self.filters,
            "kernel_size": self.kernel_size,
            "strides": self.strides,
            "padding": self.padding,
            "use_bias": self.use_bias,
            "power_iterations": self.power_iterations,
            "epsilon": self.epsilon,
        }
