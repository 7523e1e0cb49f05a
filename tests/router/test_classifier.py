"""Training, prediction and evaluation of the category model on the dev data set."""

from __future__ import annotations

import pytest

from router.classifier.errors import TrainingError
from router.classifier.evaluate import evaluate
from router.classifier.train import train
from tests.classifier_support import TEST_CSV, TRAINED_AT, rows, trained_model

# The held-apart split is scored by bench/classifier_bench.py (accuracy 0.928, macro-F1
# 0.922 at the time of writing); the floor leaves room for scikit-learn releases to differ.
ACCURACY_FLOOR = 0.92
MACRO_F1_FLOOR = 0.91


def test_model_scores_above_the_floor_on_the_held_apart_split() -> None:
    # Given a model trained on the training split only
    model = trained_model()
    # When it is evaluated on the test split
    texts, labels = rows(TEST_CSV)
    result = evaluate(model, texts, labels)
    # Then accuracy and macro-F1 clear the floor, and every test row is counted
    assert result.rows == len(texts) == sum(sum(row) for row in result.confusion)
    assert result.accuracy >= ACCURACY_FLOOR
    assert result.macro_f1 >= MACRO_F1_FLOOR
    assert result.unknown_labels == ()


def test_prediction_gives_label_confidence_and_top_scores() -> None:
    # Given the trained model
    model = trained_model()
    # When it reads a billing ticket
    prediction = model.predict("Charged twice", "My card was charged twice for one order.")
    # Then the label is billing, its confidence is the top score, and scores are ranked
    assert prediction.label == "billing"
    assert prediction.confidence == prediction.scores[0].score
    assert prediction.scores[0].label == "billing"
    assert [s.score for s in prediction.scores] == sorted(
        (s.score for s in prediction.scores), reverse=True
    )
    assert len(prediction.scores) == 3
    assert 0.0 <= prediction.scores[-1].score <= prediction.confidence <= 1.0


def test_model_reads_subject_and_body() -> None:
    # Given the trained model
    model = trained_model()
    # When the only clue is in the subject
    prediction = model.predict("I forgot my password", "Hello, can you help me?")
    # Then the subject decides
    assert prediction.label == "account"


def test_model_tells_a_feature_request_from_a_fault() -> None:
    # Given the trained model
    model = trained_model()
    # When it reads a wish for a new feature, and a report of something broken
    wish = model.predict("Dark mode", "It would be great if you could add a dark mode to the app.")
    fault = model.predict("Crash", "The app crashes every time I open the settings page.")
    # Then the first is a feature request and the second is technical
    assert wish.label == "feature_request"
    assert fault.label == "technical"


def test_evaluation_reports_labels_the_model_never_learned() -> None:
    # Given rows whose true label the model was not trained on
    model = trained_model()
    texts = ["[ALERT] Disk usage on db-01 above 90% for 5 minutes"]
    # When they are evaluated
    result = evaluate(model, texts, ["system"])
    # Then the label is reported, and its rows count as misses
    assert result.unknown_labels == ("system",)
    assert result.accuracy == 0.0
    assert "system" in result.labels


def test_training_records_its_metadata() -> None:
    # Given labelled rows (the small test split, for speed)
    texts, labels = rows(TEST_CSV)
    # When a model is trained on them
    model = train(texts, labels, trained_at=TRAINED_AT)
    # Then the metadata says when, on how many rows, and which labels with their counts
    assert model.info.trained_at == TRAINED_AT
    assert model.info.training_rows == len(texts)
    assert model.labels == tuple(sorted(set(labels)))
    assert dict(model.info.label_counts) == {label: labels.count(label) for label in set(labels)}


@pytest.mark.parametrize(
    ("texts", "labels", "message"),
    [
        (["refund please", "refund now"], ["billing", "billing"], "at least two labels"),
        (
            ["refund please", "refund now", "app crashed"],
            ["billing", "billing", "technical"],
            "only one of: technical",
        ),
        (["a", "b"], ["billing"], "2 texts but 1 labels"),
    ],
)
def test_too_few_rows_to_learn_from_is_a_training_error(
    texts: list[str], labels: list[str], message: str
) -> None:
    # Given rows a model cannot be calibrated on
    # When training is asked for
    # Then it refuses and says why
    with pytest.raises(TrainingError, match=message):
        train(texts, labels, trained_at=TRAINED_AT)


def test_same_rows_train_the_same_model() -> None:
    # Given the same rows twice
    texts, labels = rows(TEST_CSV)
    first = train(texts, labels, trained_at=TRAINED_AT)
    second = train(texts, labels, trained_at=TRAINED_AT)
    # When both read the same ticket
    a = first.predict("Where is my parcel?", "It has not arrived yet.")
    b = second.predict("Where is my parcel?", "It has not arrived yet.")
    # Then they agree exactly: training is deterministic
    assert a == b
