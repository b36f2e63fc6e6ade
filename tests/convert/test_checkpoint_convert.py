"""The checkpoint importer: other configurations and sizes, key naming variants, refusals."""

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from dptn_tf.convert import (
    CheckpointError,
    import_discriminator,
    import_generator,
    infer_generator_config,
)

torch = pytest.importorskip("torch", reason="the PyTorch reference needs torch")
from helpers import torch_reference  # noqa: E402  (after the torch skip above)

REPO = Path(__file__).resolve().parents[2]
TOLERANCE = 1e-4
SMALL = dict(ngf=16, img_f=64, layers=3, num_blocks=1, num_cabs=1, num_ttbs=1)


def _numpy(state_dict):
    return {k: v.numpy() for k, v in state_dict.items()}


def _nhwc(x):
    return x.permute(0, 2, 3, 1).numpy()


@pytest.mark.parametrize(
    "config, nhead, size",
    [
        (dict(ngf=16, img_f=64, layers=4, num_blocks=2, num_cabs=1, num_ttbs=3), 4, (64, 48)),
        (dict(ngf=8, img_f=32, layers=3, num_blocks=0, num_cabs=3, num_ttbs=1), 1, (64, 44 * 2)),
        (dict(ngf=16, img_f=128, layers=2, num_blocks=3, num_cabs=0, num_ttbs=2), 8, (32, 24)),
    ],
)
def test_other_official_configurations_and_sizes(config, nhead, size):
    state = torch_reference.random_generator_state_dict(seed=1, **config)
    generator, inferred = import_generator(_numpy(state), nhead=nhead)
    for field in ("ngf", "layers", "num_blocks", "num_cabs", "num_ttbs"):
        assert getattr(inferred, field) == config[field]
    rng = torch.Generator().manual_seed(2)
    h, w = size
    source = torch.rand(2, 3, h, w, generator=rng) * 2 - 1
    poses = torch.rand(2, 18, h, w, generator=rng), torch.rand(2, 18, h, w, generator=rng)
    expected_target, expected_source = torch_reference.generator_forward(
        state,
        source,
        *poses,
        nhead=nhead,
        **{k: config[k] for k in ("layers", "num_blocks", "num_cabs", "num_ttbs")},
    )
    outputs = generator(
        {
            "source_image": _nhwc(source),
            "source_pose": _nhwc(poses[0]),
            "target_pose": _nhwc(poses[1]),
        }
    )
    assert np.abs(outputs["generated_target"] - _nhwc(expected_target)).max() < TOLERANCE
    assert np.abs(outputs["reconstructed_source"] - _nhwc(expected_source)).max() < TOLERANCE


@pytest.mark.parametrize("ndf, img_f, layers, size", [(16, 64, 4, (64, 48)), (8, 64, 2, (32, 32))])
def test_other_discriminator_configurations(ndf, img_f, layers, size):
    state = torch_reference.random_discriminator_state_dict(ndf, img_f, layers, seed=3)
    discriminator, config = import_discriminator(_numpy(state))
    assert (config.dis_ndf, config.dis_layers) == (ndf, layers)
    image = torch.rand(2, 3, *size, generator=torch.Generator().manual_seed(4)) * 2 - 1
    expected = torch_reference.discriminator_forward(state, image, layers)
    assert np.abs(discriminator(_nhwc(image)) - _nhwc(expected)).max() < TOLERANCE


def test_dataparallel_prefix_and_transformer_name_are_accepted():
    state = _numpy(torch_reference.random_generator_state_dict(**SMALL))
    renamed = {"module." + k.replace("PTM.", "transformer."): v for k, v in state.items()}
    plain, _ = import_generator(state)
    wrapped, _ = import_generator(renamed)
    for a, b in zip(plain.weights, wrapped.weights):
        np.testing.assert_array_equal(a.numpy(), b.numpy())


def test_default_img_f_is_kept_when_it_explains_the_widths():
    state = _numpy(
        torch_reference.random_generator_state_dict(
            ngf=64, img_f=512, layers=3, num_blocks=0, num_cabs=0, num_ttbs=0
        )
    )
    assert infer_generator_config(state).img_f == 512


@pytest.fixture
def small_state():
    return _numpy(torch_reference.random_generator_state_dict(**SMALL))


def test_missing_key_is_refused_by_name(small_state):
    del small_state["PTM.decoder.layers.0.norm2.bias"]
    with pytest.raises(
        CheckpointError, match=r"missing key 'PTM\.decoder\.layers\.0\.norm2\.bias'"
    ):
        import_generator(small_state)


def test_unexpected_key_is_refused_by_name(small_state):
    small_state["decoder0.model.0.running_mean"] = np.zeros(64, np.float32)
    with pytest.raises(CheckpointError, match=r"unexpected key 'decoder0\.model\.0\.running_mean'"):
        import_generator(small_state)


def test_wrong_shape_is_refused_with_both_shapes(small_state):
    small_state["decoder1.model.2.weight"] = np.zeros((16, 32, 5, 5), np.float32)
    with pytest.raises(
        CheckpointError,
        match=r"'decoder1\.model\.2\.weight' has shape \(16, 32, 5, 5\).*"
        r"decoder1_conv/kernel.*\(3, 3, 32, 16\)",
    ):
        import_generator(small_state)


def test_alias_that_disagrees_is_refused(small_state):
    small_state["outconv.conv1.weight"] = small_state["outconv.conv1.weight"] + 1
    with pytest.raises(CheckpointError, match="outconv.conv1.weight"):
        import_generator(small_state)


def test_nhead_that_does_not_divide_the_width_is_refused(small_state):
    with pytest.raises(CheckpointError, match="nhead 3"):
        import_generator(small_state, nhead=3)


def test_discriminator_state_dict_given_as_generator_is_refused():
    state = _numpy(torch_reference.random_discriminator_state_dict(8, 32, 2))
    with pytest.raises(CheckpointError, match="missing key 'block0.model.0.weight'"):
        import_generator(state)


def test_cli_refuses_a_corrupted_checkpoint_and_writes_nothing(tmp_path):
    generator_state = torch_reference.random_generator_state_dict(**SMALL)
    torch.save(generator_state, tmp_path / "G.pth")
    discriminator_state = torch_reference.random_discriminator_state_dict(8, 32, 2)
    discriminator_state["encoder0.model.3.weight_v"] = torch.zeros(7)
    torch.save(discriminator_state, tmp_path / "D.pth")
    out = tmp_path / "out"
    result = subprocess.run(
        [
            sys.executable,
            str(REPO / "tools" / "convert_torch_checkpoint.py"),
            str(tmp_path / "G.pth"),
            "--discriminator",
            str(tmp_path / "D.pth"),
            "--out",
            str(out),
        ],
        capture_output=True,
        text=True,
    )
    assert result.returncode == 1
    assert "encoder0.model.3.weight_v" in result.stderr and "(7,)" in result.stderr
    assert not out.exists()
