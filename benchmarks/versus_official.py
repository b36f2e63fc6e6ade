"""dptn-tf side by side with the official PyTorch code: same weights, same batches, same process.

    python benchmarks/versus_official.py                        # official code from the mirror
    python benchmarks/versus_official.py --official PATH        # a checkout of the official repo
    python benchmarks/versus_official.py --rounds 5 --threads 1 2

The official code (github.com/PangzeCheung/Dual-task-Pose-Transformer-Network) is never part of
this repository: by default it is extracted at run time into a temporary folder from the git
mirror named by `--official-git` (`git archive HEAD`), or read from `--official`. Its own
`DPTNModel.optimize_parameters` is timed (forward, D update, G update), with the modules it needs
only for saving pictures (cv2, its pose drawing) stubbed out and torchvision's VGG19 given the
same random weights as dptn-tf's (no download). Its generator and discriminator weights are
imported into dptn-tf with `dptn_tf.convert`, and the losses of the first step are compared, so
both sides are known to compute the same thing before they are timed.

Each thread count runs in a fresh process (TensorFlow fixes its thread pools at start-up), with
PyTorch and TensorFlow given that many threads. The two frameworks alternate, round by round, so
load from other processes falls on both alike; the figures are medians over the rounds.
"""

from __future__ import annotations

import argparse
import json
import os
import site
import statistics
import subprocess
import sys
import tempfile
import time
import types
from pathlib import Path

DEFAULT_MIRROR = "/work/.mirror/PangzeCheung+Dual-task-Pose-Transformer-Network/repo"
VGG19_CFG = [64, 64, "M", 128, 128, "M", 256, 256, 256, 256, "M",
             512, 512, 512, 512, "M", 512, 512, 512, 512, "M"]  # fmt: skip
# name, height, width, batch, discriminator layers, loss weights (docs/design.md, "Training")
TRAINING_CASES = (
    ("Market-1501 128x64, batch 4", 128, 64, 4, 3,
     {"lambda_rec": 2.0, "lambda_g": 5.0, "t_s_ratio": 0.8}),
    ("DeepFashion 256x176, batch 1", 256, 176, 1, 4,
     {"lambda_rec": 5.0, "lambda_g": 2.0, "t_s_ratio": 0.5}),
)
INFERENCE_CASES = (("generator inference 256x176, batch 1", 256, 176, 1),)


def extract_official(git_dir: str, destination: Path) -> Path:
    """`git archive HEAD` of the official repository's mirror into `destination`."""
    archive = subprocess.run(["git", "-C", git_dir, "archive", "HEAD"], check=True,
                             capture_output=True).stdout
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
                layers += [torch.nn.Conv2d(channels, item, 3, padding=1),
                           torch.nn.ReLU(inplace=True)]
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
    stubs = {"cv2": types.ModuleType("cv2"), "torchvision": torchvision,
             "torchvision.models": torchvision.models,
             "util.pose_utils": types.ModuleType("util.pose_utils"),
             "util.util": types.ModuleType("util.util")}
    for name, module in stubs.items():
        sys.modules.setdefault(name, module)
    site.addsitedir(str(root))  # the official code's root, where its packages are
    import util  # the official package; its stubbed submodules are set on it below

    util.pose_utils, util.util = stubs["util.pose_utils"], stubs["util.util"]
    from models import DPTN_model

    return DPTN_model


def official_options(height, width, dis_layers, losses, lr=2e-4):
    """The options `DPTNModel` reads, with the official training defaults."""
    return types.SimpleNamespace(
        gpu_ids=[], isTrain=True, checkpoints_dir=tempfile.gettempdir(), name="benchmark",
        old_size=(height, width), t_s_ratio=losses["t_s_ratio"], nhead=2, num_CABs=2,
        num_TTBs=2, model="DPTN", init_type="orthogonal", norm="instance", use_spect_g=False,
        use_spect_d=True, use_coord=False, dis_layers=dis_layers, pool_size=0, lr=lr,
        ratio_g2d=0.1, beta1=0.5, gan_mode="lsgan", lambda_rec=losses["lambda_rec"],
        lambda_g=losses["lambda_g"], lambda_content=0.5, lambda_style=500.0,
        lr_policy="lambda", niter=100, niter_decay=100, iter_start=1, continue_train=False,
        verbose=False, image_nc=3, structure_nc=18, device="cpu", which_epoch="latest")


