"""The model artifact: a round trip keeps the model; anything changed or unsafe is refused.

Every refusal happens before an object of the model is built: the "hostile" payloads
below record in ``EXECUTED`` if any of their code ever runs.
"""

from __future__ import annotations

import hashlib
import io
import json
import pickle
import zipfile
from typing import Any

import pytest
import skops.io as sio

from router.classifier.artifact import dump_artifact, load_artifact
from router.classifier.errors import CorruptArtifact, IncompatibleArtifact, UnsafeArtifact
from router.classifier.train import train
from tests.classifier_support import TEST_CSV, TRAINED_AT, artifact_bytes, rows, trained_model

EXECUTED: list[str] = []


def _record(what: str) -> str:
    EXECUTED.append(what)
    return what


class Payload:
    """Runs ``_record`` when unpickled."""

    def __reduce__(self) -> tuple[Any, tuple[str]]:
        return (_record, ("pickle payload ran",))


class Intruder:
    """A type no artifact may name; records if skops ever builds it."""

    def __setstate__(self, state: dict[str, Any]) -> None:
        _record("untrusted type was built")


@pytest.fixture(autouse=True)
def _nothing_executed() -> Any:
    EXECUTED.clear()
    yield
    assert EXECUTED == []


def members(data: bytes) -> dict[str, bytes]:
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        return {name: archive.read(name) for name in archive.namelist()}


