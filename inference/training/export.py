"""Export a trained net: FP32 ONNX, INT8 QDQ ONNX, the golden check image and the manifest."""

from __future__ import annotations

import hashlib
import io
import os
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray
from PIL import Image

from dermocap.fsutil import atomic_write_bytes, atomic_write_json
from inference.manifest import MANIFEST_NAME, Golden, Manifest, model_entries, read_manifest
from inference.preprocess import normalise
from inference.targets import DIAMETER_SCALE_UM, VELLUS_SPLIT_UM
from inference.training.loop import TARGET_GAIN
from inference.training.net import count_head

U8 = NDArray[np.uint8]
F32 = NDArray[np.float32]

FP32_NAME = "hair_density_fp32.onnx"
INT8_NAME = "hair_density_int8.onnx"
GOLDEN_NAME = "golden.png"  # the check image of the load-time self-check


@dataclass(frozen=True)
class ExportSettings:
    """The model's identity and input contract, written into the files and the manifest."""

    name: str
    version: str
    native_um_per_px: float
    stride: int
    margin_px: int

    def metadata(self) -> dict[str, str]:
        return {
            "name": self.name,
            "version": self.version,
            "native_um_per_px": str(self.native_um_per_px),
            "stride": str(self.stride),
            "margin_px": str(self.margin_px),
        }


def export_fp32(net: Any, out: Path, settings: ExportSettings) -> Path:
    """The FP32 ONNX file of ``net`` (count maps only, training gain folded into the head)."""
    import onnx
    import torch

    out.mkdir(parents=True, exist_ok=True)
    count_head(net)
    with torch.no_grad():
        net.head.weight /= TARGET_GAIN
        net.head.bias /= TARGET_GAIN
    fp32 = out / FP32_NAME
    dummy = torch.zeros(1, 3, 256, 256)
    # The TorchScript exporter on purpose: the dynamo one needs onnxscript, not a dependency.
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        torch.onnx.export(
            net,
            (dummy,),
            str(fp32),
            input_names=["image"],
            output_names=["maps"],
            dynamic_axes={"image": {0: "n", 2: "h", 3: "w"}, "maps": {0: "n", 2: "hc", 3: "wc"}},
            opset_version=17,
            dynamo=False,
        )
    model = onnx.load(str(fp32))
    for k, v in settings.metadata().items():
        entry = model.metadata_props.add()
        entry.key, entry.value = k, v
    onnx.save(model, str(fp32))
    return fp32


class QuantizationError(RuntimeError):
    """The INT8 file would fail its own load-time self-check: it was not written."""


def _check_count(model: Path, image: U8) -> float:
    """The hair count (terminal plus vellus map sums) of an ONNX file on ``image``."""
    import onnxruntime as ort

    sess = ort.InferenceSession(str(model), providers=["CPUExecutionProvider"])
    maps = sess.run(None, {"image": normalise(image)[None]})[0][0]
    return float(maps[0].sum() + maps[1].sum())


def golden_record(fp32: Path, image: U8) -> tuple[Golden, bytes]:
    """The self-check image as PNG bytes and FP32's answer on it (the manifest's ``golden``).

    ``image`` is at the model's native scale: the runtime's resampling is not part of
    the check, the network and its kernels are. Nothing is written: the caller writes the
    PNG once the INT8 file has passed, so a refused build leaves the folder as it was.
    """
    import onnxruntime as ort

    png = io.BytesIO()
    Image.fromarray(np.ascontiguousarray(image), "RGB").save(png, format="PNG")
    data = png.getvalue()
    sess = ort.InferenceSession(str(fp32), providers=["CPUExecutionProvider"])
    maps = sess.run(None, {"image": normalise(image)[None]})[0][0]
    sums = (float(maps[0].sum()), float(maps[1].sum()), float(maps[2].sum()))
    sha = hashlib.sha256(data).hexdigest()
    return Golden(file=GOLDEN_NAME, sha256=sha, map_sums=sums), data