def _nchw(torch, array):
    return torch.from_numpy(array.transpose(0, 3, 1, 2).copy())


def run_cases(official_root: Path, threads: int, rounds: int, precision: str) -> list[dict]:
    """Everything timed at one thread count (called in a fresh process)."""
    os.environ["TF_NUM_INTRAOP_THREADS"] = str(threads)
    import torch

    from machine import configure_threads

    configure_threads(threads)
    torch.set_num_threads(threads)
    import keras

    from dptn_tf.training.distribute import set_precision

    dptn_model = import_official(official_root, torch)
    results = []
    for run_case, cases in ((training_case, TRAINING_CASES), (inference_case, INFERENCE_CASES)):
        for case in cases:
            keras.backend.clear_session()  # which also resets the precision policy
            set_precision(precision == "mixed")
            results.append(run_case(dptn_model, torch, case, rounds))
    return results


def _same_networks(official):
    """dptn-tf's generator and discriminator holding the official model's weights."""
    from dptn_tf.convert import import_discriminator, import_generator

    generator, config = import_generator(
        {k: v.detach().numpy() for k, v in official.net_G.state_dict().items()})
    if not hasattr(official, "net_D"):
        return generator, None
    discriminator = import_discriminator(
        {k: v.detach().numpy() for k, v in official.net_D.state_dict().items()}, config)[0]
    return generator, discriminator


def _same_vgg(official, torch):
    """dptn-tf's VGG19 features holding the official VGGLoss's (random) weights."""
    from dptn_tf.training.vgg import _conv_layers, _vgg19_network

    vgg = _vgg19_network()
    convs = [m for m in official.Vggloss.vgg.modules() if isinstance(m, torch.nn.Conv2d)]
    for layer, conv in zip(_conv_layers(vgg), convs):
        layer.set_weights([conv.weight.detach().numpy().transpose(2, 3, 1, 0),
                           conv.bias.detach().numpy()])
    vgg.trainable = False
    return vgg


def training_case(dptn_model, torch, case, rounds: int) -> dict:
    """One official `optimize_parameters` against one `fit` train step, interleaved."""
    import tensorflow as tf

    from dptn_tf.config import LossConfig, TrainConfig
    from dptn_tf.training import DPTN, LOSS_NAMES, make_optimizers
    from machine import random_batch

    name, height, width, batch, dis_layers, losses = case
    torch.manual_seed(0)
    official = dptn_model.DPTNModel(official_options(height, width, dis_layers, losses))
    generator, discriminator = _same_networks(official)
    model = DPTN(generator, discriminator, _same_vgg(official, torch), LossConfig(**losses))
    model.compile(*make_optimizers(TrainConfig(), steps_per_epoch=1000))
    data = random_batch(batch, (height, width))
    dataset = iter(tf.data.Dataset.from_tensors(data).repeat())
    model.make_train_function()

    def official_step():
        official.source_image, official.source_pose = (
            _nchw(torch, data["source_image"]), _nchw(torch, data["source_pose"]))
        official.target_image, official.target_pose = (
            _nchw(torch, data["target_image"]), _nchw(torch, data["target_pose"]))
        official.optimize_parameters()
        return {n: getattr(official, f"loss_{n}").item() for n in LOSS_NAMES}

    def ours_step():
        logs = model.train_function(dataset)
        return {n: float(logs[n]) for n in LOSS_NAMES}

    first_official, first_ours = official_step(), ours_step()
    agreement = max(abs(first_ours[n] - first_official[n]) / max(abs(first_official[n]), 1e-12)
                    for n in LOSS_NAMES)
    return dict(name=name, batch=batch, loss_rel_difference=agreement,
                **_interleaved(official_step, ours_step, rounds))


