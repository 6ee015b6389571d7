"""Base of every config section: unknown keys refused, values frozen after load.

Each package defines its own section models on :class:`Section`; ``device``
composes them into the one tree read from the TOML file.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict


class Section(BaseModel):
    """A config section: ``extra="forbid"`` so a typo is an error, not a silent default."""

    model_config = ConfigDict(extra="forbid", frozen=True, validate_default=True)
