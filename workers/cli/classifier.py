"""``omniroute train`` and ``omniroute evaluate``: build and measure the category model.

    omniroute train --from tickets.csv --out categories.skops
    omniroute train --from desk.csv --map labels.yaml --out categories.skops
    omniroute train --from-store --out categories.skops        # agent-corrected tickets
    omniroute evaluate --from held-out.csv --model categories.skops [--json]

Labels are kept as the desk names them unless ``--map`` translates them; ``train``
says which of them the rules in force do not have as categories (a model is loaded
only when they do).

Bad input (missing columns, an empty file, text that is not UTF-8, too few rows)
is an error naming the file and line, and exit status 1.
"""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TypeVar

import click

from config.errors import ConfigError
from router.classifier.types import Evaluation
from workers.cli.support import command_settings, store
from workers.triage.training_data import (
    LabelledRows,
    LabelMap,
    TrainingDataError,
    agent_corrected_rows,
    read_label_map,
    read_labelled_csv,
)

_FILE = click.Path(dir_okay=False, path_type=Path)
F = TypeVar("F", bound=Callable[..., Any])


def _columns(function: F) -> F:
    function = click.option(
        "--map",
        "map_file",
        type=_FILE,
        help="YAML mapping of the file's labels to categories (Technical Support: technical).",
    )(function)
    function = click.option(
        "--label-column", default="label", show_default=True, help="CSV column of the labels."
    )(function)
    return click.option(
        "--text-column", default="text", show_default=True, help="CSV column of the texts."
    )(function)


@click.command()
@click.option("--from", "source", type=_FILE, help="Labelled CSV file to train on.")
@click.option(
    "--from-store",
    is_flag=True,
    help="Also train on stored tickets whose category an agent corrected.",
)
@click.option("--out", type=_FILE, required=True, help="Where to write the model artifact.")
@_columns
def train(
    *,
    source: Path | None,
    from_store: bool,
    out: Path,
    text_column: str,
    label_column: str,
    map_file: Path | None,
) -> None:
    """Train the category model and write it as a versioned, safe-to-load artifact."""
    from router.classifier.artifact import dump_artifact, load_artifact
    from router.classifier.errors import ClassifierError
    from router.classifier.train import train as fit

    if source is None and not from_store:
        raise click.UsageError("give --from FILE.csv, --from-store, or both")
    rows = LabelledRows([], [])
    try:
        mapping = _mapping(map_file)
        if source is not None:
            rows += read_labelled_csv(source, text_column, label_column, mapping)
        if from_store:
            stored = _store_rows()
            if not stored and source is None:
                raise TrainingDataError("the store has no tickets whose category an agent set")
            rows += stored
        model = fit(rows.texts, rows.labels, trained_at=datetime.now(UTC))
        data = dump_artifact(model)
        written = load_artifact(data)  # what a worker will load, checked before writing
    except (TrainingDataError, ClassifierError) as exc:
        raise click.ClickException(str(exc)) from None
    _write(out, data)
    counts = ", ".join(f"{label} {count}" for label, count in written.info.label_counts)
    click.echo(f"trained on {len(rows)} rows ({counts})")
    click.echo(f"wrote {out} (model {written.version}, {len(data)} bytes)")
    _say_unknown(written.labels)


def _mapping(map_file: Path | None) -> LabelMap:
    return read_label_map(map_file) if map_file is not None else {}


def _say_unknown(labels: tuple[str, ...]) -> None:
    """Name the labels the rules in force lack: a model is loaded only with all of them."""
    from config.rules import default_rules, load_rules

    settings = command_settings()
    try:
        rules = load_rules(settings.rules_file) if settings.rules_file else default_rules()
    except ConfigError as exc:
        click.echo(f"cannot compare the labels with the rules: {exc}", err=True)
        return
    unknown = [label for label in labels if label not in rules.categories]
    if unknown:
        click.echo(
            f"labels unknown to the rules ({rules.source}): {', '.join(unknown)}; "
            "add them to `categories:` there, or map them onto categories with --map FILE"
        )
    else:
        click.echo(f"every label is a category of the rules ({rules.source})")


