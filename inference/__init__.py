"""On-device hair density: an INT8 ONNX model measuring hair density and thickness.

Public API::

    from inference import HairModel
    with HairModel.load("int8", threads=2) as model:
        metrics = model.analyze(rgb, um_per_px=5.2)      # -> HairMetrics
        overlay = render_overlay(rgb, metrics)

Pre- and post-processing are pure numpy functions in :mod:`inference.preprocess`
and :mod:`inference.postprocess`. This package never imports device, capture,
sync or sim.
"""

from dermocap.errors import ImageError, ModelError
from inference.cli import add_analyze_parser
from inference.config import InferenceConfig
from inference.metrics import EmergencePoint, HairMetrics
from inference.model import HairModel, ModelSpec, packaged_models_dir, resolve_model
from inference.overlay import render_overlay, save_overlay
from inference.runtime import FunctionRuntime, MapRuntime, OnnxMapRuntime

__all__ = [
    "EmergencePoint",
    "FunctionRuntime",
    "HairMetrics",
    "HairModel",
    "ImageError",
    "InferenceConfig",
    "MapRuntime",
    "ModelError",
    "ModelSpec",
    "OnnxMapRuntime",
    "add_analyze_parser",
    "packaged_models_dir",
    "render_overlay",
    "resolve_model",
    "save_overlay",
]
