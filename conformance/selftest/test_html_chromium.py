"""Render the HTML report in headless Chromium and read the matrix back from
the rendered DOM (the inline script must run: it fills the filter count),
and measure that the root causes are on the first screen."""

import json
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


def _dump_dom(browser, path, *flags):
    proc = subprocess.run(
        [browser, "--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", *flags,
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


# Appended to a copy of the report (the report itself carries no test code):
# where the layout put the root causes, relative to the first screen.
_MEASURE = """<script>
(function(){
  function box(e){var r=e.getBoundingClientRect();return {top:r.top,bottom:r.bottom};}
  var causes=document.querySelectorAll('#root-causes li.cause');
  document.body.setAttribute('data-layout', JSON.stringify({
    screen: window.innerHeight, section: box(document.getElementById('root-causes')),
    first: box(causes[0]), matrix: box(document.getElementById('matrix'))}));
})();
</script>"""


def test_root_causes_are_on_the_first_screen(tmp_path):
    """On a 1280x720 window, with nothing scrolled, the root-cause section
    and its most serious cause are in full view, above the matrix."""
    browser = _chromium()
    page = tmp_path / "report.html"
    page.write_text(html.render(sample_run()).replace("</body>", _MEASURE + "</body>"), encoding="utf-8")
    dom = _dump_dom(browser, page, "--window-size=1280,720", "--hide-scrollbars")
    layout = json.loads(dom.xpath("//body")[0].get("data-layout"))
    assert layout["screen"] >= 600  # the window size took (browser chrome may take some)
    # right below the header, not after the run details
    assert 0 <= layout["section"]["top"] < layout["screen"] / 3
    assert layout["first"]["bottom"] <= layout["screen"]
    assert layout["first"]["bottom"] <= layout["matrix"]["top"]
