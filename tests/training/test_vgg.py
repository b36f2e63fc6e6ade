"""The VGG19 feature extractor: torchvision conversion, Keras ImageNet variant, errors."""

import keras
import numpy as np
import pytest

from dptn_tf.files.weight_files import VGG19_TORCHVISION as VGG19
from dptn_tf.training import vgg

# torchvision's `vgg19().features`: 3x3 conv (+ ReLU) widths, "M" a 2x2 max pool.
_TORCHVISION_CFG = [64, 64, "M", 128, 128, "M", 256, 256, 256, 256, "M",
                    512, 512, 512, 512, "M", 512, 512, 512, 512, "M"]  # fmt: skip
# torchvision `features` index of each ReLU the extractor returns.
_TORCHVISION_RELU = {
    "relu1_1": 1,
    "relu2_1": 6,
    "relu2_2": 8,
    "relu3_1": 11,
    "relu3_4": 17,
    "relu4_1": 20,
    "relu4_4": 26,
    "relu5_1": 29,
    "relu5_2": 31,
}


def _random_torchvision_state(torch):
    """torchvision's VGG19 `features` keys and shapes, plus classifier keys the loader must skip."""
    generator = torch.Generator().manual_seed(0)
    state, index, channels = {}, 0, 3
    for item in _TORCHVISION_CFG:
        if item == "M":
            index += 1
            continue
        std = (2.0 / (9 * channels)) ** 0.5
        weight = torch.randn(item, channels, 3, 3, generator=generator) * std
        state[f"features.{index}.weight"] = weight
        state[f"features.{index}.bias"] = torch.randn(item, generator=generator) * 0.1
        index, channels = index + 2, item
    for i, (n_in, n_out) in zip((0, 3, 6), ((25088, 16), (16, 16), (16, 1000))):
        # The real classifier is 25088x4096x4096x1000; only the key names matter here.
        state[f"classifier.{i}.weight"] = torch.zeros(n_out, n_in)
        state[f"classifier.{i}.bias"] = torch.zeros(n_out)
    return state


def _torch_reference(torch, state, images):
    """torchvision's VGG19 features forward with torch.nn.functional, the taps by name."""
    functional = torch.nn.functional
    x = torch.from_numpy(images).permute(0, 3, 1, 2)
    taps, index = {}, 0
    for item in _TORCHVISION_CFG:
        if item == "M":
            x = functional.max_pool2d(x, 2, 2)
            index += 1
            continue
        weight, bias = state[f"features.{index}.weight"], state[f"features.{index}.bias"]
        x = functional.relu(functional.conv2d(x, weight, bias, padding=1))
        taps[index + 1] = x.permute(0, 2, 3, 1).numpy()
        index += 2
    return {name: taps[i] for name, i in _TORCHVISION_RELU.items()}


def test_torchvision_weights_match_torch_forward(tmp_path, monkeypatch):
    torch = pytest.importorskip("torch", reason="converting a .pth needs torch")
    state = _random_torchvision_state(torch)
    torch.save(state, tmp_path / VGG19.pattern)
    monkeypatch.setenv("DPTN_WEIGHTS_DIR", str(tmp_path))
    monkeypatch.setenv("HOME", str(tmp_path / "home"))

    model = vgg.build_vgg19_features("torchvision")

    images = np.random.default_rng(0).uniform(-1, 1, (2, 32, 32, 3)).astype("float32")
    features = model(images)
    expected = _torch_reference(torch, state, images)
    assert sorted(features) == sorted(vgg.FEATURE_LAYERS)
    for name in vgg.FEATURE_LAYERS:
        assert features[name].shape == expected[name].shape, name
        np.testing.assert_allclose(features[name], expected[name], atol=1e-4, err_msg=name)
    assert not model.trainable and not model.trainable_weights


