"""Helper package of the book *Attention, Hands-On*.

Notebooks tell the story; this package holds what they reuse: run setup (device,
seed, profile), the data contract, the training loop with checkpoints, plotting,
and the attention modules of each chapter.
"""

from .attention_pooling import (
    KERNELS,
    NadarayaWatsonRegression,
    attention_weights,
    average_pooling,
    boxcar_kernel,
    epanechnikov_kernel,
    gaussian_kernel,
    nadaraya_watson,
)
from .checkpoint import capture_rng_state, load_checkpoint, restore_rng_state, save_checkpoint
from .attention_mass import (
    MassSummary,
    attention_mass_in_box,
    box_area_fraction,
    box_masks,
    collect_attention_maps,
    show_attention_on_images,
    summarise_attention_mass,
    upsample_maps,
)
from .bam import BAM, BAM_COMBINES
from .cbam import CBAM, CBAM_ORDERS, ChannelAttention, SpatialAttention
from .ltpa import COMPATIBILITIES, LTPAAttention, LTPAVGG
from .data import (
    WhitePatchImages,
    make_white_patch_images,
    white_patch_stl10,
    DATA_ROUTE_ENV_VAR,
    DATA_ROUTES,
    DatasetUnavailableError,
    LookupData,
    RegressionData,
    ReversalData,
    choose_data_route,
    fetch_torchvision_dataset,
    make_lookup_task,
    make_regression_data,
    make_reversal_task,
    target_function,
)
from .device import choose_device
from .efficient_channel import EfficientChannelAttention, eca_kernel_size
from .keep_maps import set_keep_maps
from .masking import check_mask, combine_masks, lengths_to_mask, masked_softmax, padding_mask
from .multihead import MultiHeadAttention
from .positional import PositionalEncoding, sinusoidal_encoding
from .scoring import AdditiveAttention, DotProductAttention, check_qkv
from .transformer import TransformerEncoder, TransformerEncoderBlock
from .plotting import plot_history, show_heatmaps
from .profile import PROFILE_ENV_VAR, PROFILE_NAMES, RunProfile, describe_run, get_profile
from .seed import seed_everything
from .selective_kernel import SelectiveKernel, sk_groups
from .squeeze_excite import SE_GATES, SE_POOLINGS, SqueezeExcite, se_hidden_channels
from .training import History, accuracy, evaluate, fit
from .vision import (
    ATTENTION_POSITIONS,
    BasicBlock,
    ClutteredDigits,
    ResNetCifar,
    ResultRow,
    VGGCifar,
    VisionData,
    batch_loader,
    count_flops,
    count_parameters,
    make_cluttered_digits,
    results_table,
    time_forward_backward,
    train_and_evaluate,
    vision_data,
)

__version__ = "0.1.0"

__all__ = [
    "time_forward_backward",
    "EfficientChannelAttention",
    "eca_kernel_size",
    "WhitePatchImages",
    "make_white_patch_images",
    "white_patch_stl10",
    "BAM",
    "BAM_COMBINES",
    "CBAM",
    "CBAM_ORDERS",
    "COMPATIBILITIES",
    "ChannelAttention",
    "LTPAAttention",
    "LTPAVGG",
    "MassSummary",
    "SpatialAttention",
    "attention_mass_in_box",
    "box_area_fraction",
    "box_masks",
    "collect_attention_maps",
    "show_attention_on_images",
    "summarise_attention_mass",
    "upsample_maps",
    "ATTENTION_POSITIONS",
    "BasicBlock",
    "ClutteredDigits",
    "ResNetCifar",
    "ResultRow",
    "SE_GATES",
    "SE_POOLINGS",
    "SelectiveKernel",
    "SqueezeExcite",
    "VGGCifar",
    "VisionData",
    "batch_loader",
    "count_flops",
    "count_parameters",
    "make_cluttered_digits",
    "results_table",
    "se_hidden_channels",
    "set_keep_maps",
    "sk_groups",
    "train_and_evaluate",
    "vision_data",
    "AdditiveAttention",
    "DotProductAttention",
    "LookupData",
    "MultiHeadAttention",
    "PositionalEncoding",
    "ReversalData",
    "TransformerEncoder",
    "TransformerEncoderBlock",
    "check_mask",
    "check_qkv",
    "combine_masks",
    "lengths_to_mask",
    "make_lookup_task",
    "make_reversal_task",
    "masked_softmax",
    "padding_mask",
    "sinusoidal_encoding",
    "DATA_ROUTES",
    "DATA_ROUTE_ENV_VAR",
    "DatasetUnavailableError",
    "History",
    "KERNELS",
    "NadarayaWatsonRegression",
    "PROFILE_ENV_VAR",
    "PROFILE_NAMES",
    "RegressionData",
    "RunProfile",
    "accuracy",
    "attention_weights",
    "average_pooling",
    "boxcar_kernel",
    "capture_rng_state",
    "choose_data_route",
    "choose_device",
    "describe_run",
    "epanechnikov_kernel",
    "evaluate",
    "fetch_torchvision_dataset",
    "fit",
    "gaussian_kernel",
    "get_profile",
    "load_checkpoint",
    "make_regression_data",
    "nadaraya_watson",
    "plot_history",
    "restore_rng_state",
    "save_checkpoint",
    "seed_everything",
    "show_heatmaps",
    "target_function",
]
