"""The official DPTN code (github.com/PangzeCheung/Dual-task-Pose-Transformer-Network) in this
process, for the benchmarks that run it beside dptn-tf.

It is never part of this repository: `extract_official` writes it at run time into a temporary
folder from a git mirror (`git archive HEAD`). `import_official` imports its `DPTN_model` with
the modules it needs only for saving pictures (cv2, its pose drawing) stubbed out and
torchvision's VGG19 built without a download. `same_networks` and `same_vgg` give dptn-tf the
official model's weights (`dptn_tf.convert`), so that both sides start from the same point.
"""

from __future__ import annotations

import contextlib
import site
import subprocess
import sys
import tempfile
import types
from pathlib import Path

DEFAULT_MIRROR = "/work/.mirror/PangzeCheung+Dual-task-Pose-Transformer-Network/repo"
VGG19_CFG = [64, 64, "M", 128, 128, "M", 256, 256, 256, 256, "M",
             512, 512, 512, 512, "M", 512, 512, 512, 512, "M"]  # fmt: skip


def add_official_arguments(parser) -> None:
    """`--official PATH` (a checkout) and `--official-git GIT_DIR` (a mirror to extract from)."""
    parser.add_argument("--official", help="a checkout of the official repository")
    parser.add_argument(
        "--official-git",
        default=DEFAULT_MIRROR,
        help="git directory to extract the official code from (default: %(default)s)",
    )


@contextlib.contextmanager
def official_root(args):
    """The official code's folder: `args.official` as it is, else the HEAD of
    `args.official_git` extracted into a temporary folder that is removed afterwards."""
    if args.official:
        yield Path(args.official)
        return
    with tempfile.TemporaryDirectory() as tmp:
        yield extract_official(args.official_git, Path(tmp))


def extract_official(git_dir: str, destination: Path) -> Path:
    """`git archive HEAD` of the official repository's mirror into `destination`."""
    archive = subprocess.run(
        ["git", "-C", git_dir, "archive", "HEAD"], check=True, capture_output=True
    ).stdout
    subprocess.run(["tar", "-x", "-C", str(destination)], input=archive, check=True)
    return destination


def _torchvision_stub(torch):
    """`torchvision.models.vgg19(pretrained=...)` with torchvision's layout and no download."""

    def vgg19(pretrained=False, **kwargs):
        layers, channels = [], 3
        for item in VGG19_CFG:
            if item == "M":
                layers.append(torch.nn.MaxPool2d(2, 2))
            else:
                layers += [
                    torch.nn.Conv2d(channels, item, 3, padding=1),
                    torch.nn.ReLU(inplace=True),
                ]
                channels = item
        return types.SimpleNamespace(features=torch.nn.Sequential(*layers))

    package = types.ModuleType("torchvision")
    package.models = types.ModuleType("torchvision.models")
    package.models.vgg19 = vgg19
    return package


def import_official(root: Path, torch):
    """The official `models.DPTN_model` module, importable without cv2, torchvision or its
    drawing utilities (used only to save pictures)."""
    torchvision = _torchvision_stub(torch)
    stubs = {
        "cv2": types.ModuleType("cv2"),
        "torchvision": torchvision,
        "torchvision.models": torchvision.models,
        "util.pose_utils": types.ModuleType("util.pose_utils"),
        "util.util": types.ModuleType("util.util"),
    }
    for name, module in stubs.items():
        sys.modules.setdefault(name, module)
    site.addsitedir(str(root))  # the official code's root, where its packages are
    import util  # the official package; its stubbed submodules are set on it below

    util.pose_utils, util.util = stubs["util.pose_utils"], stubs["util.util"]
    from models import DPTN_model

    return DPTN_model


