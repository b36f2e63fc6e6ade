"""Two DPTN training steps reproduce two official ones
(../shared/fixtures/dptn_train_step_96x48.npz).

The fixture (described in ../shared/DESIGN.md, "Fixtures") holds the official G and D before the
first step, two batches, and what `DPTNModel.optimize_parameters` made of them: the eight losses
and learning rates of each step, the weights after each step, and Adam's first moments, which at
step 1 are half the gradients. Here the same weights go through `keras.Model.fit` (one step an
epoch, so the logs are the step's losses), with the optimizers `make_optimizers` builds and
torchvision's VGG19 layout read from a `.pth` file by `build_vgg19_features`.

Tensors are compared in Keras' layout: a fixture array (weights, or moments, which have the
weights' shapes) becomes a state dict and is imported by `dptn_tf.convert` into a network of its
own, whose variables line up with the trained network's.
"""

import json
import warnings

import keras
import numpy as np
import pytest
import tensorflow as tf

from dptn_tf.config import LossConfig, TrainConfig
from dptn_tf.convert import import_discriminator, import_generator
from dptn_tf.training import DPTN, LOSS_NAMES, make_optimizers
from dptn_tf.training.vgg import build_vgg19_features

torch = pytest.importorskip("torch", reason="writing the VGG19 .pth needs torch")

FIXTURE = "dptn_train_step_96x48.npz"
# DESIGN.md's tolerances for a faithful port.
LOSS_RTOL = 1e-4
LR_RTOL = 1e-6
D_GRADIENT_RTOL = {1: 2e-3, 2: 1e-2}
G_GRADIENT_RTOL = 1e-2
ADAM_ATOL_LR = 1e-3
SPECTRAL_ATOL = 1e-4
WEIGHT_ATOL_LR = 0.05
# torchvision's VGG19 `features`: conv widths, "M" a max pool.
VGG19_CFG = [64, 64, "M", 128, 128, "M", 256, 256, 256, 256, "M",
             512, 512, 512, 512, "M", 512, 512, 512, 512, "M"]  # fmt: skip


def _random_vgg19_state(seed: int) -> dict:
    """The fixture's random VGG19: RandomState(seed), per conv a He-scaled weight then a bias."""
    rng = np.random.RandomState(seed)
    state, index, channels = {}, 0, 3
    for item in VGG19_CFG:
        if item == "M":
            index += 1
            continue
        weight = rng.standard_normal((item, channels, 3, 3)) * np.sqrt(2.0 / (item * 9))
        state[f"features.{index}.weight"] = weight.astype(np.float32)
        state[f"features.{index}.bias"] = (rng.standard_normal(item) * 0.01).astype(np.float32)
        index, channels = index + 2, item
    return state


def _state_dict(meta: dict, network: str, flat: np.ndarray, names: list, fill=None) -> dict:
    """Split a flat fixture array over `names` (its keys, in order) and add the aliases; keys
    the array does not hold (spectral-norm vectors of a moment array) come from `fill`."""
    state = dict(fill or {})
    offset = 0
    for name in names:
        shape = meta["shapes"][network][name]
        size = int(np.prod(shape))
        state[name] = flat[offset : offset + size].reshape(shape)
        offset += size
    assert offset == flat.size, f"{network}: {flat.size} values for {offset} in the keys"
    for alias, kept in meta["aliases"].get(network, {}).items():
        state[alias] = state[kept]
    return state


class Fixture:
    """The fixture's arrays, and its tensors as Keras variables in the trained networks' order."""

    def __init__(self, path):
        self.arrays = dict(np.load(path))
        self.meta = json.loads(str(self.arrays["meta"]))
        self.config = self.meta["config"]
        self.init_state = {
            net: _state_dict(self.meta, net, self.arrays[f"init/{net}"], self.meta["keys"][net])
            for net in ("G", "D")
        }

    def generator(self, array="init/G", names="keys"):
        state = _state_dict(self.meta, "G", self.arrays[array], self.meta[names]["G"])
        return import_generator(state, nhead=self.config["nhead"])

    def discriminator(self, array="init/D", names="keys"):
        state = _state_dict(
            self.meta, "D", self.arrays[array], self.meta[names]["D"], fill=self.init_state["D"]
        )
        return import_discriminator(state)[0]

    def generator_values(self, array, names="keys"):
        return [v.numpy() for v in self.generator(array, names)[0].trainable_variables]

    def discriminator_values(self, array, names="keys", trainable=True):
        network = self.discriminator(array, names)
        variables = network.trainable_variables if trainable else network.non_trainable_variables
        return [v.numpy() for v in variables]

    def batch(self, index):
        return {
            name: self.arrays[f"batch{index}/{name}"]
            for name in ("source_image", "source_pose", "target_image", "target_pose")
        }


