"""Datasets: the offline/real data contract and the chapters' synthetic data."""

from .regression1d import RegressionData, make_regression_data, target_function
from .sequences import LookupData, ReversalData, make_lookup_task, make_reversal_task
from .white_patch import WhitePatchImages, make_white_patch_images, white_patch_stl10
from .routes import (
    DATA_ROUTE_ENV_VAR,
    DATA_ROUTES,
    DatasetUnavailableError,
    choose_data_route,
    fetch_torchvision_dataset,
)

__all__ = [
    "WhitePatchImages",
    "make_white_patch_images",
    "white_patch_stl10",
    "DATA_ROUTE_ENV_VAR",
    "DATA_ROUTES",
    "DatasetUnavailableError",
    "LookupData",
    "RegressionData",
    "ReversalData",
    "choose_data_route",
    "fetch_torchvision_dataset",
    "make_lookup_task",
    "make_regression_data",
    "make_reversal_task",
    "target_function",
]
