"""The model artifact: a versioned, checked container that is safe to load. Bytes in, bytes out.

An artifact is a ZIP archive of two members:

    metadata.json   format, format_version, labels, trained_at, training_rows,
                    label_counts, sklearn_version, skops_version, model_sha256
    model.skops     the fitted pipeline in skops' format (no pickle), in canonical
                    form (``canonical``): the same model gives the same bytes

Loading checks, in order, before any object of the model is built: the size and the
member list; the metadata (format name and version); the sha256 of ``model.skops``
against the metadata; the scikit-learn release (same major.minor); the uncompressed
size of ``model.skops``; and the types it names, which must all be trusted by skops'
defaults or listed in ``pipeline.TRUSTED_TYPES``. Only then does skops build the
objects, and the result must be the pipeline omniroute trains, with the labels the
metadata names.

The digest catches a changed or truncated model; it is not a signature: the safety
against a hostile file comes from the trusted-types check, not from the digest.
"""

from __future__ import annotations

import hashlib
import io
import json
import zipfile
from datetime import datetime
from typing import Annotated, Any, Literal

import sklearn
import skops
import skops.io as sio
from pydantic import BaseModel, ConfigDict, Field, StringConstraints, ValidationError
from sklearn.pipeline import Pipeline

from router.classifier.canonical import canonical_skops
from router.classifier.errors import CorruptArtifact, IncompatibleArtifact, UnsafeArtifact
from router.classifier.model import CategoryModel
from router.classifier.pipeline import STEPS, TRUSTED_TYPES
from router.classifier.types import ModelInfo

FORMAT: Literal["omniroute-category-model"] = "omniroute-category-model"
FORMAT_VERSION: Literal[1] = 1
METADATA = "metadata.json"
MODEL = "model.skops"
MAX_ARTIFACT_BYTES = 256 * 1024 * 1024
MAX_METADATA_BYTES = 1024 * 1024
MAX_UNPACKED_MODEL_BYTES = 1024 * 1024 * 1024
# A fixed timestamp keeps the archive's bytes a function of the model alone.
_EPOCH = (1980, 1, 1, 0, 0, 0)


class _Metadata(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    format: Literal["omniroute-category-model"]
    format_version: Literal[1]
    labels: Annotated[tuple[str, ...], Field(min_length=2)]
    trained_at: datetime
    training_rows: Annotated[int, Field(ge=2)]
    label_counts: dict[str, int]
    sklearn_version: Annotated[str, StringConstraints(max_length=40)]
    skops_version: Annotated[str, StringConstraints(max_length=40)]
    model_sha256: Annotated[str, StringConstraints(pattern=r"^[0-9a-f]{64}$")]


def dump_artifact(model: CategoryModel) -> bytes:
    """The artifact's bytes for ``model``."""
    payload = canonical_skops(sio.dumps(model.pipeline, compression=zipfile.ZIP_DEFLATED))
    info = model.info
    metadata = _Metadata(
        format=FORMAT,
        format_version=FORMAT_VERSION,
        labels=info.labels,
        trained_at=info.trained_at,
        training_rows=info.training_rows,
        label_counts=dict(info.label_counts),
        sklearn_version=info.sklearn_version,
        skops_version=skops.__version__,
        model_sha256=hashlib.sha256(payload).hexdigest(),
    )
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_STORED) as archive:
        archive.writestr(zipfile.ZipInfo(METADATA, _EPOCH), metadata.model_dump_json(indent=2))
        archive.writestr(zipfile.ZipInfo(MODEL, _EPOCH), payload)
    return buffer.getvalue()


