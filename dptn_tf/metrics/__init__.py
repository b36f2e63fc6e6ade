"""The paper's evaluation: SSIM, PSNR, L1, MAE, LPIPS and FID, as DPTN's metrics script has them.

Imports `data`, `convert`, `files` and `pose`. The networks (InceptionV3 for FID, AlexNet + linear
layers for LPIPS) are Keras models whose weights are converted on load from the PyTorch files the
published figures were computed with (`dptn_tf.files.weight_files` says where they are looked
for). Reading them needs torch (an optional extra); importing this package does not.
"""

from dptn_tf.convert.named_layers import assign_state_dict
from dptn_tf.files.weight_files import find_weight_file, weights_dir
from dptn_tf.metrics.alexnet import build_alexnet_features
from dptn_tf.metrics.body_mask import body_mask
from dptn_tf.metrics.evaluation import DATASETS, PAPER_RESULTS, evaluate, score_pairs
from dptn_tf.metrics.fid import (
    Statistics,
    cached_folder_statistics,
    folder_statistics,
    frechet_distance,
    images_used,
    inception_features,
)
from dptn_tf.metrics.image_quality import l1, mae, pad_to_256, psnr, ssim, ssim_256
from dptn_tf.metrics.images import (
    ground_truth_name,
    list_images,
    pair_with_ground_truth,
)
from dptn_tf.metrics.inception import build_inception_v3, load_inception_v3
from dptn_tf.metrics.lpips import build_lpips, load_lpips

__all__ = [
    "DATASETS",
    "PAPER_RESULTS",
    "Statistics",
    "assign_state_dict",
    "body_mask",
    "build_alexnet_features",
    "build_inception_v3",
    "build_lpips",
    "cached_folder_statistics",
    "evaluate",
    "find_weight_file",
    "folder_statistics",
    "frechet_distance",
    "ground_truth_name",
    "images_used",
    "inception_features",
    "l1",
    "list_images",
    "load_inception_v3",
    "load_lpips",
    "mae",
    "pad_to_256",
    "pair_with_ground_truth",
    "psnr",
    "score_pairs",
    "ssim",
    "ssim_256",
    "weights_dir",
]
