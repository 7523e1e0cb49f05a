"""``omniroute train`` and ``omniroute evaluate``, invoked in-process with click's runner."""

from __future__ import annotations

import json
import re
import zipfile
from datetime import UTC, datetime
from pathlib import Path

import pytest
from click.testing import CliRunner
from sqlalchemy import update
from sqlalchemy.orm import Session, sessionmaker

from config.settings import Settings
from ingest.models import Ticket
from router.classifier.artifact import load_artifact
from tests.classifier_support import TEST_CSV, TRAIN_CSV, artifact_bytes
from tests.workers.store_tickets import new_ticket
from workers.cli import main


@pytest.fixture
def model_file(tmp_path: Path) -> Path:
    path = tmp_path / "categories.skops"
    path.write_bytes(artifact_bytes())
    return path


def figure(name: str, output: str) -> float:
    found = re.search(rf"^{name}:\s+([0-9.]+)$", output, re.MULTILINE)
    assert found is not None, output
    return float(found.group(1))


def run(*args: str, env: dict[str, str] | None = None) -> tuple[int, str]:
    result = CliRunner().invoke(main, list(args), env=env)
    return result.exit_code, result.output


def test_train_writes_an_artifact_and_says_what_it_learned(tmp_path: Path) -> None:
    # Given the training split
    out = tmp_path / "categories.skops"
    # When a model is trained from it
    code, output = run("train", "--from", str(TRAIN_CSV), "--out", str(out))
    # Then it exits 0, prints the rows per label and the model's version, and the file loads
    assert code == 0, output
    assert (
        "trained on 1568 rows (account 249, billing 313, complaint 115, feature_request 193, "
        "general 310, technical 388)" in output
    )
    model = load_artifact(out.read_bytes())
    assert f"wrote {out} (model {model.version}, " in output
    assert model.info.training_rows == 1568


def test_evaluate_prints_accuracy_macro_f1_and_the_confusion_matrix(model_file: Path) -> None:
    # Given a trained model and the held-apart split
    # When the model is evaluated on it
    code, output = run("evaluate", "--from", str(TEST_CSV), "--model", str(model_file))
    # Then the figures and the matrix are printed
    assert code == 0, output
    assert "rows:      527" in output
    accuracy, macro_f1 = figure("accuracy", output), figure("macro-F1", output)
    assert accuracy >= 0.92 and macro_f1 >= 0.91
    assert "label            precision  recall  f1     support" in output
    assert "confusion matrix (rows: true label, columns: predicted label)" in output
    matrix = output.split("confusion matrix")[1].splitlines()[1:]
    labels = ["account", "billing", "complaint", "feature_request", "general", "technical"]
    assert matrix[0].split() == labels
    counted = sum(int(cell) for line in matrix[1:7] for cell in line.split()[1:])
    assert counted == 527


def test_columns_can_be_named(tmp_path: Path, model_file: Path) -> None:
    # Given a CSV whose columns are called message and category
    csv_file = tmp_path / "export.csv"
    csv_file.write_text(
        "id,message,category\n1,I was charged twice for my order,billing\n"
        "2,The app crashes when I log in,technical\n",
        encoding="utf-8",
    )
    # When it is evaluated naming those columns
    code, output = run(
        "evaluate",
        "--from",
        str(csv_file),
        "--model",
        str(model_file),
        "--text-column",
        "message",
        "--label-column",
        "category",
    )
    # Then the rows are read
    assert code == 0, output
    assert "rows:      2" in output


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"", "the file is empty; expected a header row naming the columns"),
        (b"text,category\nhello,billing\n", "no column 'label' (columns: text, category)"),
        (b"text,label\n", "no rows under the header"),
        (b"text,label\ncaf\xe9 cr\xe8me,billing\n", "not UTF-8 text"),
        (b"text,label\nrefund please,billing\nthe app crashed,\n", ":3: 'label' is empty"),
        (b"text,label\n,billing\n", ":2: empty 'text'"),
        (b"text,label\nrefund please,\x07bell\n", "a label is 1 to 80 characters of text"),
    ],
)
def test_bad_csv_is_a_clear_error_with_exit_1(
    tmp_path: Path, model_file: Path, content: bytes, message: str
) -> None:
    # Given a CSV that cannot be used
    csv_file = tmp_path / "bad.csv"
    csv_file.write_bytes(content)
    # When it is trained on, and evaluated on
    for args in (
        ("train", "--from", str(csv_file), "--out", str(tmp_path / "m.skops")),
        ("evaluate", "--from", str(csv_file), "--model", str(model_file)),
    ):
        code, output = run(*args)
        # Then each exits 1, naming the file and the problem, and writes no model
        assert code == 1, output
        assert f"Error: {csv_file}" in output
        assert message in output
    assert not (tmp_path / "m.skops").exists()


