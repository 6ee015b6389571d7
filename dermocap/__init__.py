"""Shared kernel of dermocap: version, exception tree, atomic files, ids, clocks.

The subsystem packages (device, capture, inference, sync, sim) all stand on this
small package; it holds no hardware, no I/O device and no configuration.
"""

from dermocap.errors import DermocapError

__version__ = "0.1.0"

__all__ = ["DermocapError", "__version__"]