def quantize_qdq(fp32: Path, int8: Path, calib: list[F32], *, float_head: bool = False) -> None:
    """``int8``: ``fp32`` through quant_pre_process and QDQ static quantisation, calibrated on
    ``calib`` (normalised NCHW inputs): per-channel int8 weights reduced to 7 bits, uint8
    activations. ``scripts/bench_arch.py`` times candidate nets quantised by this too.

    ``float_head`` leaves the last conv (the 1x1 head) in float: its outputs, the count maps,
    are then not rounded to the uint8 steps of their calibrated range. A net trained with
    photometric augmentation read 15 % low in INT8 (FP32 right) until its head stayed float
    (docs/model_card.md); 2.1.0 is better with its head quantised.

    Weights are quantised to 7 bits (``reduce_range``): onnxruntime's U8S8 kernels on x86
    CPUs without VNNI (AVX2, AVX-512 without VNNI) sum pairs of u8 x s8 products in 16 bits
    (VPMADDUBSW), which saturates with full-range weights. A model quantised with 8-bit
    weights read 28-37 % too many hairs on such a machine and was right on others; with 7-bit
    weights every kernel gives the same answer (ARM's dot-product kernels never saturate).
    """
    import onnx
    from onnxruntime.quantization import (
        CalibrationDataReader,
        QuantFormat,
        QuantType,
        quantize_static,
    )
    from onnxruntime.quantization.shape_inference import quant_pre_process

    pre = int8.with_name(f".{int8.stem}_pre.onnx")
    quant_pre_process(str(fp32), str(pre))
    convs = [n.name for n in onnx.load(str(pre)).graph.node if n.op_type == "Conv"]
    exclude = convs[-1:] if float_head else []

    class Reader(CalibrationDataReader):  # type: ignore[misc]
        def __init__(self) -> None:
            self._it = iter(calib)

        def get_next(self) -> dict[str, F32] | None:
            x = next(self._it, None)
            return None if x is None else {"image": x}

    try:
        quantize_static(
            str(pre),
            str(int8),
            Reader(),
            quant_format=QuantFormat.QDQ,
            per_channel=True,
            activation_type=QuantType.QUInt8,
            weight_type=QuantType.QInt8,
            reduce_range=True,
            nodes_to_exclude=exclude,
        )
    finally:
        pre.unlink(missing_ok=True)


def write_int8_and_manifest(
    out: Path,
    calib: list[F32],
    golden_image: U8,
    training: dict[str, Any],
    settings: ExportSettings,
    *,
    float_head: bool = False,
) -> Manifest:
    """The INT8 file from ``out``'s FP32 one (metadata carried over), the golden image and
    ``manifest.json`` with every file's SHA-256 and the ``training`` record (``float_head``:
    see :func:`quantize_qdq`).

    Raises:
        QuantizationError: the new INT8 file counts the check image beyond the tolerance
            :meth:`HairModel.self_check` allows, so it would refuse to load. The previous
            INT8 file, check image and manifest are then left as they were.
    """
    import onnx

    fp32 = out / FP32_NAME
    int8 = out / INT8_NAME
    if not fp32.is_file():
        raise FileNotFoundError(f"{fp32} not found: train first")
    meta = {p.key: p.value for p in onnx.load(str(fp32)).metadata_props}
    golden, png = golden_record(fp32, golden_image)
    new = int8.with_name(f".{int8.stem}_new.onnx")
    try:
        quantize_qdq(fp32, new, calib, float_head=float_head)
        m8 = onnx.load(str(new))
        del m8.metadata_props[:]
        for k, v in meta.items():
            entry = m8.metadata_props.add()
            entry.key, entry.value = k, v
        onnx.save(m8, str(new))
        got = _check_count(new, golden_image)
        if not golden.accepts(got):
            raise QuantizationError(
                f"the INT8 file counts {got:.2f} hairs on the check image where the FP32 file "
                f"counts {golden.hairs:.2f}, beyond the {golden.tolerance:.0%} the runtime "
                f"accepts: it would refuse to load, so {int8} was "
                f"{'left as it was' if int8.is_file() else 'not written'}. The FP32 file is "
                "complete; remake the INT8 one with --quantize-only and --float-head or "
                "more --calib-worlds, or ship FP32 only"
            )
        with open(new, "rb") as fh:
            os.fsync(fh.fileno())
        new.replace(int8)
    finally:
        new.unlink(missing_ok=True)
    # The INT8 file, the check image, then the manifest that names both: a build stopped in
    # between leaves a folder that refuses to load (SHA-256 mismatch) until it is rerun.
    atomic_write_bytes(out / GOLDEN_NAME, png, mode=0o644)
    manifest = Manifest(
        name=meta.get("name", settings.name),
        version=meta.get("version", settings.version),
        native_um_per_px=settings.native_um_per_px,
        stride=settings.stride,
        margin_px=settings.margin_px,
        diameter_scale_um=DIAMETER_SCALE_UM,
        vellus_split_um=VELLUS_SPLIT_UM,
        models=model_entries({"int8": int8, "fp32": fp32}),
        training=training,
        golden=golden,
    )
    atomic_write_json(out / MANIFEST_NAME, manifest.model_dump(), mode=0o644)
    return manifest


def set_output_gain(out: Path, variant: str, gain: float) -> None:
    """Record ``gain`` for ``variant``'s file in ``out``'s manifest (atomically)."""
    m = read_manifest(out / MANIFEST_NAME)
    entry = m.models[variant].model_copy(update={"output_gain": round(gain, 6)})
    m = m.model_copy(update={"models": {**m.models, variant: entry}})
    m = Manifest.model_validate(m.model_dump())  # the range check of output_gain
    atomic_write_json(out / MANIFEST_NAME, m.model_dump(), mode=0o644)
