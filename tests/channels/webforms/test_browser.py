"""The hosted form in a real browser: headless Chromium from the system packages, driven by
Selenium. A person fills in the form, attaches a file, reads the ticket number, follows up;
a scripted bot is refused by the honeypot and by the time trap."""

from __future__ import annotations

import os
import shutil
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from config.form_settings import FormSettings
from config.settings import Settings
from ingest.models import Attachment, FormRefusal, Message
from tests.channels.webforms.support import form_site

CHROMIUM = "/usr/bin/chromium"
CHROMEDRIVER = "/usr/bin/chromedriver"
REQUIRED = os.environ.get("OMNIROUTE_REQUIRE_CHROMIUM") == "1"

if not (Path(CHROMIUM).exists() and Path(CHROMEDRIVER).exists()):
    if REQUIRED:
        raise RuntimeError("OMNIROUTE_REQUIRE_CHROMIUM=1 but Chromium or chromedriver is missing")
    pytest.skip("Chromium and chromedriver are not installed", allow_module_level=True)

from selenium import webdriver  # noqa: E402  (after the skip: only needed with Chromium)
from selenium.webdriver.chrome.service import Service  # noqa: E402
from selenium.webdriver.common.by import By  # noqa: E402
from selenium.webdriver.remote.webdriver import WebDriver  # noqa: E402
from selenium.webdriver.support.wait import WebDriverWait  # noqa: E402

TRAP_SECONDS = 1.0


@pytest.fixture
def browser(tmp_path: Path) -> Iterator[WebDriver]:
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in (
        "--headless=new",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-dev-shm-usage",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--no-first-run",
        f"--user-data-dir={tmp_path / 'profile'}",
    ):
        options.add_argument(flag)
    driver = webdriver.Chrome(options=options, service=Service(CHROMEDRIVER))
    driver.set_page_load_timeout(60)
    try:
        yield driver
    finally:
        driver.quit()
        shutil.rmtree(tmp_path / "profile", ignore_errors=True)


def fill(browser: WebDriver, **values: str) -> None:
    for name, value in values.items():
        browser.find_element(By.ID, f"field-{name}").send_keys(value)


def test_a_person_sends_the_form_reads_the_number_and_follows_up(
    browser: WebDriver, sessions: sessionmaker[Session], settings: Settings, tmp_path: Path
) -> None:
    screenshot = tmp_path / "screen.png"
    screenshot.write_bytes(b"\x89PNG\r\n\x1a\n not really an image")
    with form_site(sessions, settings, FormSettings(min_seconds=TRAP_SECONDS)) as site:
        # Given the hosted contact form in a browser
        browser.get(f"{site.url}/forms/contact")
        # When a person fills it in, attaches a file and sends it (a person takes a moment)
        fill(
            browser,
            name="Jane Doe",
            email="jane@example.org",
            subject="Cannot log in",
            message="The login page says my password is wrong.",
        )
        browser.find_element(By.ID, "field-attachments").send_keys(str(screenshot))
        time.sleep(TRAP_SECONDS + 0.5)
        browser.find_element(By.CSS_SELECTOR, "button[type=submit]").click()
        WebDriverWait(browser, 30).until(lambda d: d.find_elements(By.ID, "ticket-number"))
        # Then the thank-you page shows the ticket number
        number = int(browser.find_element(By.ID, "ticket-number").text)
        # When she opens the follow-up link and adds to her request
        browser.find_element(By.ID, "follow-up").click()
        WebDriverWait(browser, 30).until(lambda d: d.find_elements(By.ID, "ticket-status"))
        assert browser.find_element(By.ID, "ticket-number").text == str(number)
        fill(browser, message="It also fails on my phone.")
        browser.find_element(By.CSS_SELECTOR, "button[type=submit]").click()
        WebDriverWait(browser, 30).until(lambda d: "was added" in d.page_source)
        # Then the page shows both her messages
        bodies = [e.text for e in browser.find_elements(By.CSS_SELECTOR, ".message .body")]
    assert bodies == ["The login page says my password is wrong.", "It also fails on my phone."]
    with sessions() as session:
        tickets = set(session.execute(select(Message.ticket_id)).scalars())
        attachment = session.execute(select(Attachment)).scalar_one()
    assert tickets == {number}
    assert (attachment.filename, attachment.content_type) == ("screen.png", "image/png")


def test_a_scripted_bot_is_refused_by_the_honeypot_and_the_time_trap(
    browser: WebDriver, sessions: sessionmaker[Session], settings: Settings
) -> None:
    with form_site(sessions, settings, FormSettings(min_seconds=60)) as site:
        # Given a bot that fills in every input it finds, the hidden one too, at once
        browser.get(f"{site.url}/forms/contact")
        browser.execute_script(
            "for (const el of document.querySelectorAll('input[type=text], input[type=email],"
            " textarea')) { el.value = el.name === 'email' ? 'bot@example.net' : 'Buy now'; }"
        )
        browser.find_element(By.CSS_SELECTOR, "form").submit()
        WebDriverWait(browser, 30).until(lambda d: d.find_elements(By.ID, "notice"))
        honeypot = browser.find_element(By.ID, "notice").text
        # And a bot that leaves the honeypot alone but posts at once
        browser.get(f"{site.url}/forms/contact")
        fill(browser, email="bot@example.net", subject="Buy now", message="Buy now")
        browser.find_element(By.CSS_SELECTOR, "button[type=submit]").click()
        WebDriverWait(browser, 30).until(lambda d: d.find_elements(By.CSS_SELECTOR, "p.summary"))
        time_trap = browser.find_element(By.CSS_SELECTOR, "p.summary").text
    # Then both are refused and told so, and each refusal is recorded, not a ticket
    assert "looks automated" in honeypot
    assert "very quick" in time_trap
    with sessions() as session:
        reasons = session.execute(select(FormRefusal.reason).order_by(FormRefusal.id)).scalars()
        assert list(reasons) == ["honeypot", "time-trap"]
        assert session.execute(select(Message)).first() is None
