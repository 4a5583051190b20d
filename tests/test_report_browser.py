"""The report in real headless Chromium: no console errors, sorting, filters, payloads stay text.

Needs Debian's ``chromium`` (installed by .ci/run) and the ``playwright`` package (test extra); we
never download Playwright's own browsers. Skips when either is missing.
"""

from __future__ import annotations

import json
import re
import shutil
import time

import pytest
from test_report import EVIL_MODEL, XSS_IMG, XSS_SCRIPT, demo_runs

from evalkit.report.html import build_report

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync"]

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def page(tmp_path_factory: pytest.TempPathFactory):
    if CHROMIUM is None:
        pytest.skip("chromium is not installed (apt-get install chromium)")
    sync_api = pytest.importorskip("playwright.sync_api")
    root = tmp_path_factory.mktemp("browser")
    runs = demo_runs(root)
    out = root / "index.html"
    build_report(runs, out, n_bootstrap=20)
    problems: list[str] = []
    requests: list[str] = []
    with sync_api.sync_playwright() as playwright:
        context = playwright.chromium.launch_persistent_context(
            str(root / "profile"), executable_path=CHROMIUM, args=FLAGS, headless=True,
            viewport={"width": 1280, "height": 900})
        try:
            tab = context.new_page()
            tab.on("console", lambda m: problems.append(f"console.{m.type}: {m.text}") if m.type == "error" else None)
            tab.on("pageerror", lambda e: problems.append(f"pageerror: {e}"))
            tab.on("request", lambda r: requests.append(r.url))
            tab.on("dialog", lambda d: (problems.append(f"dialog: {d.message}"), d.dismiss()))
            tab.goto(out.as_uri())
            tab.wait_for_selector("body[data-samples-ready='1']", timeout=20_000)
            yield tab, problems, requests, runs, root
        finally:
            context.close()


def _labels(tab) -> list[str]:
    return tab.eval_on_selector_all("#leaderboard-table tbody th", "cells => cells.map(c => c.textContent)")


def _count(tab) -> str:
    return tab.text_content("#sample-count") or ""


def _wait_count(tab, expected: str, timeout: float = 10.0) -> None:
    """Poll from Python: the page's CSP forbids the string eval behind Playwright's wait_for_function."""
    deadline = time.monotonic() + timeout
    while _count(tab) != expected and time.monotonic() < deadline:
        time.sleep(0.05)
    assert _count(tab) == expected


def test_loads_without_console_errors_or_network(page):
    tab, problems, requests, _, root = page
    assert problems == []
    assert all(url.startswith("file://") for url in requests), requests
    assert _count(tab) == "showing 1–20 of 480 samples"
    shot = root / "report.png"
    tab.screenshot(path=str(shot), full_page=True)
    assert shot.stat().st_size > 10_000
    print(f"\nscreenshot: {shot}")


def test_leaderboard_sorts_by_clicked_column(page):
    tab, problems, _, runs, _ = page
    acc = {json.loads((r / "manifest.json").read_text())["model"]["name"]:
           json.loads((r / "results.json").read_text())["benchmarks"]["summ"]["metrics"]["rouge_l"]["value"]
           for r in runs}
    header = tab.locator("#leaderboard-table th[data-column='summ']")
    button = header.locator("button")
    button.click()
    assert header.get_attribute("aria-sort") == "descending"
    assert _labels(tab) == sorted(acc, key=lambda m: -acc[m])
    button.click()
    assert header.get_attribute("aria-sort") == "ascending"
    assert _labels(tab) == sorted(acc, key=lambda m: acc[m])
    tab.locator("#leaderboard-table").get_by_role("button", name="Model", exact=True).click()
    assert _labels(tab) == sorted(acc, reverse=True)
    assert problems == []


def test_filters_by_benchmark_model_outcome_and_text(page):
    tab, problems, _, runs, _ = page
    rows = [(k, json.loads(line)) for k, r in enumerate(runs)
            for line in (r / "samples.jsonl").read_text().split("\n") if line]
    fails = [(k, r) for k, r in rows if r["benchmark"] == "arith" and not r["error"] and r["scores"]["acc"] == 0.0]
    tab.select_option("#filter-benchmark", label="arith")
    assert _count(tab).endswith(f"of {3 * 40} samples")
    tab.select_option("#filter-outcome", value="fail")
    assert _count(tab).endswith(f"of {len(fails)} samples")
    outcomes = tab.eval_on_selector_all("#sample-list article", "a => a.map(x => x.dataset.outcome)")
    assert outcomes and set(outcomes) == {"fail"}
    tab.select_option("#filter-run", label="model-a")
    mine = [r for k, r in fails if k == 0]
    assert _count(tab) == (f"showing 1–{min(20, len(mine))} of {len(mine)} samples" if mine else "no matching samples")
    tab.select_option("#filter-outcome", value="error")
    tab.select_option("#filter-benchmark", value="")
    assert _count(tab) == "showing 1–1 of 1 samples"
    assert tab.text_content("#sample-list pre.error") == "HTTP 500 after 6 retries"
    for select in ("#filter-run", "#filter-outcome"):
        tab.select_option(select, value="")
    tab.fill("#filter-text", "logic question 17:")
    _wait_count(tab, "showing 1–3 of 3 samples")
    assert not tab.is_enabled("#page-next")
    tab.fill("#filter-text", "")
    _wait_count(tab, "showing 1–20 of 480 samples")
    tab.click("#page-next")
    assert _count(tab) == "showing 21–40 of 480 samples"
    assert problems == []


def test_payloads_show_as_text_and_run_nothing(page):
    tab, problems, _, _, root = page
    tab.fill("#filter-text", "window.__xss")
    _wait_count(tab, "showing 1–1 of 1 samples")
    output = tab.text_content("#sample-list pre.output")
    assert output == f"{XSS_SCRIPT}\n{XSS_IMG}\n& &amp; \u2028 done"
    assert tab.evaluate("typeof window.__xss") == "undefined"
    assert tab.evaluate("document.querySelectorAll('img').length") == 0
    assert tab.evaluate("document.querySelectorAll('script').length") == 2  # our data + our code, nothing injected
    assert EVIL_MODEL in _labels(tab)
    assert re.search(r"<img", tab.text_content("#leaderboard-table") or "")
    tab.screenshot(path=str(root / "payload.png"))
    assert problems == []