@click.command()
@click.option("--from", "source", type=_FILE, required=True, help="Labelled CSV file.")
@click.option("--model", "model_file", type=_FILE, required=True, help="Model artifact.")
@click.option("--json", "as_json", is_flag=True, help="Print the figures as JSON.")
@_columns
def evaluate(
    *,
    source: Path,
    model_file: Path,
    text_column: str,
    label_column: str,
    map_file: Path | None,
    as_json: bool,
) -> None:
    """Print accuracy, macro-F1, a per-label report and the confusion matrix."""
    from router.classifier.evaluate import evaluate as measure
    from workers.triage.classifier_loader import ClassifierLoadError, read_model

    try:
        model = read_model(model_file)
        rows = read_labelled_csv(source, text_column, label_column, _mapping(map_file))
    except (ClassifierLoadError, TrainingDataError) as exc:
        raise click.ClickException(str(exc)) from None
    result = measure(model, rows.texts, rows.labels)
    info = model.info
    if as_json:
        document = {"model": model.version, "file": str(source), **as_document(result)}
        click.echo(json.dumps(document, indent=2, ensure_ascii=False))
        return
    click.echo(
        f"model {model.version}: trained {info.trained_at:%Y-%m-%d %H:%M} UTC "
        f"on {info.training_rows} rows; labels {', '.join(model.labels)}"
    )
    click.echo(render(result))


def as_document(result: Evaluation) -> dict[str, Any]:
    """An evaluation as the JSON ``omniroute evaluate --json`` prints."""
    return {
        "rows": result.rows,
        "accuracy": round(result.accuracy, 4),
        "macro_f1": round(result.macro_f1, 4),
        "labels": list(result.labels),
        "per_label": {
            r.label: {
                "precision": round(r.precision, 4),
                "recall": round(r.recall, 4),
                "f1": round(r.f1, 4),
                "support": r.support,
            }
            for r in result.per_class
        },
        "confusion": {
            "rows": "true label",
            "columns": "predicted label",
            "matrix": [list(row) for row in result.confusion],
        },
        "unknown_labels": list(result.unknown_labels),
    }


def render(result: Evaluation) -> str:
    """An evaluation as the text ``omniroute evaluate`` prints."""
    width = max(9, *(len(label) for label in result.labels))
    lines = [
        f"rows:      {result.rows}",
        f"accuracy:  {result.accuracy:.3f}",
        f"macro-F1:  {result.macro_f1:.3f}",
        "",
        f"{'label':<{width}}  precision  recall  f1     support",
    ]
    lines += [
        f"{r.label:<{width}}  {r.precision:9.3f}  {r.recall:6.3f}  {r.f1:.3f}  {r.support:7d}"
        for r in result.per_class
    ]
    cell = max(7, *(len(label) for label in result.labels))
    lines += [
        "",
        "confusion matrix (rows: true label, columns: predicted label)",
        " " * width + "".join(f"  {label:>{cell}}" for label in result.labels),
    ]
    for label, counts in zip(result.labels, result.confusion, strict=True):
        lines.append(f"{label:<{width}}" + "".join(f"  {count:>{cell}d}" for count in counts))
    if result.unknown_labels:
        lines += ["", f"labels the model was not trained on: {', '.join(result.unknown_labels)}"]
    return "\n".join(lines)


def _store_rows() -> LabelledRows:
    with store(command_settings()) as sessions, sessions() as session:
        return agent_corrected_rows(session)


def _write(out: Path, data: bytes) -> None:
    """Write ``data`` to ``out`` atomically: readers see the old file or the new one."""
    folder = out.parent if str(out.parent) else Path(".")
    try:
        handle, temporary = tempfile.mkstemp(dir=folder, prefix=f".{out.name}.")
    except OSError as exc:
        raise click.ClickException(f"cannot write {out}: {exc.strerror or exc}") from None
    try:
        with os.fdopen(handle, "wb") as stream:
            stream.write(data)
        os.chmod(temporary, 0o644)  # mkstemp makes it private; workers may run as another user
        os.replace(temporary, out)
    except OSError as exc:
        Path(temporary).unlink(missing_ok=True)
        raise click.ClickException(f"cannot write {out}: {exc.strerror or exc}") from None
