"""Message models of every MQTT channel: the source of the AsyncAPI contract.

Every message carries ``message_id`` (a UUIDv7) and ``seq``. ``seq`` is the per-device
outbox sequence for durable messages (results, events, image manifests and chunks) and
``null`` for ephemeral ones (status, telemetry, replies), which never pass the outbox.
Subjects are pseudonyms: a short letter prefix then digits (``P00123``, ``S-0042``),
never a name.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, Any, Literal, TypeVar

from pydantic import (
    AwareDatetime,
    BaseModel,
    ConfigDict,
    Field,
    SerializerFunctionWrapHandler,
    ValidationError,
    create_model,
    model_serializer,
    model_validator,
)

from dermocap.errors import SyncError
from dermocap.metrics import INFERENCE_MS, RESULT_METRICS, HairMeasures
from dermocap.sitekey import Site, Subject, Visit

UUID_PATTERN = r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$"
SHA256_PATTERN = r"^[0-9a-f]{64}$"

MessageId = Annotated[str, Field(pattern=UUID_PATTERN, description="UUIDv7 of this message")]
Sha256 = Annotated[str, Field(pattern=SHA256_PATTERN, description="SHA-256, lower-case hex")]
# Media types of the image files a rig stores and sends, by file name suffix.
IMAGE_CONTENT_TYPES = {".jpg": "image/jpeg", ".jpeg": "image/jpeg", ".png": "image/png"}


def content_type(name: str) -> str:
    """The media type of an image file by its name (``application/octet-stream`` if unknown)."""
    dot = name.rfind(".")
    return IMAGE_CONTENT_TYPES.get(
        name[dot:].lower() if dot >= 0 else "", "application/octet-stream"
    )


Name = Annotated[str, Field(pattern=r"^[a-z][a-z0-9_]{0,47}$", description="snake_case name")]
Scalar = bool | int | float | str
M = TypeVar("M", bound=BaseModel)
StatusState = Literal["online", "stopped", "offline", "error"]


class InvalidMessage(SyncError, ValueError):
    """A message does not match its model; ``errors`` lists ``(field, problem)`` pairs."""

    def __init__(self, message: str, errors: list[tuple[str, str]] | None = None) -> None:
        super().__init__(message)
        self.errors: list[tuple[str, str]] = errors or []


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Message(_Model):
    """Fields every message carries (also sent as MQTT v5 user properties)."""

    message_id: MessageId
    seq: int | None = Field(
        None, ge=1, description="Per-device outbox sequence; null on ephemeral messages"
    )


class DurableMessage(Message):
    """A message sent from the outbox: QoS 1, resent until acknowledged."""

    seq: int | None = Field(..., ge=1, description="Per-device outbox sequence; gaps mean loss")


# -- device to dashboard -----------------------------------------------------------------


class StatusMessage(Message):
    """Retained presence of the rig; the will publishes ``offline``; ``error`` means the rig
    stopped syncing (``detail`` says why: e.g. another rig uses its device_id)."""

    state: StatusState
    since: AwareDatetime | None = Field(
        None, description="When this state began; null in the will (set at connect time)"
    )
    software: str = Field(max_length=64, description="dermocap version")
    model: str | None = Field(None, max_length=128, description="Hair model name and version")
    installation: str | None = Field(
        None,
        pattern=r"^[0-9a-f]{16}$",
        description="Id of the rig's installation (its state folder on this computer: random "
        "when made, derived anew when the folder was copied from another computer): two under "
        "one device_id mean two rigs share it",
    )
    detail: str | None = Field(None, max_length=300, description="Why, for state error")


class TelemetryMessage(Message):
    """Periodic health figures; not retained, sent with a Message Expiry Interval."""

    at: AwareDatetime
    uptime_s: float = Field(ge=0)
    outbox_depth: int = Field(ge=0, description="Messages waiting for an acknowledgement")
    oldest_unsent_age_s: float | None = Field(None, ge=0, description="Age of the oldest")
    dead_letters: int = Field(ge=0, description="Messages the broker refused, kept on the rig")
    last_seq: int = Field(ge=0, description="Highest seq assigned so far (0: none)")
    disk_free_mb: float | None = Field(None, ge=0, description="Free space of the state disk")
    cpu_temp_c: float | None = Field(None, ge=-40, le=150)
    calibration_age_s: float | None = Field(None, ge=0)
    led_drift_pct: float | None = Field(None, ge=-100, le=100)
    light_check_age_s: float | None = Field(
        None,
        ge=0,
        description="Since the rig's last daily light check on the reference target "
        "(docs/service.md); null: none kept since its calibration",
    )
    repeatability_density_cv: float | None = Field(
        None,
        ge=0,
        le=1,
        description="Density coefficient of variation from the rig's latest `dermocap qa "
        "repeatability` (the dashboard's minimal detectable change); null: never measured",
    )


def _metrics_model(required: tuple[str, ...], upper: dict[str, float]) -> type[_Model]:
    """The message form of :class:`~dermocap.metrics.HairMeasures` (plus ``inference_ms``):
    the ``required`` fields as measured, every other one optional (a message from an older
    rig or another model may lack it), each number also at most ``upper[name]`` (a sanity
    limit: a value past it is a fault, not a scalp)."""
    unknown = (set(required) | set(upper)) - set(RESULT_METRICS)
    if unknown:
        raise ValueError(f"not hair metrics: {sorted(unknown)}")
    fields: dict[str, Any] = {}
    for key, info in HairMeasures.model_fields.items():
        bound = [Field(le=upper[key])] if key in upper else []
        value: Any = Annotated[(info.annotation, *info.metadata, *bound)]
        if key in required:
            fields[key] = (value, Field(description=info.description))
        else:
            fields[key] = (value | None, Field(None, description=info.description))
    fields[INFERENCE_MS] = (
        Annotated[float, Field(ge=0)] | None,
        Field(None, description="Time spent in the model"),
    )
    return create_model(
        "Metrics",
        __base__=_Model,
        __doc__="Hair metrics of one capture, measured on the device (names as `dermocap "
        "analyze`).",
        __module__=__name__,
        **fields,
    )


if TYPE_CHECKING:

    class Metrics(_Model):
        """What a type checker sees of the model built below: HairMeasures' names, each a
        number, a list of numbers or None."""

        def __getattr__(self, name: str) -> Any: ...

else:
    Metrics = _metrics_model(
        required=("density_per_cm2", "hair_count"),
        upper={
            "density_per_cm2": 2000,
            "hair_count": 100_000,
            "terminal_density_per_cm2": 2000,
            "vellus_density_per_cm2": 2000,
            "vellus_fraction": 1,
            "vellus_threshold_um": 200,
            "mean_diameter_um": 500,
            "cumulative_thickness_mm_per_cm2": 1000,
            "area_cm2": 100,
            "follicular_units_per_cm2": 2000,
        },
    )


class QualityCheck(_Model):
    """Quality check of the kept frame."""

    passed: bool
    scores: dict[str, float] = Field(default_factory=dict, description="Named QC scores")
    reasons: list[str] = Field(default_factory=list, max_length=20)


class ModelInfo(_Model):
    """The model that produced the metrics, and the software that ran it."""

    name: str = Field(max_length=64)
    version: str = Field(max_length=32)
    sha256: Sha256
    runtime: str | None = Field(
        None, max_length=64, description="Engine and version that ran the network"
    )
    numpy: str | None = Field(None, max_length=32, description="numpy version of the analysis")
    output_gain: float | None = Field(
        None,
        ge=0.5,
        le=2.0,
        description="Gain the model's manifest puts on the file's output maps (1: none)",
    )


class SecondOpinion(_Model):
    """The classical shaft counter's reading beside the model's (never replaces it)."""

    applicable: bool
    reason: str = Field("", max_length=300)
    density_per_cm2: float = Field(ge=0, le=5000)


class ImageRef(_Model):
    """A stored image of the capture, as named on the device."""

    name: str = Field(max_length=128, pattern=r"^[A-Za-z0-9._-]+$")
    sha256: Sha256
    size_bytes: int = Field(ge=0)
    content_type: str = Field("image/png", max_length=64)


class ResultMessage(DurableMessage):
    """One message per capture: what the dashboard charts."""

    capture_id: str = Field(pattern=UUID_PATTERN)
    subject: Subject
    site: Site
    visit: Visit
    captured_at: AwareDatetime
    lighting: Literal["cross", "parallel"] = "cross"
    metrics: Metrics
    qc: QualityCheck
    um_per_px: float = Field(gt=0, le=100, description="Scale of the image in micrometres/pixel")
    calibration_id: str | None = Field(None, max_length=64)
    model: ModelInfo
    images: list[ImageRef] = Field(default_factory=list, max_length=16)
    review: bool = Field(False, description="The result needs a person's look before use")
    review_reasons: list[str] = Field(
        default_factory=list, max_length=8, description="Why it was flagged"
    )
    review_kinds: list[Name] = Field(
        default_factory=list,
        max_length=8,
        description="What each reason is about, in review_reasons' order (hair_mat, "
        "density_implausible, diameter_implausible, net_above_classical, net_below_classical, "
        "no_shafts; a newer rig may add kinds): one kind per reason, or none (rigs that predate "
        "the field); left out of a message when empty",
    )
    second_opinion: SecondOpinion | None = None

    @model_validator(mode="after")
    def _kinds_match_reasons(self) -> ResultMessage:
        if self.review_kinds and len(self.review_kinds) != len(self.review_reasons):
            raise ValueError(
                f"review_kinds has {len(self.review_kinds)} entries for "
                f"{len(self.review_reasons)} review_reasons: one kind per reason, or none"
            )
        return self

    @model_serializer(mode="wrap")
    def _without_empty_kinds(self, handler: SerializerFunctionWrapHandler) -> Any:
        """Leave out an empty ``review_kinds``: a dashboard older than the field then still
        takes every unflagged result (its model forbids fields it does not know)."""
        data = handler(self)
        if isinstance(data, dict) and not self.review_kinds:
            data.pop("review_kinds", None)
        return data


class EventMessage(DurableMessage):
    """What the technician did and saw: capture started, QC failed, retake, relocation."""

    at: AwareDatetime
    type: Name
    capture_id: str | None = Field(None, pattern=UUID_PATTERN)
    subject: Subject | None = None
    site: Site | None = None
    detail: str = Field("", max_length=500)
    data: dict[str, Scalar] = Field(default_factory=dict, max_length=32)


class ImageManifestMessage(DurableMessage):
    """Announces an image transfer: the chunks that follow rebuild exactly these bytes."""

    image_id: MessageId
    capture_id: str = Field(pattern=UUID_PATTERN)
    name: str = Field(max_length=128, pattern=r"^[A-Za-z0-9._-]+$")
    content_type: str = Field(max_length=64)
    size_bytes: int = Field(ge=0, le=1 << 31)
    sha256: Sha256
    chunk_bytes: int = Field(ge=1, le=1 << 20)
    chunks: int = Field(ge=0)


class ImageChunkMessage(DurableMessage):
    """One piece of an image, placed by offset; receiving one twice changes nothing."""

    image_id: MessageId
    offset: int = Field(ge=0)
    length: int = Field(ge=0, le=1 << 20)
    sha256: Sha256 = Field(description="SHA-256 of this chunk's bytes")
    data_b64: str = Field(description="The bytes, base64")


# -- dashboard to device -----------------------------------------------------------------


class WorklistCommand(_Model):
    """The next subject, visit and ordered sites to capture."""

    subject: Subject
    visit: Visit
    sites: list[Site] = Field(min_length=1, max_length=12)


class PingCommand(_Model):
    """Is the rig there? Replies with uptime and outbox figures."""

    note: str = Field("", max_length=100)


class ResendCommand(_Model):
    """Send again every durable message from seq ``since_seq`` on (they keep their ids)."""

    since_seq: int = Field(ge=1)


class ConfigCommand(_Model):
    """Change a safe subset of settings; the service decides which keys are allowed."""

    changes: dict[Annotated[str, Field(pattern=r"^[a-z_]+(\.[a-z_]+)*$")], Scalar] = Field(
        min_length=1, max_length=20
    )


class ReplyMessage(Message):
    """Answer to a command, sent to its ResponseTopic with its CorrelationData."""

    command: str = Field(max_length=48)
    ok: bool
    error: str | None = Field(None, max_length=500)
    data: dict[str, Any] = Field(default_factory=dict)


COMMANDS: dict[str, type[_Model]] = {
    "worklist": WorklistCommand,
    "ping": PingCommand,
    "resend": ResendCommand,
    "config": ConfigCommand,
}

# Topic suffix (after the prefix) -> model, for every channel the device publishes on.
DURABLE_CHANNELS: dict[str, type[DurableMessage]] = {
    "results": ResultMessage,
    "events": EventMessage,
    "images/manifest": ImageManifestMessage,
    "images/chunk": ImageChunkMessage,
}
EPHEMERAL_CHANNELS: dict[str, type[Message]] = {
    "status": StatusMessage,
    "telemetry": TelemetryMessage,
}


def error_pairs(exc: ValidationError) -> list[tuple[str, str]]:
    """``(field.path, problem)`` pairs of a pydantic error, for replies and logs."""
    return [(".".join(str(p) for p in e["loc"]) or "(message)", e["msg"]) for e in exc.errors()]


def validate_message_json(model: type[M], payload: str | bytes) -> M:
    """Parse and validate a JSON payload in one pass (pydantic's own parser: faster).

    Raises:
        InvalidMessage: not JSON, or not matching ``model``; every problem with its path.
    """
    try:
        return model.model_validate_json(payload)
    except ValidationError as exc:
        pairs = error_pairs(exc)
        text = "; ".join(f"{k}: {m}" for k, m in pairs)
        raise InvalidMessage(f"invalid {model.__name__}: {text}", pairs) from None


def validate_message(model: type[M], data: Any) -> M:
    """Validate ``data`` against ``model``.

    Raises:
        InvalidMessage: with every problem and its field path.
    """
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        pairs = error_pairs(exc)
        text = "; ".join(f"{k}: {m}" for k, m in pairs)
        raise InvalidMessage(f"invalid {model.__name__}: {text}", pairs) from None
