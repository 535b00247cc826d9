"""Datasets, one home for all: the offline/real data contract, the chapters' synthetic data
and the vision loaders."""

from .digits import (
    CUE_COLOURS,
    DIGIT_SOURCES,
    ClutteredDigits,
    CuedDigits,
    make_cluttered_digits,
    make_cued_digits,
)
from .regression1d import RegressionData, make_regression_data, target_function
from .sequences import (
    LookupData,
    ReversalData,
    SortingData,
    make_lookup_task,
    make_reversal_task,
    make_sorting_task,
)
from .white_patch import WhitePatchImages, make_white_patch_images, white_patch_stl10
from .device_loader import DeviceLoader
from .routes import (
    DATA_ROOT_ENV_VAR,
    DATA_ROUTE_ENV_VAR,
    DATA_ROUTES,
    DatasetUnavailableError,
    choose_data_route,
    data_root,
    fetch_torchvision_dataset,
)
from .vision import OFFLINE_TASKS, REAL_DATASETS, VisionData, batch_loader, vision_data

__all__ = [
    "CUE_COLOURS",
    "DIGIT_SOURCES",
    "OFFLINE_TASKS",
    "REAL_DATASETS",
    "ClutteredDigits",
    "CuedDigits",
    "VisionData",
    "batch_loader",
    "make_cluttered_digits",
    "make_cued_digits",
    "vision_data",
    "WhitePatchImages",
    "make_white_patch_images",
    "white_patch_stl10",
    "DATA_ROOT_ENV_VAR",
    "DATA_ROUTE_ENV_VAR",
    "DeviceLoader",
    "data_root",
    "DATA_ROUTES",
    "DatasetUnavailableError",
    "LookupData",
    "RegressionData",
    "ReversalData",
    "SortingData",
    "choose_data_route",
    "fetch_torchvision_dataset",
    "make_lookup_task",
    "make_regression_data",
    "make_reversal_task",
    "make_sorting_task",
    "target_function",
]
