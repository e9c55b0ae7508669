"""The Artifact API's interactive page renders offline: headless Chromium
(Debian's ``chromium`` and ``chromium-driver``, driven by selenium) loads
``/artifacts/docs`` from a real server with every host but 127.0.0.1
unresolvable, and the page must show the API's operations; the browser's
performance log must name no host but 127.0.0.1."""

import json
import shutil
import urllib.parse

import pytest

from tests.conftest import glare_server

pytestmark = pytest.mark.integration

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
CHROMEDRIVER = shutil.which("chromedriver")


def _browser(profile):
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for arg in ("--headless", "--no-sandbox", "--disable-gpu",
                "--disable-quic", "--no-first-run",
                "--disable-background-networking",
                "--disable-component-update", "--disable-sync",
                "--user-data-dir=%s" % profile,
                "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1"):
        options.add_argument(arg)
    options.set_capability("goog:loggingPrefs", {"performance": "ALL"})
    # An explicit driver path: selenium never tries to download one.
    return webdriver.Chrome(options=options,
                            service=Service(executable_path=CHROMEDRIVER))


@pytest.mark.skipif(CHROMIUM is None or CHROMEDRIVER is None,
                    reason="Debian's chromium and chromium-driver are not "
                           "installed (.ci/run installs them)")
def test_docs_page_renders_operations_without_outside_requests(tmp_path):
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    with glare_server(tmp_path, "sqlite:///%s" % (tmp_path / "g.db")) as srv:
        browser = _browser(tmp_path / "profile")
        try:
            browser.get(srv.url + "/artifacts/docs")
            WebDriverWait(browser, 30).until(
                lambda b: len(b.find_elements(By.CSS_SELECTOR,
                                              ".opblock")) >= 5)
            title = browser.find_element(By.CSS_SELECTOR,
                                         ".info .title").text
            paths = [e.text for e in browser.find_elements(
                By.CSS_SELECTOR, ".opblock-summary-path")]
            urls = [json.loads(entry["message"])["message"]
                    .get("params", {}).get("request", {}).get("url", "")
                    for entry in browser.get_log("performance")]
        finally:
            browser.quit()
    assert "Glare Artifact API" in title
    assert any(p.startswith("/artifacts/") for p in paths), paths
    hosts = {urllib.parse.urlsplit(u).hostname for u in urls
             if u.startswith(("http:", "https:"))}
    assert hosts == {"127.0.0.1"}, hosts