def _relative(actual, expected):
    return float(np.linalg.norm(actual - expected) / max(np.linalg.norm(expected), 1e-30))


@pytest.fixture(scope="module")
def run(fixtures_dir, tmp_path_factory):
    """Two training steps from the fixture's weights; the state after each."""
    fixture = Fixture(fixtures_dir / FIXTURE)
    config = fixture.config
    vgg_state = _random_vgg19_state(config["vgg_seed"])
    checksum = sum(float(v[..., :2].sum()) for v in vgg_state.values())  # float32 sums
    assert checksum == pytest.approx(fixture.meta["vgg_checksum"], rel=1e-9)
    vgg_file = tmp_path_factory.mktemp("vgg") / "vgg19-dcbb9e9d.pth"
    torch.save({k: torch.from_numpy(v) for k, v in vgg_state.items()}, vgg_file)

    keras.utils.set_random_seed(0)
    generator, model_config = fixture.generator()
    assert (model_config.ngf, model_config.img_f, model_config.layers) == (16, 32, 3)
    discriminator = fixture.discriminator()
    loss = LossConfig(
        **{
            k: config[k]
            for k in ("lambda_rec", "lambda_g", "lambda_content", "lambda_style", "t_s_ratio")
        }
    )
    model = DPTN(generator, discriminator, build_vgg19_features("torchvision", str(vgg_file)), loss)
    train = TrainConfig(
        lr=config["lr"],
        beta1=config["beta1"],
        beta2=config["beta2"],
        d_lr_ratio=config["d_lr_ratio"],
        niter=config["niter"],
        niter_decay=config["niter_decay"],
    )
    model.compile(*make_optimizers(train, config["steps_per_epoch"]))
    optimizers = {"G": model.generator_optimizer, "D": model.discriminator_optimizer}
    networks = {"G": generator, "D": discriminator}

    states = {0: _snapshot(networks, optimizers)}
    for step in (1, 2):
        batch = tf.data.Dataset.from_tensors(fixture.batch(step - 1))
        learning_rates = [float(optimizers[n].learning_rate) for n in ("G", "D")]
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            history = model.fit(batch, epochs=1, verbose=0).history
        states[step] = _snapshot(networks, optimizers)
        states[step]["losses"] = {name: history[name][0] for name in LOSS_NAMES}
        states[step]["lr"] = learning_rates
    return fixture, states


def _snapshot(networks, optimizers) -> dict:
    snapshot = {}
    for name, network in networks.items():
        optimizer = optimizers[name]
        snapshot[name] = [v.numpy() for v in network.trainable_variables]
        snapshot[f"{name}_buffers"] = [v.numpy() for v in network.non_trainable_variables]
        if optimizer.built:
            order = [optimizer._get_variable_index(v) for v in network.trainable_variables]
            snapshot[f"{name}_m"] = [optimizer._momentums[i].numpy() for i in order]
            snapshot[f"{name}_v"] = [optimizer._velocities[i].numpy() for i in order]
    return snapshot


@pytest.mark.parametrize("step", [1, 2])
def test_losses_and_learning_rates(run, step):
    fixture, states = run
    expected = fixture.meta["runs"]["pytorch"][step - 1]
    for name in LOSS_NAMES:
        assert states[step]["losses"][name] == pytest.approx(
            expected["losses"][name], rel=LOSS_RTOL
        ), name
    np.testing.assert_allclose(states[step]["lr"], expected["lr"], rtol=LR_RTOL)


def test_generator_gradients_at_step_1(run):
    """Adam's first moment after step 1 is (1 - beta1) * gradient: compared normwise per tensor,
    each within 1e-2 or twice the official float32 gradient's own distance from float64."""
    fixture, states = run
    ours = states[1]["G_m"]
    official = fixture.generator_values("pytorch/1/G_m", "params")
    official64 = fixture.generator_values("pytorch_f64/1/G_m", "params")
    for i, (a, b, b64) in enumerate(zip(ours, official, official64, strict=True)):
        tolerance = max(G_GRADIENT_RTOL, 2 * _relative(b, b64))
        assert _relative(a, b) <= tolerance, (i, a.shape, _relative(a, b), tolerance)


