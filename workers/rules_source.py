"""The rules a process runs with, reloaded when the rules file changes.

Every read (``current()``) looks at the file's size and modification time at most
once per ``check_seconds``; a changed file is loaded and validated in full before it
replaces the running rules. An invalid file is logged with its line and the old
rules stay in force, so a typo never stops triage.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from pathlib import Path

from config.errors import ConfigError
from config.rules import RuleSet, default_rules, load_rules

log = logging.getLogger(__name__)

Stamp = tuple[int, int, int]  # (st_mtime_ns, st_size, st_ino)


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
        self._stamp = self._read_stamp()
        if initial is not None:
            self._rules = initial
        elif path is not None:
            self._rules = loader(path)  # invalid at start: the caller reports and exits
        else:
            self._rules = default_rules()

    @classmethod
    def fixed(cls, rules: RuleSet) -> RulesSource:
        """Rules that never change (tests, embedded use)."""
        return cls(None, initial=rules)

    def current(self) -> RuleSet:
        """The rules in force, after reloading the file if it changed."""
        if self.path is None:
            return self._rules
        now = time.monotonic()
        if now - self._checked_at < self.check_seconds:
            return self._rules
        with self._lock:
            self._checked_at = now
            stamp = self._read_stamp()
            if stamp != self._stamp:
                self._stamp = stamp
                self._reload()
            return self._rules

    def _reload(self) -> None:
        assert self.path is not None
        try:
            rules = self._loader(self.path)
        except ConfigError as exc:
            log.error(
                "rules file changed but is invalid; keeping rules %s: %s", self._rules.version, exc
            )
            return
        if rules.version != self._rules.version:
            log.info(
                "rules reloaded from %s: version %s -> %s",
                self.path,
                self._rules.version,
                rules.version,
            )
        self._rules = rules

    def _read_stamp(self) -> Stamp | None:
        if self.path is None:
            return None
        try:
            stat = self.path.stat()
        except OSError:
            return None
        return (stat.st_mtime_ns, stat.st_size, stat.st_ino)
