"""Errors raised while loading configuration."""

from __future__ import annotations

import os


class ConfigError(Exception):
    """A setting or file is invalid; ``str()`` names the offending key."""


class CannotListen(ConfigError):
    """A server cannot take its address (in use, not this host's, or a privileged port).

    The deployment's to fix, so it is told in one line that names the settings, not as
    a traceback."""

    def __init__(self, server: str, host: str, port: int, error: OSError, settings: str) -> None:
        # socket.create_server rewrites the error's text around the errno's;
        # a host that does not resolve has a negative errno (getaddrinfo's).
        errno = error.errno or 0
        reason = os.strerror(errno) if errno > 0 else str(error)
        super().__init__(f"the {server} cannot listen on {host}:{port}: {reason} ({settings})")


class RulesFileError(ConfigError):
    """The rules/destinations YAML is invalid."""

    def __init__(self, path: str, message: str, line: int | None = None) -> None:
        self.path = path
        self.line = line
        self.detail = message
        where = f"{path}:{line}" if line is not None else path
        super().__init__(f"{where}: {message}")
