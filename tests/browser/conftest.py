"""The whole system (as tests/e2e runs it) with the console, the demo academy seeded, and a real
headless Chromium (Debian's `chromium` + `chromedriver`, installed by scripts/ensure-infra.sh)
driven by selenium. Nothing is downloaded at run time.

Screenshots of every page go to $CONSOLE_SCREENSHOTS when set (CI keeps that folder as an
artefact), else to a pytest temporary folder; the path is printed at the end of the run.
"""
from __future__ import annotations

import os
import shutil
from pathlib import Path

import aiohttp
import pytest
from selenium import webdriver
from selenium.webdriver.chrome.options import Options
from selenium.webdriver.chrome.service import Service

from scripts import demo as demo_academy
from tests.e2e.conftest import ADMIN, running_system
from tests.support.background import BackgroundLoop
from tests.support.isolation import isolation  # noqa: F401 (a database and exchange of the module's own)

# Fast demo pacing, and a board that refreshes every second.
ENV = {"TODAY_REFRESH_S": "1", "FINALIZE_GRACE_S": "20", "TEACHER_MISSING_AFTER_S": "300"}


def chromium() -> tuple[str, str]:
    browser, driver = shutil.which("chromium"), shutil.which("chromedriver")
    if not (browser and driver):
        pytest.fail("chromium and chromedriver are not installed: run scripts/ensure-infra.sh "
                    "(apt-get install chromium chromium-driver)")
    return browser, driver


@pytest.fixture(scope="module")
def academy(isolation):  # noqa: F811
    """(system, demo class): the system started in a loop of its own, the demo academy seeded."""
    background = BackgroundLoop()

    async def start():
        system = await background.hold(running_system(isolation.database_url, isolation.amqp_url,
                                                      {**isolation.env, **ENV}))
        async with aiohttp.ClientSession() as http:
            demo = await demo_academy.seed(http, system.url("scheduler"), system.url("billing"),
                                           system.url("meet-emulator"), ADMIN, start_in_s=4, minutes=1)
        assert demo is not None, system.logbook.tail()
        return system, demo

    try:
        yield background.run(start())
    finally:
        background.close()


@pytest.fixture(scope="module")
def browser():
    binary, driver_path = chromium()
    options = Options()
    options.binary_location = binary
    for argument in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--window-size=1280,900",
                     "--disable-gpu", "--no-first-run"):
        options.add_argument(argument)
    driver = webdriver.Chrome(options=options, service=Service(driver_path))
    driver.implicitly_wait(0)
    try:
        yield driver
    finally:
        driver.quit()


@pytest.fixture(scope="session")
def screenshots(tmp_path_factory) -> Path:
    folder = Path(os.environ.get("CONSOLE_SCREENSHOTS") or tmp_path_factory.mktemp("console-screenshots"))
    folder.mkdir(parents=True, exist_ok=True)
    yield folder
    print(f"\nconsole screenshots: {folder}")