def official_options(height, width, dis_layers, losses, lr=2e-4, **options):
    """The options `DPTNModel` reads, with the official training defaults; `losses` gives
    `lambda_rec`, `lambda_g` and `t_s_ratio`, `options` any other option by its name."""
    defaults = dict(
        gpu_ids=[],
        isTrain=True,
        checkpoints_dir=tempfile.gettempdir(),
        name="benchmark",
        old_size=(height, width),
        t_s_ratio=losses["t_s_ratio"],
        nhead=2,
        num_CABs=2,
        num_TTBs=2,
        model="DPTN",
        init_type="orthogonal",
        norm="instance",
        use_spect_g=False,
        use_spect_d=True,
        use_coord=False,
        dis_layers=dis_layers,
        pool_size=0,
        lr=lr,
        ratio_g2d=0.1,
        beta1=0.5,
        gan_mode="lsgan",
        lambda_rec=losses["lambda_rec"],
        lambda_g=losses["lambda_g"],
        lambda_content=0.5,
        lambda_style=500.0,
        lr_policy="lambda",
        niter=100,
        niter_decay=100,
        iter_start=1,
        continue_train=False,
        verbose=False,
        image_nc=3,
        structure_nc=18,
        device="cpu",
        which_epoch="latest",
    )
    unknown = set(options) - set(defaults)
    if unknown:
        raise ValueError(f"official_options: unknown option(s) {sorted(unknown)}")
    return types.SimpleNamespace(**{**defaults, **options})


def resize_generator(dptn_model, **sizes) -> None:
    """Make `DPTNModel` build its generator with `sizes` (`ngf`, `img_f`, `num_blocks`) instead
    of the paper's, which it hard-codes: a smaller DPTN of the same structure. It patches the
    imported module for the rest of the process: call it once, in a process of its own."""
    define_g = dptn_model.networks.define_G

    def define_resized(*args, **kwargs):
        return define_g(*args, **{**kwargs, **sizes})

    dptn_model.networks.define_G = define_resized


def nchw(torch, array):
    return torch.from_numpy(array.transpose(0, 3, 1, 2).copy())


def official_step(official, torch, batch: dict) -> dict:
    """One `optimize_parameters` (D, then G) of the official model on an NHWC numpy training
    batch -> its loss terms by name (`dptn_tf.training.LOSS_NAMES`)."""
    from dptn_tf.training import LOSS_NAMES

    for role in ("source", "target"):
        setattr(official, f"{role}_image", nchw(torch, batch[f"{role}_image"]))
        setattr(official, f"{role}_pose", nchw(torch, batch[f"{role}_pose"]))
    official.optimize_parameters()
    return {n: getattr(official, f"loss_{n}").item() for n in LOSS_NAMES}


def redraw_as_keras(official, torch) -> None:
    """Give the official generator and discriminator Keras' default start instead of their own
    (`init_weights`' orthogonal kernels of gain 0.02): every convolution and linear kernel
    Glorot-uniform (PyTorch's `xavier_uniform_` computes the same fans), every bias 0; the
    attention's packed input projection keeps PyTorch's draw. The same seed gives the same
    weights."""
    for network in (official.net_G, official.net_D):
        for module in network.modules():
            kind = type(module).__name__
            if "Conv" in kind or "Linear" in kind:
                # torch's spectral norm keeps the parameter as `weight_orig`
                weight = getattr(module, "weight_orig", module.weight)
                torch.nn.init.xavier_uniform_(weight.data)
                if module.bias is not None:
                    torch.nn.init.zeros_(module.bias.data)


def same_networks(official):
    """dptn-tf's generator and discriminator holding the official model's weights."""
    from dptn_tf.convert import import_discriminator, import_generator

    generator, config = import_generator(
        {k: v.detach().numpy() for k, v in official.net_G.state_dict().items()},
        nhead=official.opt.nhead,
    )
    if not hasattr(official, "net_D"):
        return generator, None
    discriminator = import_discriminator(
        {k: v.detach().numpy() for k, v in official.net_D.state_dict().items()}, config
    )[0]
    return generator, discriminator


def same_vgg(official, torch):
    """dptn-tf's VGG19 features holding the official VGGLoss's (random) weights."""
    from dptn_tf.training.vgg import _conv_layers, _vgg19_network

    vgg = _vgg19_network()
    convs = [m for m in official.Vggloss.vgg.modules() if isinstance(m, torch.nn.Conv2d)]
    for layer, conv in zip(_conv_layers(vgg), convs):  # the official net has more: unused
        layer.set_weights(
            [conv.weight.detach().numpy().transpose(2, 3, 1, 0), conv.bias.detach().numpy()]
        )
    vgg.trainable = False
    return vgg