def test_torchvision_missing_file_names_every_place_and_the_url(tmp_path, monkeypatch):
    monkeypatch.setenv("DPTN_WEIGHTS_DIR", str(tmp_path / "weights"))
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "torch"))
    with pytest.raises(FileNotFoundError) as info:
        vgg.build_vgg19_features("torchvision")
    message = str(info.value)
    for place in (
        tmp_path / "weights",
        tmp_path / "torch/hub/checkpoints",
        VGG19.pattern,
        VGG19.url,
    ):
        assert str(place) in message
    with pytest.raises(FileNotFoundError, match=r"loss.vgg_path: .*given.pth not found"):
        vgg.build_vgg19_features("torchvision", path=str(tmp_path / "given.pth"))


def test_torchvision_search_order(tmp_path, monkeypatch):
    monkeypatch.setenv("DPTN_WEIGHTS_DIR", str(tmp_path / "weights"))
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "torch"))
    hub = tmp_path / "torch/hub/checkpoints" / VGG19.pattern
    chosen_dir = tmp_path / "weights" / VGG19.pattern
    given = tmp_path / "mine.pth"
    for file in (hub, chosen_dir, given):
        file.parent.mkdir(parents=True, exist_ok=True)
        file.touch()
    assert vgg.find_torchvision_weights(str(given)) == given
    assert vgg.find_torchvision_weights() == chosen_dir
    chosen_dir.unlink()
    assert vgg.find_torchvision_weights() == hub


def test_imagenet_weights_use_caffe_preprocessing(tmp_path):
    reference = keras.applications.VGG19(include_top=False, weights=None)
    file = tmp_path / "vgg19_notop.weights.h5"
    reference.save_weights(file)

    model = vgg.build_vgg19_features("imagenet", path=str(file))

    images = np.random.default_rng(1).uniform(-1, 1, (1, 32, 32, 3)).astype("float32")
    features = model(images)
    taps = keras.Model(reference.input, reference.get_layer("block5_conv2").output)
    expected = taps(keras.applications.vgg19.preprocess_input((images + 1.0) * 127.5))
    np.testing.assert_allclose(features["relu5_2"], expected, rtol=1e-4, atol=1e-4)


def test_imagenet_missing_file_is_a_clear_error(tmp_path):
    with pytest.raises(FileNotFoundError, match=vgg.KERAS_IMAGENET_FILE):
        vgg.build_vgg19_features("imagenet", path=str(tmp_path / "missing.h5"))


@pytest.mark.parametrize(
    "policy, computes_in", [("mixed_float16", "float32"), ("mixed_bfloat16", "bfloat16")]
)
def test_random_weights_warn_and_compute_in_float32_or_bfloat16(policy, computes_in):
    keras.mixed_precision.set_global_policy(policy)
    try:
        with pytest.warns(UserWarning, match="random weights"):
            model = vgg.build_vgg19_features("none")
        features = model(np.zeros((1, 16, 16, 3), "float32"))
    finally:
        keras.mixed_precision.set_global_policy("float32")
    computing = [layer for layer in model.layers if not isinstance(layer, keras.layers.InputLayer)]
    assert {layer.compute_dtype for layer in computing} == {computes_in}
    # frozen weights are stored in the dtype they compute in (no cast at every pass)
    assert {keras.backend.standardize_dtype(w.dtype) for w in model.weights} == {computes_in}
    assert {keras.backend.standardize_dtype(f.dtype) for f in features.values()} == {computes_in}
    assert features["relu5_2"].shape == (1, 1, 1, 512)


def test_unknown_weight_source():
    with pytest.raises(ValueError, match="loss.vgg_weights"):
        vgg.build_vgg19_features("caffe")


def test_caffe_preprocessing_round_trips():
    layer = vgg.CaffePreprocessing(name="pre")
    restored = keras.layers.deserialize(keras.layers.serialize(layer))
    assert isinstance(restored, vgg.CaffePreprocessing) and restored.name == "pre"
