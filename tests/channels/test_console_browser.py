"""The ops console in a real browser: sign in with a token, read a ticket's trace, retry
a dead delivery, release quarantined input, and be turned away without a token.

Screenshots of each page are saved under the test's temporary directory.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from sqlalchemy.orm import Session, sessionmaker

from ingest.models import Delivery, InboundRecord
from tests.channels.browser import browser
from tests.channels.console_support import Seeded, console, outbox_for

__all__ = ["browser", "console"]


def shoot(driver: Any, tmp_path: Path, name: str) -> Path:
    path = tmp_path / "screenshots" / f"{name}.png"
    path.parent.mkdir(exist_ok=True)
    assert driver.save_screenshot(str(path))
    return path


def sign_in(driver: Any, console: Seeded, tmp_path: Path) -> None:
    from selenium.webdriver.common.by import By

    driver.get(f"{console.url}/console")
    assert "/console/login" in driver.current_url
    driver.find_element(By.ID, "token").send_keys(console.admin_token)
    shoot(driver, tmp_path, "login")
    driver.find_element(By.CSS_SELECTOR, "#login button").click()
    wait(driver).until(lambda d: d.find_element(By.TAG_NAME, "h1").text == "Overview")


def wait(driver: Any) -> Any:
    """Waits up to 15 s; an element replaced by the next page is looked up again."""
    from selenium.common.exceptions import NoSuchElementException, StaleElementReferenceException
    from selenium.webdriver.support.ui import WebDriverWait

    return WebDriverWait(
        driver, 15, ignored_exceptions=(StaleElementReferenceException, NoSuchElementException)
    )


def click_and_accept(driver: Any, element_id: str) -> None:
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support import expected_conditions

    driver.find_element(By.ID, element_id).click()
    # The page asks before it acts (a few lines of optional script).
    wait(driver).until(expected_conditions.alert_is_present())
    driver.switch_to.alert.accept()
    wait(driver).until(expected_conditions.presence_of_element_located((By.ID, "note")))


def test_an_operator_signs_in_and_reads_a_tickets_trace(
    browser: Any, console: Seeded, tmp_path: Path
) -> None:
    from selenium.webdriver.common.by import By

    # Given an operator with an admin token
    sign_in(browser, console, tmp_path)
    # Then the overview shows intake, its charts and role health
    assert browser.find_element(By.TAG_NAME, "h1").text == "Overview"
    assert len(browser.find_elements(By.CSS_SELECTOR, "svg.chart")) == 2
    shoot(browser, tmp_path, "overview")
    # When they open the ticket from the ticket list
    browser.find_element(By.LINK_TEXT, "Tickets").click()
    wait(browser).until(lambda d: d.find_element(By.TAG_NAME, "h1").text == "Tickets")
    shoot(browser, tmp_path, "tickets")
    browser.find_element(By.LINK_TEXT, f"#{console.ticket}").click()
    # Then they see its decision trace, its message's threading signal and every attempt
    trace = wait(browser).until(lambda d: d.find_element(By.ID, "trace")).text
    assert "category" in trace and "route" in trace
    assert "threaded by new-ticket" in browser.find_element(By.CSS_SELECTOR, ".message").text
    attempts = browser.find_elements(By.CSS_SELECTOR, f"#delivery-{console.dead_delivery} tbody tr")
    assert len(attempts) == 2
    shoot(browser, tmp_path, "ticket")
    assert (tmp_path / "screenshots" / "ticket.png").stat().st_size > 0


def test_an_operator_retries_a_dead_delivery(
    browser: Any, console: Seeded, tmp_path: Path, sessions: sessionmaker[Session]
) -> None:
    from selenium.webdriver.common.by import By

    sign_in(browser, console, tmp_path)
    browser.get(f"{console.url}/console/deliveries?status=dead")
    shoot(browser, tmp_path, "deliveries")
    # When they press Retry on the dead delivery and confirm
    click_and_accept(browser, f"retry-{console.dead_delivery}")
    # Then the page says so, and the delivery is queued with a fresh budget
    assert "queued for another attempt" in browser.find_element(By.ID, "note").text
    shoot(browser, tmp_path, "deliveries-retried")
    with sessions() as session:
        delivery = session.get(Delivery, console.dead_delivery)
        assert delivery is not None and (delivery.status, delivery.attempts) == ("pending", 0)
    assert outbox_for(sessions, "deliver") == [{"delivery_id": console.dead_delivery}]


def test_an_operator_releases_a_quarantined_message(
    browser: Any, console: Seeded, tmp_path: Path, sessions: sessionmaker[Session]
) -> None:
    from selenium.webdriver.common.by import By

    sign_in(browser, console, tmp_path)
    browser.find_element(By.LINK_TEXT, "Held input").click()
    row = wait(browser).until(lambda d: d.find_element(By.ID, f"inbound-{console.quarantined}"))
    row = row.text
    assert "mail loop" in row
    shoot(browser, tmp_path, "inbound")
    # When they release it and confirm
    click_and_accept(browser, f"release-{console.quarantined}")
    # Then it goes through ingest again
    assert "released" in browser.find_element(By.ID, "note").text
    shoot(browser, tmp_path, "inbound-released")
    with sessions() as session:
        record = session.get(InboundRecord, console.quarantined)
        assert record is not None and record.status == "pending"
    assert {"inbound_id": console.quarantined} in outbox_for(sessions, "ingest")


def test_without_a_token_the_console_refuses(browser: Any, console: Seeded, tmp_path: Path) -> None:
    from selenium.webdriver.common.by import By

    # When someone opens a console page without signing in
    browser.get(f"{console.url}/console/deliveries")
    # Then they get the sign-in page, not the deliveries
    assert "/console/login" in browser.current_url
    assert browser.find_element(By.TAG_NAME, "h1").text == "Sign in"
    assert not browser.find_elements(By.ID, f"retry-{console.dead_delivery}")
    # And a wrong token is refused
    browser.find_element(By.ID, "token").send_keys("not-a-token")
    browser.find_element(By.CSS_SELECTOR, "#login button").click()
    error = wait(browser).until(lambda d: d.find_element(By.ID, "error"))
    assert "unknown, revoked or not admin" in error.text
    shoot(browser, tmp_path, "refused")