@pytest.mark.parametrize("step", [1, 2])
def test_discriminator_gradients(run, step):
    fixture, states = run
    beta1 = fixture.config["beta1"]
    official = fixture.discriminator_values(f"pytorch/{step}/D_m", "params")
    if step == 1:
        ours, theirs = states[1]["D_m"], official
    else:  # m2 = beta1 m1 + (1 - beta1) g2: compare the gradients' share
        previous = fixture.discriminator_values("pytorch/1/D_m", "params")
        ours = [m2 - beta1 * m1 for m2, m1 in zip(states[2]["D_m"], states[1]["D_m"])]
        theirs = [m2 - beta1 * m1 for m2, m1 in zip(official, previous)]
    for i, (a, b) in enumerate(zip(ours, theirs, strict=True)):
        assert _relative(a, b) <= D_GRADIENT_RTOL[step], (i, a.shape, _relative(a, b))


@pytest.mark.parametrize("step", [1, 2])
def test_spectral_norm_vectors(run, step):
    fixture, states = run
    official = fixture.discriminator_values(f"pytorch/{step}/D", trainable=False)
    for a, b in zip(states[step]["D_buffers"], official, strict=True):
        np.testing.assert_allclose(a, b, rtol=0, atol=SPECTRAL_ATOL)


@pytest.mark.parametrize("network, step", [("G", 1), ("D", 1), ("D", 2)])
def test_updated_weights(run, network, step):
    """Where the gradient is above float noise (|g| >= 1e-4 and >= 1e-2 of the tensor's RMS),
    the weights after the step are the official ones to 0.05 lr."""
    fixture, states = run
    lr = fixture.meta["runs"]["pytorch"][step - 1]["lr"][network == "D"]
    values = fixture.generator_values if network == "G" else fixture.discriminator_values
    official = values(f"pytorch/{step}/{network}")
    beta1 = fixture.config["beta1"]
    checked = 0
    for i, (ours, theirs) in enumerate(zip(states[step][network], official, strict=True)):
        m_now, m_before = states[step][f"{network}_m"][i], states[step - 1][f"{network}_m"][i]
        gradient = (m_now - beta1 * m_before) / (1 - beta1)
        rms = np.sqrt(np.mean(gradient**2))
        above_noise = (np.abs(gradient) >= 1e-4) & (np.abs(gradient) >= 1e-2 * rms)
        error = np.abs(ours - theirs)[above_noise]
        assert error.size == 0 or error.max() <= WEIGHT_ATOL_LR * lr, (i, ours.shape, error.max())
        checked += error.size
    assert checked > 0.5 * sum(w.size for w in official)


@pytest.mark.parametrize("network, step", [("G", 1), ("G", 2), ("D", 1), ("D", 2)])
def test_adam_update_is_torch_formula(run, network, step):
    """Element by element, weights with gradients ~1e-8 included:
    `w -= lr / (1 - b1^t) * m / (sqrt(v) / sqrt(1 - b2^t) + eps)` to 1e-3 lr."""
    fixture, states = run
    config = fixture.config
    lr = fixture.meta["runs"]["pytorch"][step - 1]["lr"][network == "D"]
    b1, b2 = config["beta1"], config["beta2"]
    before, after = states[step - 1][network], states[step][network]
    tiny = 0
    for w0, w1, m, v in zip(
        before, after, states[step][f"{network}_m"], states[step][f"{network}_v"], strict=True
    ):
        m, v = m.astype(np.float64), v.astype(np.float64)
        update = lr / (1 - b1**step) * m / (np.sqrt(v) / np.sqrt(1 - b2**step) + 1e-8)
        moved = w0.astype(np.float64) - w1
        # float32 rounding of the weight itself is the floor of what can be compared.
        floor = 2 * np.spacing(np.abs(w0).astype(np.float32)).astype(np.float64)
        np.testing.assert_array_less(np.abs(moved - update), ADAM_ATOL_LR * lr + floor)
        tiny += int(np.sum(np.abs(m) < 1e-7))
    if network == "G" and step == 1:
        assert tiny > 0  # gradients of order 1e-8 exist (conv biases before an instance norm)
