"""DPTN's custom layers: reference arithmetic, serialization, attention maps."""

import keras
import numpy as np
import pytest
import tensorflow as tf

from dptn_tf.layers import (
    AttentionSublayer,
    BatchSplit,
    ContextAugmentBlock,
    FeedForward,
    ImageFrame,
    InstanceNormalization,
    LeadingCrop2D,
    PoseTransformerModule,
    ReflectionPadding2D,
    SpectralNormConv2D,
    TextureTransferBlock,
)

RNG = np.random.default_rng(0)


@pytest.mark.parametrize("shape", [(2, 5, 7, 4), (2, 9, 4)])
def test_instance_norm_normalises_each_sample_and_channel_over_positions(shape):
    x = RNG.normal(3.0, 2.0, shape).astype("float32")
    layer = InstanceNormalization(epsilon=1e-5)
    layer.build(shape)
    layer.gamma.assign(np.arange(1, 5, dtype="float32"))
    layer.beta.assign(np.full(4, 0.5, "float32"))
    axes = tuple(range(1, len(shape) - 1))
    expected = (x - x.mean(axes, keepdims=True)) / np.sqrt(x.var(axes, keepdims=True) + 1e-5)
    expected = expected * np.arange(1, 5) + 0.5
    np.testing.assert_allclose(layer(x), expected, atol=1e-5)


@pytest.mark.parametrize("shape", [(3, 6, 5, 4), (1, 6, 5, 4), (3, 7, 4)])
def test_instance_norm_fused_kernel_gradients_match_float64(shape):
    """The fused float32 kernel (batches and token sequences) against the float64 arithmetic."""
    x = tf.constant(RNG.normal(1.0, 3.0, shape).astype("float32"))
    upstream = tf.constant(RNG.normal(size=shape).astype("float32"))
    results = {}
    for precision in ("float32", "float64"):
        layer = InstanceNormalization(precision=precision)
        layer.build(shape)
        layer.gamma.assign(np.linspace(-2, 2, 4).astype("float32"))
        layer.beta.assign(np.linspace(0, 1, 4).astype("float32"))
        with tf.GradientTape() as tape:
            tape.watch(x)
            y = layer(x)
        results[precision] = [y, *tape.gradient(y, [x, layer.gamma, layer.beta], upstream)]
    for fused, exact in zip(results["float32"], results["float64"]):
        np.testing.assert_allclose(fused, exact, rtol=1e-5, atol=1e-5)


def test_instance_norm_under_mixed_bfloat16_keeps_float32_statistics():
    x = RNG.normal(3.0, 2.0, (2, 6, 5, 4)).astype("float32")
    reference = InstanceNormalization()
    reference.build(x.shape)
    keras.mixed_precision.set_global_policy("mixed_bfloat16")
    try:
        layer = InstanceNormalization()
        layer.build(x.shape)
        y = layer(tf.cast(x, tf.bfloat16))
    finally:
        keras.mixed_precision.set_global_policy("float32")
    assert y.dtype == tf.bfloat16 and layer.gamma.dtype == "float32"
    # Only the bfloat16 input and output roundings (2^-8 relative) separate the two.
    np.testing.assert_allclose(tf.cast(y, tf.float32), reference(x), rtol=0, atol=0.03)


def test_instance_norm_precision_is_checked():
    with pytest.raises(ValueError, match="precision must be"):
        InstanceNormalization(precision="float16")


def test_reflection_padding_mirrors_without_repeating_the_edge():
    x = np.arange(12, dtype="float32").reshape(1, 3, 4, 1)
    expected = np.pad(x, [(0, 0), (1, 1), (1, 1), (0, 0)], mode="reflect")
    np.testing.assert_array_equal(ReflectionPadding2D(1)(x), expected)


def test_leading_crop_equals_keras_cropping_forward_and_backward():
    x = tf.constant(RNG.normal(size=(2, 5, 4, 3)).astype("float32"))
    weights = tf.constant(RNG.normal(size=(2, 4, 3, 3)).astype("float32"))
    crops = LeadingCrop2D(1), keras.layers.Cropping2D(((1, 0), (1, 0)))
    results = []
    for crop in crops:
        with tf.GradientTape() as tape:
            tape.watch(x)
            y = crop(x)
            loss = tf.reduce_sum(y * weights)
        results.append((y.numpy(), tape.gradient(loss, x).numpy()))
    assert results[0][0].shape == (2, 4, 3, 3)
    np.testing.assert_array_equal(results[0][0], results[1][0])
    np.testing.assert_array_equal(results[0][1], results[1][1])
    assert LeadingCrop2D(2).compute_output_shape((None, 8, None, 3)) == (None, 6, None, 3)


@pytest.fixture
def torch_and_pair():
    """A PyTorch spectral-norm conv and the Keras layer holding the same weights and vectors."""
    torch = pytest.importorskip("torch", reason="compares against torch.nn.utils.spectral_norm")
    torch.manual_seed(0)
    reference = torch.nn.utils.spectral_norm(torch.nn.Conv2d(3, 5, 4, stride=2, padding=1))
    layer = SpectralNormConv2D(5, 4, strides=2, padding=1)
    layer.build((None, 8, 8, 3))
    layer.kernel.assign(reference.weight_orig.detach().numpy().transpose(2, 3, 1, 0))
    layer.bias.assign(reference.bias.detach().numpy())
    layer.u.assign(reference.weight_u.numpy())
    layer.v.assign(reference.weight_v.numpy())
    return torch, reference, layer


