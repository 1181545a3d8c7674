"""Render the HTML report in headless Chromium and read the matrix back from
the rendered DOM (the inline script must run: it fills the filter count)."""

import os
import shutil
import subprocess

import pytest
from lxml import html as lhtml

from vmsg_conform import results as R
from vmsg_conform.reports import html, json_report

from test_reports import sample_run


def _chromium():
    for name in ("chromium", "chromium-browser", "google-chrome"):
        path = shutil.which(name)
        if path:
            return path
    if os.environ.get("CI"):
        pytest.fail("chromium is required under CI (apt package 'chromium')")
    pytest.skip("chromium not installed")


def _dump_dom(browser, path):
    proc = subprocess.run(
        [browser, "--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
         "--dump-dom", path.resolve().as_uri()],
        capture_output=True, text=True, timeout=120, check=False)
    assert proc.returncode == 0, proc.stderr[-2000:]
    return lhtml.fromstring(proc.stdout)


def test_rendered_matrix_matches_the_json(tmp_path):
    browser = _chromium()
    json_report.write(sample_run(), tmp_path / "r.json")
    run = json_report.read(tmp_path / "r.json")  # render from the JSON alone
    page = tmp_path / "report.html"
    html.write(run, page)
    dom = _dump_dom(browser, page)
    expected = {k: v["verdict"] for k, v in R.to_dict(run)["requirement_verdicts"].items()}
    rows = dom.xpath('//table[@id="matrix"]//tr[@data-req]')
    assert {r.get("data-req"): r.get("data-verdict") for r in rows} == expected
    shown = [r for r in rows if "hidden" not in (r.get("class") or "")]
    assert len(shown) == len(expected)  # every verdict filter starts checked
    assert dom.get_element_by_id("f-count").text_content() == f"{len(expected)} shown"  # script ran
    for row in rows:
        cell = row.xpath('.//td[@data-verdict]')[0]
        assert cell.text_content().startswith(row.get("data-verdict"))