def test_too_few_rows_to_train_is_an_error(tmp_path: Path) -> None:
    # Given a CSV with a single label
    csv_file = tmp_path / "one.csv"
    csv_file.write_text("text,label\nrefund please,billing\nrefund now,billing\n")
    # When it is trained on
    code, output = run("train", "--from", str(csv_file), "--out", str(tmp_path / "m.skops"))
    # Then it exits 1 saying why
    assert code == 1
    assert "need rows of at least two labels" in output


def test_evaluate_refuses_an_unsafe_model(tmp_path: Path) -> None:
    # Given a model file that is a pickle
    evil = tmp_path / "evil.skops"
    evil.write_bytes(b"\x80\x04\x95\x05\x00\x00\x00\x00\x00\x00\x00]\x94.")
    # When it is evaluated
    code, output = run("evaluate", "--from", str(TEST_CSV), "--model", str(evil))
    # Then it exits 1 with the refusal
    assert code == 1
    assert f"model {evil} refused: not an omniroute model artifact" in output


def test_train_needs_a_source() -> None:
    # When train is run without --from or --from-store
    code, output = run("train", "--out", "m.skops")
    # Then it is a usage error
    assert code == 2
    assert "give --from FILE.csv, --from-store, or both" in output


def test_train_from_store_learns_the_categories_agents_corrected(
    tmp_path: Path, settings: Settings, database_url: str, sessions: sessionmaker[Session]
) -> None:
    # Given stored tickets: four an agent re-categorized, one the rules categorized
    at = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)
    corrected = {
        "Refund for order 12": ("I was charged twice, please refund", "billing"),
        "Invoice wrong": ("The invoice amount is wrong, I paid more", "billing"),
        "App crashes": ("The app crashes every time I open it", "technical"),
        "Error on login page": ("I get an error 500 when I log in", "technical"),
    }
    for subject, (body, category) in corrected.items():
        number = new_ticket(sessions, at, subject=subject, body=body)
        _set_category(sessions, number, category, "agent")
    _set_category(sessions, new_ticket(sessions, at), "general", "rule")
    env = {"OMNIROUTE_DATABASE_URL": database_url, "OMNIROUTE_DATA_DIR": str(settings.data_dir)}
    out = tmp_path / "store.skops"
    # When a model is trained from the store
    code, output = run("train", "--from-store", "--out", str(out), env=env)
    # Then it learned the agents' four tickets, and only those
    assert code == 0, output
    assert "trained on 4 rows (billing 2, technical 2)" in output
    with zipfile.ZipFile(out) as archive:
        metadata = json.loads(archive.read("metadata.json"))
    assert metadata["label_counts"] == {"billing": 2, "technical": 2}


def test_train_from_store_without_corrections_is_an_error(
    tmp_path: Path, settings: Settings, database_url: str, sessions: sessionmaker[Session]
) -> None:
    # Given a store where no agent corrected a category
    _set_category(sessions, new_ticket(sessions, datetime(2026, 11, 2, tzinfo=UTC)), "x", "rule")
    env = {"OMNIROUTE_DATABASE_URL": database_url, "OMNIROUTE_DATA_DIR": str(settings.data_dir)}
    # When a model is trained from the store alone
    code, output = run("train", "--from-store", "--out", str(tmp_path / "m.skops"), env=env)
    # Then it exits 1 saying there is nothing to learn from
    assert code == 1
    assert "the store has no tickets whose category an agent set" in output


def _set_category(sessions: sessionmaker[Session], number: int, category: str, source: str) -> None:
    with sessions.begin() as session:
        session.execute(
            update(Ticket)
            .where(Ticket.id == number)
            .values(category=category, category_source=source)
        )


DESK_CSV = """text,queue
My invoice shows the wrong amount,Billing and Payments
I was charged twice this month,Billing and Payments
Please refund my last payment,Billing and Payments
The app crashes when I open it,Technical Support
I get error 500 when saving,Technical Support
The page does not load at all,Technical Support
Where is my parcel?,ORDER
I want to change my order,ORDER
Can I cancel the order I placed?,ORDER
"""