def test_spectral_norm_inference_uses_stored_vectors(torch_and_pair):
    torch, reference, layer = torch_and_pair
    x = np.random.default_rng(1).normal(size=(2, 8, 8, 3)).astype("float32")
    u_before = layer.u.numpy().copy()
    reference.eval()
    with torch.no_grad():
        expected = reference(torch.from_numpy(x).permute(0, 3, 1, 2)).permute(0, 2, 3, 1).numpy()
    np.testing.assert_allclose(layer(x, training=False), expected, rtol=1e-5, atol=1e-5)
    np.testing.assert_array_equal(layer.u.numpy(), u_before)


def test_spectral_norm_training_iterates_and_differentiates_through_sigma(torch_and_pair):
    torch, reference, layer = torch_and_pair
    x = np.random.default_rng(2).normal(size=(2, 8, 8, 3)).astype("float32")
    reference.train()
    torch_x = torch.from_numpy(x).permute(0, 3, 1, 2)
    torch_out = reference(torch_x)
    (torch_out**2).sum().backward()
    with tf.GradientTape() as tape:
        out = layer(x, training=True)
        loss = tf.reduce_sum(out**2)
    gradient = tape.gradient(loss, layer.kernel)
    np.testing.assert_allclose(
        out, torch_out.detach().permute(0, 2, 3, 1).numpy(), rtol=1e-5, atol=1e-5
    )
    np.testing.assert_allclose(layer.u.numpy(), reference.weight_u.numpy(), atol=1e-6)
    np.testing.assert_allclose(layer.v.numpy(), reference.weight_v.numpy(), atol=1e-6)
    np.testing.assert_allclose(
        gradient.numpy(),
        reference.weight_orig.grad.numpy().transpose(2, 3, 1, 0),
        rtol=1e-4,
        atol=1e-4,
    )


def _roundtrip(layer):
    return type(layer).from_config(layer.get_config()).get_config() == layer.get_config()


def test_blocks_serialize_every_constructor_argument():
    for layer in (
        InstanceNormalization(epsilon=1e-3, precision="float64"),
        ReflectionPadding2D(2),
        LeadingCrop2D(2),
        BatchSplit(3),
        ImageFrame((256, 256), (256, 176), 6.0),
        SpectralNormConv2D(4, 3, strides=2, padding=1, use_bias=False, power_iterations=2),
        ContextAugmentBlock(4, feedforward_dim=16, negative_slope=0.2, epsilon=1e-3),
        TextureTransferBlock(4, feedforward_dim=16, negative_slope=0.2, epsilon=1e-3),
        AttentionSublayer(4, epsilon=1e-3),
        FeedForward(hidden_dim=16, negative_slope=0.2, epsilon=1e-3),
        PoseTransformerModule(num_heads=4, num_cabs=3, num_ttbs=1, negative_slope=0.2),
    ):
        assert _roundtrip(layer), type(layer).__name__


def test_pose_transformer_returns_attention_maps_that_are_distributions():
    ptm = PoseTransformerModule(num_heads=2, num_cabs=1, num_ttbs=2)
    f_ss, f_st, f_s = (RNG.normal(size=(1, 4, 3, 8)).astype("float32") for _ in range(3))
    output, scores = ptm(f_ss, f_st, f_s, return_attention_scores=True)
    assert output.shape == (1, 4, 3, 8)
    assert sorted(scores) == [
        "context_augment_block_0/self_attention",
        "texture_transfer_block_0/cross_attention",
        "texture_transfer_block_0/self_attention",
        "texture_transfer_block_1/cross_attention",
        "texture_transfer_block_1/self_attention",
    ]
    cross = np.asarray(scores["texture_transfer_block_1/cross_attention"])
    assert cross.shape == (1, 2, 12, 12)
    np.testing.assert_allclose(cross.sum(-1), 1.0, atol=1e-5)
    np.testing.assert_allclose(ptm(f_ss, f_st, f_s), output, atol=1e-6)


def test_pose_transformer_values_come_from_the_source_features():
    """Changing F_s changes the output, but a constant offset of F_s does not: it moves every
    value equally and the instance norm over the tokens removes it."""
    ptm = PoseTransformerModule(num_heads=1, num_cabs=0, num_ttbs=1)
    f_ss, f_st, f_s, noise = (RNG.normal(size=(1, 2, 2, 4)).astype("float32") for _ in range(4))
    base = np.asarray(ptm(f_ss, f_st, f_s))
    np.testing.assert_allclose(ptm(f_ss, f_st, f_s + 1.0), base, atol=1e-4)
    assert not np.allclose(base, ptm(f_ss, f_st, f_s + noise), atol=1e-3)


def test_heads_must_divide_the_width():
    with pytest.raises(ValueError, match="not divisible by num_heads=3"):
        ContextAugmentBlock(3)(np.zeros((1, 4, 8), "float32"))