def repack(files: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name, content in files.items():
            archive.writestr(name, content)
    return buffer.getvalue()


def with_model(model_bytes: bytes, **metadata_changes: Any) -> bytes:
    """The artifact with ``model.skops`` replaced and its digest recomputed to match."""
    files = members(artifact_bytes())
    metadata = json.loads(files["metadata.json"])
    metadata["model_sha256"] = hashlib.sha256(model_bytes).hexdigest()
    metadata.update(metadata_changes)
    files["metadata.json"] = json.dumps(metadata).encode()
    files["model.skops"] = model_bytes
    return repack(files)


def test_round_trip_keeps_predictions_and_metadata() -> None:
    # Given a trained model written as an artifact
    model = trained_model()
    data = dump_artifact(model)
    # When the artifact is loaded
    loaded = load_artifact(data)
    # Then it predicts exactly as the original, and its metadata survived
    texts, _ = rows(TEST_CSV)
    sample = list(texts[:40])
    assert [p.label for p in loaded.predict_texts(sample)] == [
        p.label for p in model.predict_texts(sample)
    ]
    assert loaded.info.labels == model.info.labels
    assert loaded.info.trained_at == model.info.trained_at
    assert loaded.info.training_rows == model.info.training_rows
    assert loaded.info.label_counts == model.info.label_counts
    assert loaded.info.sklearn_version == model.info.sklearn_version
    # And it is named by the digest of its model bytes, which every prediction carries
    digest = hashlib.sha256(members(data)["model.skops"]).hexdigest()
    assert loaded.version == digest[:12]
    assert loaded.predict("Refund", "Please refund me").model == digest[:12]


def test_metadata_is_readable_json_beside_the_model() -> None:
    # Given an artifact
    files = members(artifact_bytes())
    # Then it holds exactly the metadata and the skops model
    assert sorted(files) == ["metadata.json", "model.skops"]
    metadata = json.loads(files["metadata.json"])
    assert metadata["format"] == "omniroute-category-model"
    assert metadata["format_version"] == 1
    assert metadata["labels"] == [
        "account",
        "billing",
        "complaint",
        "feature_request",
        "general",
        "technical",
    ]
    assert metadata["training_rows"] == 1568
    assert metadata["trained_at"].startswith("2026-11-02T09:30:00")
    for key in ("sklearn_version", "skops_version", "label_counts", "model_sha256"):
        assert metadata[key]


def test_a_changed_byte_is_refused() -> None:
    # Given an artifact with one byte of the model changed
    data = bytearray(artifact_bytes())
    offset = bytes(data).index(b"model.skops") + 200
    data[offset] ^= 0x01
    # When it is loaded
    # Then it is refused as corrupt
    with pytest.raises(CorruptArtifact):
        load_artifact(bytes(data))


def test_a_swapped_model_fails_the_digest_check() -> None:
    # Given an artifact whose model bytes were replaced but whose metadata was not
    files = members(artifact_bytes())
    files["model.skops"] = sio.dumps({"weights": [1, 2, 3]})
    # When it is loaded
    # Then the digest mismatch is named
    with pytest.raises(CorruptArtifact, match="digest mismatch"):
        load_artifact(repack(files))


def test_a_pickle_file_is_refused_without_being_unpickled() -> None:
    # Given a pickle whose loading would run code, offered as a whole artifact
    hostile = pickle.dumps(Payload())
    # When it is loaded
    # Then it is refused and the payload never ran (checked by the fixture)
    with pytest.raises(CorruptArtifact, match="not an omniroute model artifact"):
        load_artifact(hostile)


def test_a_pickle_inside_a_well_formed_artifact_is_refused() -> None:
    # Given an artifact whose model is a pickle, with a digest that matches it
    hostile = with_model(pickle.dumps(Payload()))
    # When it is loaded
    # Then it is refused as not a skops file, and nothing ran
    with pytest.raises(CorruptArtifact, match="not a skops file"):
        load_artifact(hostile)


def test_a_model_naming_an_untrusted_type_is_refused() -> None:
    # Given a skops file naming a type outside the trusted list, with a matching digest
    hostile = with_model(sio.dumps({"intruder": Intruder()}))
    # When it is loaded
    # Then it is refused, naming the type, and the type was never built
    with pytest.raises(UnsafeArtifact, match=r"tests\.router\.test_classifier_artifact\.Intruder"):
        load_artifact(hostile)


def test_a_trusted_object_that_is_not_our_pipeline_is_refused() -> None:
    # Given a safe skops file that is not a category pipeline, with a matching digest
    data = with_model(sio.dumps({"weights": [1, 2, 3]}))
    # When it is loaded
    # Then it is refused
    with pytest.raises(CorruptArtifact, match="not an omniroute category pipeline"):
        load_artifact(data)


def test_labels_that_disagree_with_the_model_are_refused() -> None:
    # Given an artifact whose metadata names other labels than the model predicts
    files = members(artifact_bytes())
    data = with_model(files["model.skops"], labels=["billing", "technical"])
    # When it is loaded
    # Then it is refused
    with pytest.raises(CorruptArtifact, match="metadata names billing, technical"):
        load_artifact(data)


def test_another_format_version_is_incompatible() -> None:
    # Given an artifact of a format version this omniroute does not read
    files = members(artifact_bytes())
    data = with_model(files["model.skops"], format_version=2)
    # When it is loaded
    # Then it is refused as incompatible
    with pytest.raises(IncompatibleArtifact, match="format version 2"):
        load_artifact(data)


def test_another_scikit_learn_release_is_incompatible() -> None:
    # Given an artifact trained with another scikit-learn release
    files = members(artifact_bytes())
    data = with_model(files["model.skops"], sklearn_version="0.24.2")
    # When it is loaded
    # Then it is refused with the advice to retrain
    with pytest.raises(IncompatibleArtifact, match="retrain"):
        load_artifact(data)


@pytest.mark.parametrize(
    ("files", "message"),
    [
        ({"metadata.json": b"{"}, "expected metadata.json and model.skops"),
        ({"metadata.json": b"not json", "model.skops": b""}, "not JSON"),
        ({"metadata.json": b'{"format": "other"}', "model.skops": b""}, "does not describe"),
        (
            {
                "metadata.json": b'{"format": "omniroute-category-model", "format_version": 1}',
                "model.skops": b"",
            },
            "metadata.json is invalid",
        ),
    ],
)
def test_malformed_artifacts_are_refused(files: dict[str, bytes], message: str) -> None:
    # Given archives that are not well-formed artifacts
    # When they are loaded
    # Then each is refused, saying what is wrong
    with pytest.raises(CorruptArtifact, match=message):
        load_artifact(repack(files))


def test_empty_bytes_are_refused() -> None:
    # Given an empty file
    # When it is loaded
    # Then it is refused
    with pytest.raises(CorruptArtifact):
        load_artifact(b"")


def test_the_same_rows_give_the_same_artifact_bytes() -> None:
    # Given two models trained on the same rows
    texts, labels = rows(TEST_CSV)
    first = train(texts, labels, trained_at=TRAINED_AT)
    second = train(texts, labels, trained_at=TRAINED_AT)
    # When both are written as artifacts
    a, b = dump_artifact(first), dump_artifact(second)
    # Then the bytes, and so the versions, are the same: a rebuild is reproducible
    assert a == b
    assert load_artifact(a).version == load_artifact(b).version
    # And a loaded model written again gives the same bytes once more
    assert dump_artifact(load_artifact(a)) == a