def test_train_keeps_the_desks_own_labels_and_names_those_the_rules_lack(
    tmp_path: Path,
) -> None:
    # Given an export from a desk whose queues are named its own way
    csv_file = tmp_path / "desk.csv"
    csv_file.write_text(DESK_CSV, encoding="utf-8")
    out = tmp_path / "desk.skops"
    # When a model is trained on it as it is
    code, output = run(
        "train", "--from", str(csv_file), "--label-column", "queue", "--out", str(out)
    )
    # Then the labels are the desk's, and the output says the default rules lack them
    assert code == 0, output
    model = load_artifact(out.read_bytes())
    assert model.labels == ("Billing and Payments", "ORDER", "Technical Support")
    assert (
        "labels unknown to the rules (config/default_rules.yaml): "
        "Billing and Payments, ORDER, Technical Support" in output
    )


def test_train_maps_desk_labels_onto_categories_with_a_map_file(tmp_path: Path) -> None:
    # Given the desk export and a map of its queues onto the rules' categories
    csv_file = tmp_path / "desk.csv"
    csv_file.write_text(DESK_CSV, encoding="utf-8")
    map_file = tmp_path / "labels.yaml"
    map_file.write_text(
        "Billing and Payments: billing\nTechnical Support: technical\nORDER: general\n",
        encoding="utf-8",
    )
    out = tmp_path / "mapped.skops"
    # When a model is trained with the map
    code, output = run(
        "train",
        "--from",
        str(csv_file),
        "--label-column",
        "queue",
        "--map",
        str(map_file),
        "--out",
        str(out),
    )
    # Then its labels are the categories, all known to the rules
    assert code == 0, output
    assert load_artifact(out.read_bytes()).labels == ("billing", "general", "technical")
    assert "every label is a category of the rules" in output


def test_a_map_file_that_is_not_a_mapping_is_a_clear_error(tmp_path: Path) -> None:
    csv_file = tmp_path / "desk.csv"
    csv_file.write_text(DESK_CSV, encoding="utf-8")
    map_file = tmp_path / "labels.yaml"
    map_file.write_text("- billing\n- technical\n", encoding="utf-8")
    code, output = run(
        "train", "--from", str(csv_file), "--map", str(map_file), "--out", str(tmp_path / "m")
    )
    assert code == 1
    assert f"Error: {map_file}: expected a mapping of desk labels to categories" in output
    assert not (tmp_path / "m").exists()


def test_evaluate_json_prints_the_figures_per_label_and_the_confusion_matrix(
    model_file: Path,
) -> None:
    # Given a trained model and the held-apart split
    # When it is evaluated with --json
    code, output = run("evaluate", "--from", str(TEST_CSV), "--model", str(model_file), "--json")
    # Then the output is one JSON document with the same figures as the text report
    assert code == 0, output
    document = json.loads(output)
    _, text = run("evaluate", "--from", str(TEST_CSV), "--model", str(model_file))
    assert document["rows"] == 527
    assert round(document["accuracy"], 3) == figure("accuracy", text)
    assert round(document["macro_f1"], 3) == figure("macro-F1", text)
    labels = ["account", "billing", "complaint", "feature_request", "general", "technical"]
    assert document["labels"] == labels
    assert set(document["per_label"]) == set(labels)
    assert set(document["per_label"]["billing"]) == {"precision", "recall", "f1", "support"}
    matrix = document["confusion"]["matrix"]
    assert sum(map(sum, matrix)) == 527
    assert [sum(row) for row in matrix] == [
        document["per_label"][label]["support"] for label in labels
    ]
    assert document["unknown_labels"] == []


def test_evaluate_maps_desk_labels_like_train(tmp_path: Path, model_file: Path) -> None:
    # Given held-apart rows whose labels are the desk's, and a map onto categories
    csv_file = tmp_path / "desk.csv"
    csv_file.write_text(
        "text,label\nI was charged twice,Billing and Payments\nThe app crashes,Tech\n",
        encoding="utf-8",
    )
    map_file = tmp_path / "labels.yaml"
    map_file.write_text("Billing and Payments: billing\nTech: technical\n", encoding="utf-8")
    # When the model is evaluated with the map
    code, output = run(
        "evaluate",
        "--from",
        str(csv_file),
        "--model",
        str(model_file),
        "--map",
        str(map_file),
        "--json",
    )
    # Then the rows are scored under the categories, none unknown to the model
    assert code == 0, output
    document = json.loads(output)
    assert document["unknown_labels"] == []
    assert document["per_label"]["billing"]["support"] == 1
