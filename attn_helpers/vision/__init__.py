"""The vision harness: small backbones with an attention slot, image data, fair comparisons.

* :mod:`.backbones`: :class:`ResNetCifar` and :class:`VGGCifar`;
* :mod:`.datasets`: :func:`vision_data` (offline cluttered digits or torchvision
  CIFAR-10 / STL-10) and :func:`make_cluttered_digits`;
* :mod:`.budget`: :func:`count_parameters`, :func:`count_flops`,
  :func:`train_and_evaluate` and :func:`results_table`;
* :mod:`.latency`: :func:`time_forward_backward`.
"""

from .backbones import ATTENTION_POSITIONS, BasicBlock, ResNetCifar, VGGCifar
from .budget import ResultRow, count_flops, count_parameters, results_table, train_and_evaluate
from .latency import time_forward_backward
from .datasets import (
    DIGIT_SOURCES,
    REAL_DATASETS,
    ClutteredDigits,
    VisionData,
    batch_loader,
    make_cluttered_digits,
    vision_data,
)

__all__ = [
    "ATTENTION_POSITIONS",
    "BasicBlock",
    "ClutteredDigits",
    "DIGIT_SOURCES",
    "REAL_DATASETS",
    "ResNetCifar",
    "ResultRow",
    "VGGCifar",
    "VisionData",
    "batch_loader",
    "count_flops",
    "count_parameters",
    "make_cluttered_digits",
    "results_table",
    "train_and_evaluate",
    "time_forward_backward",
    "vision_data",
]
