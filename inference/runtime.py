"""The network runner: an abstract base, the onnxruntime implementation, and a fake for tests."""

from __future__ import annotations

import abc
import logging
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray

from dermocap.errors import ModelError

log = logging.getLogger(__name__)

F32 = NDArray[np.float32]


class MapRuntime(abc.ABC):
    """Runs the density network.

    An implementation provides :meth:`run`, taking a float32 batch (n, 3, h, w)
    with h and w multiples of the stride, returning float32 maps
    (n, 3, h / stride, w / stride); and an idempotent :meth:`close`. ``version`` names the
    engine and its version (results carry it: kernels change counts in the last digits).
    """

    version: str = "unknown"

    @abc.abstractmethod
    def run(self, batch: F32) -> F32:
        """Maps for a batch of normalised tiles."""

    def close(self) -> None:  # noqa: B027 - a runtime without resources need not override
        """Release the runtime's resources; safe to call twice."""


class OnnxMapRuntime(MapRuntime):
    """onnxruntime on the CPU with a fixed number of intra-op threads.

    Raises:
        ModelError: the file is missing or onnxruntime cannot load it.
    """

    def __init__(self, path: Path, *, threads: int) -> None:
        import onnxruntime as ort

        self.version = f"onnxruntime {ort.__version__}"

        self.path = path
        so = ort.SessionOptions()
        so.intra_op_num_threads = threads
        so.inter_op_num_threads = 1
        so.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
        so.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        so.log_severity_level = 3
        # The CPU arena keeps the buffers of the largest run for good: ~70 MB resident after
        # one full frame, on a rig with 512 MB. Without it the buffers are freed after each
        # run (with the unit's malloc settings they leave the resident set); a full frame ran
        # no slower without it here (docs/model_card.md, Measured).
        so.enable_cpu_mem_arena = False
        try:
            self._session: Any = ort.InferenceSession(
                str(path), so, providers=["CPUExecutionProvider"]
            )
        except Exception as exc:  # onnxruntime raises its own, unrelated classes
            raise ModelError(
                f"model file {path} could not be loaded by onnxruntime ({exc}); "
                "reinstall dermocap or pick another --model"
            ) from None
        inputs = self._session.get_inputs()
        if len(inputs) != 1 or len(inputs[0].shape) != 4:
            raise ModelError(f"model file {path} does not take one (n, 3, h, w) image")
        self._input = inputs[0].name

    @property
    def metadata(self) -> dict[str, str]:
        """The custom metadata stored in the ONNX file."""
        out: dict[str, str] = dict(self._session.get_modelmeta().custom_metadata_map)
        return out

    def run(self, batch: F32) -> F32:
        if self._session is None:
            raise ModelError(f"model {self.path} is closed")
        try:
            out = self._session.run(None, {self._input: batch})[0]
        except Exception as exc:  # a wrong file can load and still fail to run
            raise ModelError(f"model file {self.path} failed to run: {exc}") from None
        arr: F32 = np.asarray(out, dtype=np.float32)
        return arr

    def close(self) -> None:
        self._session = None


class FunctionRuntime(MapRuntime):
    """A runtime that calls a plain function: the fake for tests of tiling and post-processing."""

    version = "function"

    def __init__(self, fn: Callable[[F32], F32]) -> None:
        self._fn = fn

    def run(self, batch: F32) -> F32:
        return self._fn(batch)
