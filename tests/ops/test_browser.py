"""The Dagster UI in headless Chromium: operators see every asset and check, and can launch the nightly job."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import dagster as dg
import pytest
from sqlalchemy import create_engine, text

from pipelines.definitions import defs
from tests.conftest import AS_OF
from tests.ops.conftest import PROJECT_ROOT, free_port

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
# The webserver launches runs itself (no daemon needed); no newsletter dialog over the page; no telemetry.
INSTANCE_YAML = """\
run_coordinator:
  module: dagster.core.run_coordinator
  class: DefaultRunCoordinator
nux:
  enabled: false
telemetry:
  enabled: false
"""
# Generous: on a loaded two-core machine the code location alone takes up to 40 s to load into the webserver.
UI_TIMEOUT_MS = 90_000
# One worker runs both server tests in turn: on two cores, a webserver and a CLI run side by side
# would each slow the other towards their timeouts.
pytestmark = [pytest.mark.browser, pytest.mark.slow, pytest.mark.xdist_group("ops_servers")]


@dataclass
class Webserver:
    url: str
    home: Path
    database_url: str
    log: Path


@pytest.fixture
def webserver(sample_inbox: Path, tmp_path: Path) -> Iterator[Webserver]:
    home = tmp_path / "dagster_home"
    home.mkdir()
    (home / "dagster.yaml").write_text(INSTANCE_YAML, encoding="utf-8")
    database_url = f"sqlite:///{tmp_path / 'ledger.sqlite'}"
    env = dict(os.environ) | {
        "DAGSTER_HOME": str(home),
        "ALU_INBOX_DIR": str(sample_inbox),
        "ALU_DATABASE_URL": database_url,
        "ALU_REPORTS_DIR": str(tmp_path / "reports"),
        "ALU_AS_OF": AS_OF.isoformat(),
    }
    port = free_port()
    log = tmp_path / "webserver.log"
    command = [str(Path(sys.executable).parent / "dagster-webserver"), "-w", "workspace.yaml"]
    with log.open("w") as out:
        server = subprocess.Popen(
            [*command, "-h", "127.0.0.1", "-p", str(port)],
            cwd=PROJECT_ROOT,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # its own process group, so teardown also stops the code server it spawns
        )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 120
        while True:
            try:
                with urllib.request.urlopen(f"{url}/server_info", timeout=2):
                    break
            except OSError:
                if server.poll() is not None or time.monotonic() > deadline:
                    pytest.fail(f"dagster-webserver did not start:\n{log.read_text()[-3000:]}")
                time.sleep(1)
        yield Webserver(url, home, database_url, log)
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        try:
            server.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(server.pid, signal.SIGKILL)
            server.wait()


def _chromium_or_skip() -> None:
    if not CHROMIUM.exists():
        message = f"{CHROMIUM} is missing: apt-get install chromium (.ci/run does)"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)


def test_an_operator_sees_the_assets_and_checks_and_launches_the_nightly_job_from_the_ui(
    webserver: Webserver, tmp_path: Path
):
    _chromium_or_skip()
    from playwright.sync_api import expect, sync_playwright

    graph = defs.resolve_asset_graph()
    asset_names = sorted(k.to_user_string() for k in graph.get_all_asset_keys())
    checks: dict[str, list[str]] = {}
    for check_key in graph.asset_check_keys:
        checks.setdefault(check_key.asset_key.to_user_string(), []).append(check_key.name)
    assert asset_names and checks
    screenshot = tmp_path / "ui-screenshot.png"

    with sync_playwright() as playwright:
        browser, page = _open(playwright, tmp_path)
        try:
            # Long names are shown middle-truncated ("department_rep…_ledger") with the full name in a hidden
            # measuring element, so names are looked up in the page, and what is visible is the count.
            page.goto(f"{webserver.url}/asset-groups")
            expect(page.get_by_role("button", name="Materialize all")).to_be_visible(timeout=UI_TIMEOUT_MS)
            for name in asset_names:
                expect(page.get_by_text(name, exact=True).first).to_be_attached(timeout=UI_TIMEOUT_MS)

            for asset, names in sorted(checks.items()):
                page.goto(f"{webserver.url}/assets/{asset}?view=checks")
                heading = f"Checks ({len(names)})"
                expect(page.get_by_text(heading, exact=True).first).to_be_visible(timeout=UI_TIMEOUT_MS)
                for name in names:
                    expect(page.get_by_text(name, exact=True).first).to_be_attached(timeout=UI_TIMEOUT_MS)

            page.goto(f"{webserver.url}/locations/alu_awards/jobs/nightly_awards/playground")
            expect(page.get_by_text("No errors")).to_be_visible(timeout=UI_TIMEOUT_MS)
            if defs.resolve_job_def("nightly_awards").executor_def.name == "multi_or_in_process_executor":
                # One process for all steps: on a shared two-core machine each step subprocess spends
                # 10-20 s importing the code location, which would triple the run.
                page.locator(".CodeMirror").first.click()
                page.keyboard.press("Control+End")
                page.keyboard.insert_text("\nexecution:\n  config:\n    in_process: {}\n")
                expect(page.get_by_text("No errors")).to_be_visible(timeout=UI_TIMEOUT_MS)
            page.get_by_role("button", name="Launch Run").click()
            page.wait_for_url("**/runs/**")

            status = _run_status(page)
            page.screenshot(path=str(screenshot))
        finally:
            browser.close()

    if (PROJECT_ROOT / "data").is_dir():
        shutil.copy(screenshot, PROJECT_ROOT / "data" / "ui-screenshot.png")
    assert status == "Success", f"run ended {status}; screenshot {screenshot}; log {webserver.log}"

    with dg.DagsterInstance.from_config(str(webserver.home)) as instance:
        runs = instance.get_runs()
        assert [(r.job_name, r.status) for r in runs] == [("nightly_awards", dg.DagsterRunStatus.SUCCESS)]
    ledger = create_engine(webserver.database_url)
    try:
        with ledger.connect() as conn:
            booked_by = {r[0] for r in conn.execute(text("SELECT DISTINCT run_id FROM award_ledger"))}
    finally:
        ledger.dispose()
    assert booked_by == {runs[0].run_id}


WHAT_IF_CONFIG = """ops:
  what_if_comparison:
    config:
      overrides:
        - equipment_upgrade.cap=6000000
