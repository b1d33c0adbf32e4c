"""The console in a real browser, over the whole running system and the demo academy: the demo
class appears on Today and becomes final without a reload, its timeline shows who was there,
a guest is mapped and a log corrected (and the family bill follows), a viewer never reaches
money. Every page visited is saved as a screenshot (see conftest.py)."""
from __future__ import annotations

import re
import urllib.request

import pytest
from selenium.common.exceptions import NoSuchElementException, StaleElementReferenceException, TimeoutException
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys
from selenium.webdriver.support.select import Select
from selenium.webdriver.support.ui import WebDriverWait

pytestmark = [pytest.mark.e2e, pytest.mark.browser, pytest.mark.timeout(420)]

ADMIN_TOKEN, VIEWER_TOKEN = "e2e-admin-token-0001", "e2e-viewer-token-001"
FINAL_WITHIN_S = 240  # the one-minute demo class, its calls ending, the fetch after them


@pytest.fixture(scope="module")
def console(academy) -> str:
    system, _ = academy
    return system.url("console")


@pytest.fixture(scope="module")
def demo(academy):
    return academy[1]


def shoot(browser, screenshots, name: str) -> None:
    """The whole page, however long, as <name>.png."""
    height = browser.execute_script("return document.documentElement.scrollHeight")
    browser.set_window_size(1280, max(900, min(height, 4000)))
    browser.save_screenshot(str(screenshots / f"{name}.png"))
    browser.set_window_size(1280, 900)


def sign_in(browser, console: str, token: str) -> None:
    browser.delete_all_cookies()
    browser.get(f"{console}/sign-in")
    field = browser.find_element(By.ID, "token")
    field.send_keys(token)
    field.send_keys(Keys.ENTER)  # keyboard only
    WebDriverWait(browser, 10).until(lambda b: "Signed in as" in b.page_source)


def wait(browser, seconds: float, condition, message: str):
    """Poll `condition` (no fixed sleep); on a timeout the message carries what the page says is wrong."""
    try:
        # htmx swaps the board while a condition reads it: a stale element is read again next poll
        return WebDriverWait(browser, seconds, poll_frequency=0.5,
                             ignored_exceptions=(NoSuchElementException, StaleElementReferenceException)).until(condition)
    except TimeoutException:
        said = [e.text for e in browser.find_elements(By.CSS_SELECTOR, ".problem, .field-error, h1")]
        raise AssertionError(f"{message}; at {browser.current_url} the page says {said}") from None


def state_of(browser, class_id: int) -> str | None:
    try:
        return browser.find_element(By.CSS_SELECTOR, f'tr[data-class-id="{class_id}"] [data-state]') \
            .get_attribute("data-state")
    except NoSuchElementException:
        return None


def test_sign_in_shows_who_is_signed_in(browser, console, screenshots):
    browser.get(f"{console}/today")
    assert "/sign-in" in browser.current_url
    shoot(browser, screenshots, "sign-in")
    sign_in(browser, console, ADMIN_TOKEN)
    assert browser.find_element(By.CSS_SELECTOR, ".who strong").text == "admin"
    assert browser.current_url.endswith("/today")


def test_the_demo_class_appears_on_today_and_becomes_final_without_a_reload(browser, console, demo, screenshots):
    browser.get(f"{console}/today")
    wait(browser, 60, lambda b: state_of(b, demo.class_id) == "in_progress", "the demo class never showed as in progress")
    wait(browser, 60, lambda b: b.find_element(By.CSS_SELECTOR, f'tr[data-class-id="{demo.class_id}"] td:nth-child(5)')
         .text not in ("", "nobody"), "nobody showed in the call")
    shoot(browser, screenshots, "today-in-progress")
    marker = browser.execute_script("window.notReloaded = true; return window.notReloaded")
    wait(browser, FINAL_WITHIN_S, lambda b: state_of(b, demo.class_id) == "final", "the demo class never became final")
    assert marker and browser.execute_script("return window.notReloaded") is True, "htmx refreshed the board in place"
    shoot(browser, screenshots, "today")


