"""Training of the hair model (the ``train`` extra: torch, onnx, tqdm): package code.

The data it learns from is made elsewhere (the twin's :mod:`sim.dataset`, or a clinic's
annotated images through :func:`load_real_dir`); this package holds the net, the loss and
training loop with checkpoints that resume, and the export to FP32 and INT8 ONNX with the
manifest. ``scripts/train_model.py`` wires the two. Importing this package needs numpy
only; torch is imported by the functions that use it.
"""

from inference.training.export import (
    ExportSettings,
    QuantizationError,
    export_fp32,
    golden_record,
    quantize_qdq,
    set_output_gain,
    write_int8_and_manifest,
)
from inference.training.loop import TrainSettings, train
from inference.training.net import NET_SHAPE, blend_with_onnx, load_onnx_weights, make_net
from inference.training.realdata import load_real_dir, random_crop

__all__ = [
    "NET_SHAPE",
    "ExportSettings",
    "QuantizationError",
    "TrainSettings",
    "blend_with_onnx",
    "export_fp32",
    "golden_record",
    "load_onnx_weights",
    "load_real_dir",
    "make_net",
    "quantize_qdq",
    "random_crop",
    "set_output_gain",
    "train",
    "write_int8_and_manifest",
]