"""


def test_an_operator_runs_the_what_if_job_from_the_launchpad_and_the_ledger_is_unchanged(
    webserver: Webserver, sample_inbox: Path, tmp_path: Path
):
    _chromium_or_skip()
    from playwright.sync_api import expect, sync_playwright

    from tests.conftest import Nightly

    Nightly(inbox=sample_inbox, database_url=webserver.database_url, reports=tmp_path / "reports").run()
    ledger = create_engine(webserver.database_url)

    def booked() -> list[tuple[object, ...]]:
        with ledger.connect() as conn:
            return [tuple(r) for r in conn.execute(text("SELECT * FROM award_ledger ORDER BY entry_id"))]

    before = booked()
    assert before
    with sync_playwright() as playwright:
        browser, page = _open(playwright, tmp_path)
        try:
            page.goto(f"{webserver.url}/locations/alu_awards/jobs/what_if/playground")
            editor = page.locator(".CodeMirror").first
            expect(editor).to_be_visible(timeout=UI_TIMEOUT_MS)
            editor.click()
            page.keyboard.press("Control+A")
            page.keyboard.press("Delete")
            page.keyboard.insert_text(WHAT_IF_CONFIG)
            expect(page.get_by_text("No errors")).to_be_visible(timeout=UI_TIMEOUT_MS)
            page.get_by_role("button", name="Launch Run").click()
            page.wait_for_url("**/runs/**")
            status = _run_status(page)
            page.screenshot(path=str(tmp_path / "what-if.png"))
        finally:
            browser.close()
    try:
        assert status == "Success", f"run ended {status}; log {webserver.log}"
        with dg.DagsterInstance.from_config(str(webserver.home)) as instance:
            (run,) = instance.get_runs()
            assert (run.job_name, run.status) == ("what_if", dg.DagsterRunStatus.SUCCESS)
            assert run.run_config["ops"]["what_if_comparison"]["config"]["overrides"] == [
                "equipment_upgrade.cap=6000000"
            ]
        assert booked() == before
        (workbook,) = (tmp_path / "reports" / AS_OF.isoformat() / "模拟测算").glob("模拟测算-*.xlsx")
        assert workbook.name == f"模拟测算-{run.run_id[:8]}.xlsx"
    finally:
        ledger.dispose()


def _open(playwright: Any, tmp_path: Path) -> tuple[Any, Any]:
    """Debian's chromium, headless, with a fresh profile: the browser (to close) and its page."""
    browser = playwright.chromium.launch_persistent_context(
        user_data_dir=str(tmp_path / "chromium-profile"),
        executable_path=str(CHROMIUM),
        args=CHROMIUM_ARGS,
        headless=True,
        viewport={"width": 1400, "height": 900},
    )
    page = browser.new_page()
    page.set_default_timeout(UI_TIMEOUT_MS)
    return browser, page


def _run_status(page: Any) -> str | None:
    """The launched run's final status as its page shows it, waiting up to three minutes (None: still running)."""
    deadline = time.monotonic() + 180
    while time.monotonic() < deadline:
        for candidate in ("Success", "Failure", "Canceled"):
            if page.get_by_text(candidate, exact=True).first.is_visible():
                return candidate
        page.wait_for_timeout(1000)
    return None
