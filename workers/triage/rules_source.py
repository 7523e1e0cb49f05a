"""The rules a process runs with (and the category model they name), reloaded on change.

Every read (``current()``) looks at the size and modification time of the rules file
and of the model file at most once per ``check_seconds``; a changed file is loaded
and validated in full, model included, before it replaces the running rules. An
invalid file is logged with its line and the old rules stay in force, so a typo or a
bad model never stops triage.

A model the rules name is read with them, so a bad one stops a process at start. The
shipped model that rules without ``classifier:`` get is read on the first snapshot
instead: processes that never triage (web, SMTP, IMAP, the CLI) never import
scikit-learn nor read it.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from config.classifier import BUILTIN_MODEL, model_path
from config.errors import ConfigError
from config.rules import RuleSet, default_rules, load_rules
from workers.triage.classifier_loader import load_classifier

if TYPE_CHECKING:
    from router.classifier.model import CategoryModel

log = logging.getLogger(__name__)

Stamp = tuple[int, int, int]  # (st_mtime_ns, st_size, st_ino)
Stamps = tuple[Stamp | None, Stamp | None]  # the rules file's, the model file's


@dataclass(frozen=True, slots=True)
class LoadedRules:
    """Rules and the model they name, swapped together so a reader never mixes versions."""

    rules: RuleSet
    classifier: CategoryModel | None


class RulesSource:
    """The current ``RuleSet``: fixed, or read from ``path`` and reloaded on change."""

    def __init__(
        self,
        path: Path | None,
        *,
        check_seconds: float = 1.0,
        loader: Callable[[Path], RuleSet] = load_rules,
        initial: RuleSet | None = None,
    ) -> None:
        self.path = path
        self.check_seconds = check_seconds
        self._loader = loader
        self._lock = threading.Lock()
        self._checked_at = time.monotonic()
        if initial is not None:
            rules = initial
        elif path is not None:
            rules = loader(path)  # invalid at start: the caller reports and exits
        else:
            rules = default_rules()
        self._loaded = LoadedRules(rules, _eager_classifier(rules))
        self._implicit_pending = rules.categorize.classifier is None
        self._stamps = self._read_stamps()

    @classmethod
    def fixed(cls, rules: RuleSet) -> RulesSource:
        """Rules that never change (tests, embedded use)."""
        return cls(None, initial=rules)

    def snapshot(self) -> LoadedRules:
        """The rules in force and their model, after reloading the files if they changed."""
        self._refresh()
        if self._implicit_pending:
            self._load_implicit()
        return self._loaded

    def current(self) -> RuleSet:
        """The rules in force, after reloading the file if it changed."""
        return self.snapshot().rules

    def classifier(self) -> CategoryModel | None:
        """The category model the rules in force name, if any."""
        return self.snapshot().classifier

    def _load_implicit(self) -> None:
        with self._lock:
            if not self._implicit_pending:
                return
            rules = self._loaded.rules
            self._loaded = LoadedRules(rules, load_classifier(rules))
            self._implicit_pending = False

    def _refresh(self) -> None:
        if self.path is None:
            return
        now = time.monotonic()
        if now - self._checked_at < self.check_seconds:
            return
        with self._lock:
            self._checked_at = now
            stamps = self._read_stamps()
            if stamps != self._stamps:
                self._stamps = stamps
                self._reload()

    def _reload(self) -> None:
        assert self.path is not None
        try:
            rules = self._loader(self.path)
            classifier = _eager_classifier(rules)
        except ConfigError as exc:
            log.error(
                "rules file changed but is invalid; keeping rules %s: %s",
                self._loaded.rules.version,
                exc,
            )
            return
        if rules.version != self._loaded.rules.version:
            log.info(
                "rules reloaded from %s: version %s -> %s",
                self.path,
                self._loaded.rules.version,
                rules.version,
            )
        self._loaded = LoadedRules(rules, classifier)
        self._implicit_pending = rules.categorize.classifier is None
        self._stamps = self._read_stamps()  # the model path may have changed with the rules

    def _read_stamps(self) -> Stamps:
        rules = self._loaded.rules
        config = rules.categorize.classifier
        model = model_path(config, rules.source) if config is not None else None
        if model == BUILTIN_MODEL:
            model = None  # read once per process; it changes only with omniroute itself
        return _stamp(self.path), _stamp(model)


def _eager_classifier(rules: RuleSet) -> CategoryModel | None:
    """The model ``rules`` name, read now; None when they name none (read on first use)."""
    if rules.categorize.classifier is None:
        return None
    return load_classifier(rules)


def _stamp(path: Path | None) -> Stamp | None:
    if path is None:
        return None
    try:
        stat = path.stat()
    except OSError:
        return None
    return (stat.st_mtime_ns, stat.st_size, stat.st_ino)