def test_the_class_page_draws_its_timeline(browser, console, demo, screenshots):
    browser.get(f"{console}/today")
    browser.find_element(By.LINK_TEXT, "Demo: analytical engines").click()
    wait(browser, 10, lambda b: b.find_elements(By.CSS_SELECTOR, "svg.timeline"), "no timeline")
    labels = [t.text for t in browser.find_elements(By.CSS_SELECTOR, "svg.timeline text.label")]
    assert labels[0] == "Ada Lovelace" and labels[-1] == "Curious visitor"  # teacher first, guests last
    bars = browser.find_elements(By.CSS_SELECTOR, "svg.timeline rect[class^='bar-']")
    assert len(bars) == 6  # Ada 1, Allegra 2 (a rejoin), Mary 2 (two devices at once), the guest 1
    mary = [float(b.get_attribute("y")) for b in bars if b.find_element(By.TAG_NAME, "title")
            .get_attribute("textContent").startswith("Mary")]
    assert len(set(mary)) == 2, "Mary's overlapping devices are drawn in two lanes"
    shoot(browser, screenshots, "class")


def log_row(browser, name: str) -> dict[str, str]:
    row = next(r for r in browser.find_elements(By.CSS_SELECTOR, "tr[data-log-id]")
               if r.find_element(By.TAG_NAME, "td").text == name)
    return {cell.get_attribute("data-field"): cell.text
            for cell in row.find_elements(By.CSS_SELECTOR, "td[data-field]")}


def test_mapping_the_guest_changes_the_absent_students_log(browser, console, demo, screenshots):
    browser.get(f"{console}/classes/{demo.class_id}")
    assert log_row(browser, "George Byron")["status"] == "absent"
    browser.get(f"{console}/unmatched")
    shoot(browser, screenshots, "unmatched")
    row = browser.find_element(By.XPATH, "//tr[td[contains(., 'Curious visitor')]]")
    Select(row.find_element(By.TAG_NAME, "select")).select_by_visible_text("George Byron (student)")
    row.find_element(By.TAG_NAME, "button").click()
    wait(browser, 10, lambda b: "The guest was mapped" in b.page_source, "no confirmation")
    browser.get(f"{console}/classes/{demo.class_id}")
    wait(browser, 30, lambda b: (b.refresh() or True) and log_row(b, "George Byron")["status"] != "absent",
         "George's log did not change")
    assert "Curious visitor" not in [t.text for t in browser.find_elements(By.CSS_SELECTOR, "svg.timeline text.label")]


def family_total(browser, console, family: str) -> str:
    browser.get(f"{console}/month")
    section = browser.find_element(By.XPATH, f"//section[h2[starts-with(normalize-space(.), '{family}')]]")
    return section.find_element(By.CSS_SELECTOR, "tfoot td.num").text


def test_correcting_a_log_changes_the_family_bill(browser, console, demo, screenshots):
    wait(browser, 60, lambda b: "provisional" not in family_total(b, console, "Byron family") and
         not b.find_elements(By.CSS_SELECTOR, "tr.provisional"), "the bill stayed provisional")
    before = family_total(browser, console, "Byron family")
    shoot(browser, screenshots, "month")
    browser.get(f"{console}/classes/{demo.class_id}")
    section = browser.find_element(By.XPATH, "//section[.//h3[starts-with(., 'Allegra Byron')]]")
    section.find_element(By.TAG_NAME, "summary").send_keys(Keys.ENTER)  # opens the form, keyboard only
    form = section.find_element(By.TAG_NAME, "form")
    Select(form.find_element(By.NAME, "status")).select_by_value("present")
    form.find_element(By.NAME, "billable_seconds").send_keys("60")  # the whole (one-minute) class
    form.find_element(By.NAME, "allow_above_attended").click()
    form.find_element(By.NAME, "reason").send_keys("stayed on by phone for the whole class")
    form.find_element(By.TAG_NAME, "button").click()
    wait(browser, 10, lambda b: "The log was corrected" in b.page_source, "no confirmation")
    assert log_row(browser, "Allegra Byron")["billable_seconds"] == "1 min 00 s"
    assert "stayed on by phone" in browser.page_source  # the audit history under the log
    shoot(browser, screenshots, "class-corrected")
    wait(browser, 30, lambda b: family_total(b, console, "Byron family") != before, "the bill did not change")
    browser.get(f"{console}/month")
    allegra = browser.find_element(By.XPATH, "//section[h2[starts-with(normalize-space(.), 'Byron family')]]"
                                             "//tr[td[text()='Allegra Byron']]")
    assert "1 min 00 s" in allegra.text and "corrected" in allegra.text


