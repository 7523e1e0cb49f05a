"""The stored model in force (``omniroute model use``, a promoted retrain), for triage.

Triage looks at most every ``check_seconds`` which stored version is live (a query
that reads no artifact) and reads and checks the artifact only when it changed. It
applies when the rules name no model and have every category it gives; otherwise
the rules' model (or the shipped one) stays. A live artifact that cannot be read is
logged and the model before it stays in use.
"""

from __future__ import annotations

import logging
import threading
import time
from typing import TYPE_CHECKING

from sqlalchemy.orm import Session, sessionmaker

from ingest import model_versions
from workers.triage.rules_source import LoadedRules

if TYPE_CHECKING:
    from router.classifier.model import CategoryModel

log = logging.getLogger(__name__)


class LiveModel:
    """The live stored model, re-read when another version is made live."""

    def __init__(self, sessions: sessionmaker[Session], *, check_seconds: float = 10.0) -> None:
        self._sessions = sessions
        self.check_seconds = check_seconds
        self._lock = threading.Lock()
        self._checked_at: float | None = None
        self._version: str | None = None
        self._model: CategoryModel | None = None

    def current(self) -> CategoryModel | None:
        """The live stored model, or None when the shipped (or the rules') model is in force."""
        now = time.monotonic()
        with self._lock:
            if self._checked_at is not None and now - self._checked_at < self.check_seconds:
                return self._model
            self._checked_at = now
            with self._sessions() as session:
                version = model_versions.live_name(session)
                if version == self._version:
                    return self._model
                self._load(session, version)
            return self._model

    def _load(self, session: Session, version: str | None) -> None:
        from router.classifier.artifact import load_artifact
        from router.classifier.errors import ArtifactError

        if version is None:
            self._version, self._model = None, None
            log.info("category model in force: the shipped model")
            return
        live = model_versions.live_version(session)
        if live is None:
            return
        try:
            model = load_artifact(live.artifact)
        except ArtifactError as exc:
            log.error("live category model %s refused, keeping the one before: %s", version, exc)
            return
        self._version, self._model = version, model
        log.info("category model in force: %s", version)


def classifier_for(loaded: LoadedRules, live: CategoryModel | None) -> CategoryModel | None:
    """The model triage uses: the live stored one when the rules name none and have its
    categories, else the model that came with the rules."""
    rules = loaded.rules
    if live is None or rules.categorize.classifier is not None:
        return loaded.classifier
    if any(label not in rules.categories for label in live.labels):
        return loaded.classifier
    return live