def inference_case(dptn_model, torch, case, rounds: int) -> dict:
    """The official generator's test-time forward against dptn-tf's inference generator."""
    import numpy as np
    import tensorflow as tf

    from dptn_tf.models import inference_generator
    from machine import random_batch

    name, height, width, batch = case
    torch.manual_seed(0)
    official = dptn_model.DPTNModel(official_options(height, width, 4, TRAINING_CASES[1][5]))
    official.net_G.eval()
    generator = inference_generator(_same_networks(official)[0])
    data = random_batch(batch, (height, width))
    names = ("source_image", "source_pose", "target_pose")
    torch_inputs = [_nchw(torch, data[k]) for k in names]
    tf_inputs = {k: tf.constant(data[k]) for k in names}
    forward = tf.function(lambda x: generator(x, training=False))

    def official_inference():
        with torch.no_grad():
            return official.net_G(*torch_inputs, False)[0].numpy()

    def ours_inference():
        return forward(tf_inputs).numpy()

    expected = official_inference().transpose(0, 2, 3, 1)
    difference = float(np.max(np.abs(ours_inference() - expected)) / np.max(np.abs(expected)))
    return dict(name=name, batch=batch, output_rel_difference=difference,
                **_interleaved(official_inference, ours_inference, rounds))


def _interleaved(official_fn, ours_fn, rounds: int) -> dict:
    """Median wall and CPU seconds of each; CPU time (all threads of the process) is what a
    one-thread run costs whatever else the machine is doing."""
    official_fn(), ours_fn()  # warm-up
    times = {f"{key}_{kind}": [] for key in ("official", "ours") for kind in ("s", "cpu_s")}
    for _ in range(rounds):
        for key, fn in (("official", official_fn), ("ours", ours_fn)):
            start, cpu = time.perf_counter(), time.process_time()
            fn()
            times[f"{key}_s"].append(time.perf_counter() - start)
            times[f"{key}_cpu_s"].append(time.process_time() - cpu)
    return {key: statistics.median(values) for key, values in times.items()}


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--official", help="a checkout of the official repository")
    parser.add_argument(
        "--official-git",
        default=DEFAULT_MIRROR,
        help="git directory to extract the official code from (default: %(default)s)",
    )
    parser.add_argument("--threads", nargs="+", type=int,
                        default=[1, os.cpu_count() or 1], help="thread counts, one process each")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--precision", choices=("float32", "mixed"), default="float32",
                        help="dptn-tf's precision (the official code runs in float32)")
    parser.add_argument("--worker", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)

    with tempfile.TemporaryDirectory() as tmp:
        root = Path(args.official) if args.official else extract_official(args.official_git,
                                                                          Path(tmp))
        if args.worker is not None:
            results = run_cases(root, args.worker, args.rounds, args.precision)
            print("RESULTS " + json.dumps(results))
            return
        print(f"official code: {args.official or args.official_git}; dptn-tf precision "
              f"{args.precision}; {args.rounds} interleaved rounds, medians")
        print(f"{'work':<38}{'threads':>8}{'official s':>11}{'dptn-tf s':>10}{'speed-up':>9}"
              f"{'CPU-s speed-up':>15}  check")
        for threads in dict.fromkeys(args.threads):
            command = [sys.executable, __file__, "--official", str(root), "--rounds",
                       str(args.rounds), "--precision", args.precision, "--worker", str(threads)]
            output = subprocess.run(command, check=True, capture_output=True, text=True).stdout
            line = next(x for x in output.splitlines() if x.startswith("RESULTS "))
            for r in json.loads(line[len("RESULTS "):]):
                check = (f"losses rel diff {r['loss_rel_difference']:.0e}"
                         if "loss_rel_difference" in r
                         else f"output rel diff {r['output_rel_difference']:.0e}")
                print(f"{r['name']:<38}{threads:>8}{r['official_s']:>11.3f}{r['ours_s']:>10.3f}"
                      f"{r['official_s'] / r['ours_s']:>8.2f}x"
                      f"{r['official_cpu_s'] / r['ours_cpu_s']:>14.2f}x  {check}", flush=True)


if __name__ == "__main__":
    main()
