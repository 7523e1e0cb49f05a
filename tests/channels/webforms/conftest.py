"""A served app with the default contact form and no time trap (tests that need one set it)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from sqlalchemy.orm import Session, sessionmaker

from config.settings import Settings
from tests.channels.webforms.support import FormSite, form_site


@pytest.fixture
def site(sessions: sessionmaker[Session], settings: Settings) -> Iterator[FormSite]:
    with form_site(sessions, settings) as served:
        yield served