def load_artifact(data: bytes) -> CategoryModel:
    """The model in an artifact, after every check above; raises an ``ArtifactError``."""
    if len(data) > MAX_ARTIFACT_BYTES:
        raise CorruptArtifact(f"artifact is {len(data)} bytes, over {MAX_ARTIFACT_BYTES}")
    raw_metadata, payload = _members(data)
    metadata = _metadata(raw_metadata)
    digest = hashlib.sha256(payload).hexdigest()
    if digest != metadata.model_sha256:
        raise CorruptArtifact(
            f"model digest mismatch: metadata says {metadata.model_sha256[:12]}, "
            f"the model bytes are {digest[:12]}; the artifact was changed after training"
        )
    if _release(metadata.sklearn_version) != _release(sklearn.__version__):
        raise IncompatibleArtifact(
            f"trained with scikit-learn {metadata.sklearn_version}, this is "
            f"{sklearn.__version__}; retrain it with `omniroute train`"
        )
    _check_unpacked_size(payload)
    _check_types(payload)
    try:
        pipeline = sio.loads(payload, trusted=list(TRUSTED_TYPES))
    except Exception as exc:  # skops raises many kinds on a malformed schema
        raise CorruptArtifact(f"cannot read the model: {exc}") from None
    _check_pipeline(pipeline, metadata.labels)
    info = ModelInfo(
        labels=metadata.labels,
        trained_at=metadata.trained_at,
        training_rows=metadata.training_rows,
        label_counts=tuple(sorted(metadata.label_counts.items())),
        sklearn_version=metadata.sklearn_version,
        model_sha256=digest,
    )
    return CategoryModel(pipeline, info)


def _members(data: bytes) -> tuple[bytes, bytes]:
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            names = sorted(archive.namelist())
            if names != sorted((METADATA, MODEL)):
                raise CorruptArtifact(
                    f"not an omniroute model artifact: expected {METADATA} and {MODEL}, "
                    f"found {', '.join(names) or 'nothing'}"
                )
            if archive.getinfo(METADATA).file_size > MAX_METADATA_BYTES:
                raise CorruptArtifact(f"{METADATA} is over {MAX_METADATA_BYTES} bytes")
            if archive.getinfo(MODEL).file_size > MAX_ARTIFACT_BYTES:
                raise CorruptArtifact(f"{MODEL} is over {MAX_ARTIFACT_BYTES} bytes")
            return archive.read(METADATA), archive.read(MODEL)
    except CorruptArtifact:
        raise
    except Exception as exc:  # BadZipFile, bad CRC, zlib errors, truncated data...
        raise CorruptArtifact(f"not an omniroute model artifact: {exc}") from None


def _metadata(raw: bytes) -> _Metadata:
    try:
        document: Any = json.loads(raw)
    except ValueError as exc:
        raise CorruptArtifact(f"{METADATA} is not JSON: {exc}") from None
    if not isinstance(document, dict) or document.get("format") != FORMAT:
        raise CorruptArtifact(f"{METADATA} does not describe an {FORMAT}")
    if document.get("format_version") != FORMAT_VERSION:
        raise IncompatibleArtifact(
            f"artifact format version {document.get('format_version')!r}; "
            f"this omniroute reads version {FORMAT_VERSION}"
        )
    try:
        return _Metadata.model_validate(document)
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(map(str, error['loc']))}: {error['msg']}" for error in exc.errors()
        )
        raise CorruptArtifact(f"{METADATA} is invalid: {problems}") from None


def _release(version: str) -> tuple[str, ...]:
    return tuple(version.split(".")[:2])


def _check_unpacked_size(payload: bytes) -> None:
    try:
        with zipfile.ZipFile(io.BytesIO(payload)) as inner:
            unpacked = sum(member.file_size for member in inner.infolist())
    except Exception as exc:
        raise CorruptArtifact(f"{MODEL} is not a skops file: {exc}") from None
    if unpacked > MAX_UNPACKED_MODEL_BYTES:
        raise CorruptArtifact(f"{MODEL} unpacks to {unpacked} bytes")


def _check_types(payload: bytes) -> None:
    try:
        named = sio.get_untrusted_types(data=payload)
    except Exception as exc:
        raise CorruptArtifact(f"{MODEL} is not a skops file: {exc}") from None
    untrusted = sorted(set(named) - set(TRUSTED_TYPES))
    if untrusted:
        raise UnsafeArtifact(
            f"refusing to load {MODEL}: it names types outside the trusted list: "
            f"{', '.join(untrusted)}"
        )


def _check_pipeline(pipeline: object, labels: tuple[str, ...]) -> None:
    if not isinstance(pipeline, Pipeline) or tuple(name for name, _ in pipeline.steps) != STEPS:
        raise CorruptArtifact(f"{MODEL} is not an omniroute category pipeline")
    try:
        classes = tuple(str(label) for label in pipeline.classes_)
    except AttributeError:
        raise CorruptArtifact(f"{MODEL} holds an unfitted pipeline") from None
    if classes != labels:
        raise CorruptArtifact(
            f"{MODEL} predicts {', '.join(classes)} but the metadata names {', '.join(labels)}"
        )
