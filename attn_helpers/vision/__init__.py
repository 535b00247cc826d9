"""The vision harness: small backbones with an attention slot and fair comparisons.

* :mod:`.backbones`: :class:`ResNetCifar` and :class:`VGGCifar`;
* :mod:`.budget`: :func:`count_parameters`, :func:`count_flops`,
  :func:`train_and_evaluate` and :func:`results_table`;
* :mod:`.latency`: :func:`time_forward_backward`;
* :mod:`.plan`: :func:`plan_paired` / :func:`plan_runs` (a comparison's size, download and
  estimated T4 time, before it starts) and :class:`RunClock` (its ETA once it has);
* :mod:`.vit`: :class:`VisionTransformer` and :func:`attention_rollout`.

The images they train on live with every other dataset, in :mod:`attn_helpers.data`.
"""

from .backbones import ATTENTION_POSITIONS, BasicBlock, ResNetCifar, VGGCifar
from .budget import ResultRow, count_flops, count_parameters, results_table, train_and_evaluate, train_paired
from .latency import time_forward_backward
from .plan import RunClock, RunPlan, plan_paired, plan_runs
from .vit import PatchEmbedding, VisionTransformer, attention_rollout

__all__ = [
    "ATTENTION_POSITIONS",
    "BasicBlock",
    "ResNetCifar",
    "ResultRow",
    "RunClock",
    "RunPlan",
    "VGGCifar",
    "count_flops",
    "count_parameters",
    "plan_paired",
    "plan_runs",
    "results_table",
    "train_and_evaluate",
    "train_paired",
    "time_forward_backward",
    "PatchEmbedding",
    "VisionTransformer",
    "attention_rollout",
]