def test_a_statement_prints_and_the_month_downloads_as_csv(browser, console, demo, screenshots):
    browser.get(f"{console}/month")
    browser.find_element(By.XPATH, "//section[h2[starts-with(normalize-space(.), 'Byron family')]]"
                                   "//a[text()='printable statement']").click()
    assert browser.find_element(By.TAG_NAME, "h1").text == "Invoice · Byron family"
    shoot(browser, screenshots, "statement")
    browser.get(f"{console}/month")
    body = download(browser, browser.find_element(By.LINK_TEXT, "Download CSV").get_attribute("href"))
    assert body.startswith("period,family_id,family_name") and "Allegra Byron" in body


def test_closing_the_running_month_shows_billings_refusal(browser, console, screenshots):
    browser.get(f"{console}/month")
    browser.find_element(By.PARTIAL_LINK_TEXT, "Close ").click()
    browser.find_element(By.CSS_SELECTOR, "button.danger").click()
    text = browser.find_element(By.CSS_SELECTOR, ".problem").text
    assert re.search(r"not over yet", text), text
    shoot(browser, screenshots, "close-refused")


def test_closing_last_month_shows_progress_then_its_checksum_and_its_csv(browser, console, demo, screenshots):
    period = f"{demo.start.year - (demo.start.month == 1)}-{(demo.start.month - 2) % 12 + 1:02d}"
    browser.get(f"{console}/month?period={period}")
    browser.find_element(By.LINK_TEXT, f"Close {period}…").click()
    shoot(browser, screenshots, "close-confirm")
    browser.find_element(By.CSS_SELECTOR, "button.danger").click()
    wait(browser, 10, lambda b: b.find_elements(By.TAG_NAME, "progress"), "no progress bar")
    checksum = wait(browser, 60, lambda b: re.search(r"Checksum ([0-9a-f]{64})", b.find_element(By.ID, "job").text),
                    "the close job never finished")[1]
    shoot(browser, screenshots, "close-done")
    browser.get(f"{console}/month?period={period}")
    assert checksum in browser.find_element(By.TAG_NAME, "h1").text
    assert not browser.find_elements(By.PARTIAL_LINK_TEXT, "Close ")
    body = download(browser, browser.find_element(By.LINK_TEXT, "Download CSV").get_attribute("href"))
    assert body.startswith("period,family_id,family_name")


def download(browser, href: str) -> str:
    """What the link downloads, fetched with the browser's session cookie."""
    cookie = "; ".join(f"{c['name']}={c['value']}" for c in browser.get_cookies())
    with urllib.request.urlopen(urllib.request.Request(href, headers={"Cookie": cookie})) as response:
        assert response.headers["Content-Type"].startswith("text/csv")
        return response.read().decode()


def test_a_viewer_never_reaches_money(browser, console, demo, screenshots):
    sign_in(browser, console, VIEWER_TOKEN)
    assert not browser.find_elements(By.LINK_TEXT, "Month")
    browser.get(f"{console}/month")
    assert browser.find_element(By.TAG_NAME, "h1").text == "Not for your role"
    shoot(browser, screenshots, "viewer-forbidden")
    browser.get(f"{console}/classes/{demo.class_id}")
    assert not browser.find_elements(By.CSS_SELECTOR, "form[action$='/corrections']")
