"""Open every page of the built book in headless Chromium and check that it renders offline.

The pages are served from a loopback HTTP server. The check fails when a page

- loads a script or stylesheet from an http(s) URL in its HTML source,
- requests anything outside the loopback server (such requests are blocked),
- gets an HTTP error for one of its own files,
- raises a JavaScript error or logs a console error,
- has a plotly figure without its drawn SVG (``.js-plotly-plot .main-svg``),
- has saved widget state whose views the ipywidgets HTML manager did not draw,
- has a formula that MathJax did not typeset, or leftover TeX delimiters in its text.

Screenshots of the key pages go to the screenshot folder.

Usage: python ci/check_book.py _build/html --screenshots _build/screenshots
"""

import argparse
import functools
import html.parser
import http.server
import logging
import os
import shutil
import sys
import threading
from pathlib import Path
from urllib.parse import urlparse

from playwright.sync_api import Error as PlaywrightError
from playwright.sync_api import sync_playwright

logger = logging.getLogger("check_book")

CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
LOOPBACK_HOSTS = {"127.0.0.1", "localhost"}
LOCAL_SCHEMES = {"data", "blob", "about"}

# Pages worth a screenshot, relative to the html folder, when they exist.
SCREENSHOT_PAGES = ("book/intro.html", "notebooks/01-relaxation.html", "book/glossary.html", "book/api.html")

# Milliseconds to wait for MathJax, plotly and the widget manager to finish on one page.
RENDER_TIMEOUT_MS = 30_000


class RemoteAssetFinder(html.parser.HTMLParser):
    """Collect the scripts and stylesheets that a page's HTML loads from http(s) URLs."""

    def __init__(self):
        super().__init__()
        self.remote = []

    def handle_starttag(self, tag, attrs):
        attributes = dict(attrs)
        if tag == "script":
            url = attributes.get("src") or ""
        elif tag == "link" and "stylesheet" in (attributes.get("rel") or ""):
            url = attributes.get("href") or ""
        else:
            return
        if url.startswith(("http://", "https://", "//")):
            self.remote.append(f"<{tag}> {url}")


class QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format, *args):
        pass


class LoopbackServer(http.server.ThreadingHTTPServer):
    def handle_error(self, request, client_address):
        # The browser drops connections when a page closes mid-download; that is no failure.
        if isinstance(sys.exc_info()[1], ConnectionError):
            return
        super().handle_error(request, client_address)


def serve(folder: Path) -> http.server.ThreadingHTTPServer:
    """Serve ``folder`` on a free loopback port in a background thread."""
    handler = functools.partial(QuietHandler, directory=str(folder))
    server = LoopbackServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


def find_chromium(explicit: str | None) -> str:
    """Return the Chromium executable, or exit with a message saying how to install it."""
    candidates = [explicit, os.environ.get("BETALIB_CHROMIUM"), "/usr/bin/chromium"]
    candidates += [shutil.which(name) for name in ("chromium", "chromium-browser")]
    for candidate in candidates:
        if candidate and Path(candidate).is_file() and os.access(candidate, os.X_OK):
            return candidate
    sys.exit(
        "error: Chromium not found. Install it (Debian: apt-get install chromium) "
        "or set BETALIB_CHROMIUM to its executable."
    )


def is_local(url: str) -> bool:
    parsed = urlparse(url)
    return parsed.scheme in LOCAL_SCHEMES or parsed.hostname in LOOPBACK_HOSTS


# Runs in the page after load. Returns what rendered and what did not.
RENDER_REPORT_JS = """
() => {
  const plotlyDivs = [...document.querySelectorAll('.plotly-graph-div')];
  const viewTags = [...document.querySelectorAll('script[type="application/vnd.jupyter.widget-view+json"]')];
  const mathElements = [...document.querySelectorAll('.math')];

  // Text outside code, with the typeset formulas removed: raw TeX left here was missed.
  const body = document.body ? document.body.cloneNode(true) : document.createElement('body');
  body.querySelectorAll('pre, code, script, style, textarea, mjx-container, .highlight').forEach(e => e.remove());
  const text = body.textContent;
  const leftovers = ['$$', '\\\\(', '\\\\)', '\\\\[', '\\\\]', '\\\\begin{'].filter(d => text.includes(d));

  return {
    plotly: plotlyDivs.length,
    plotlyDrawn: plotlyDivs.filter(d => d.querySelector('.main-svg')).length,
    widgetViews: viewTags.length,
    widgetViewsDrawn: viewTags.filter(tag => {
      const area = tag.previousElementSibling;
      return area && area.classList.contains('widget-subarea') && area.querySelector('.jupyter-widgets');
    }).length,
    widgetState: !!document.querySelector('script[type="application/vnd.jupyter.widget-state+json"]'),
    math: mathElements.length,
    mathTypeset: mathElements.filter(e => e.querySelector('mjx-container')).length,
    texLeftovers: leftovers,
  };
}
"""

# Resolves when every plotly div is drawn, the widget views are drawn and MathJax is done.
WAIT_RENDERED_JS = """
async () => {
  if (document.querySelector('.math')) {
    while (!(window.MathJax && MathJax.startup && MathJax.startup.promise)) {
      await new Promise(r => setTimeout(r, 100));
    }
    await MathJax.startup.promise;
  }
  const done = () =>
    [...document.querySelectorAll('.plotly-graph-div')].every(d => d.querySelector('.main-svg')) &&
    [...document.querySelectorAll('script[type="application/vnd.jupyter.widget-view+json"]')].every(tag => {
      const area = tag.previousElementSibling;
      return area && area.classList.contains('widget-subarea') && area.querySelector('.jupyter-widgets');
    });
  while (!done()) {
    await new Promise(r => setTimeout(r, 100));
  }
  return true;
}
"""


def check_page(context, base_url: str, relative: str, screenshot: Path | None) -> tuple[list[str], dict]:
    """Open one page and return its problems and its render report."""
    problems = []
    page = context.new_page()
    page.on("pageerror", lambda error: problems.append(f"JavaScript error: {error}"))
    page.on(
        "console",
        lambda message: problems.append(f"console error: {message.text} ({message.location.get('url', '')})")
        if message.type == "error"
        else None,
    )
    page.on(
        "response",
        lambda response: problems.append(f"HTTP {response.status} for {response.url}")
        if response.status >= 400 and is_local(response.url)
        else None,
    )

    page.goto(f"{base_url}/{relative}", wait_until="load")
    try:
        page.wait_for_function(WAIT_RENDERED_JS, timeout=RENDER_TIMEOUT_MS)
    except PlaywrightError as error:
        problems.append(f"figures, widgets or formulas not rendered within {RENDER_TIMEOUT_MS // 1000} s: {error.message.splitlines()[0]}")
    report = page.evaluate(RENDER_REPORT_JS)

    if report["plotlyDrawn"] < report["plotly"]:
        problems.append(f"{report['plotly'] - report['plotlyDrawn']} of {report['plotly']} plotly figures not drawn")
    if report["widgetViewsDrawn"] < report["widgetViews"]:
        problems.append(f"{report['widgetViews'] - report['widgetViewsDrawn']} of {report['widgetViews']} widget views not drawn")
    if report["widgetState"] and report["widgetViews"] == 0:
        problems.append("widget state saved but no widget view on the page")
    if report["mathTypeset"] < report["math"]:
        problems.append(f"{report['math'] - report['mathTypeset']} of {report['math']} formulas not typeset by MathJax")
    if report["texLeftovers"]:
        problems.append(f"raw TeX delimiters left in the page text: {' '.join(report['texLeftovers'])}")

    if screenshot is not None:
        screenshot.parent.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(screenshot), full_page=True)
    page.close()
    return problems, report


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("html", type=Path, help="folder of the built book (jupyter-book's _build/html)")
    parser.add_argument("--screenshots", type=Path, default=None, help="folder for screenshots of key pages")
    parser.add_argument("--chromium", default=None, help="Chromium executable (default: $BETALIB_CHROMIUM or /usr/bin/chromium)")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(name)s: %(message)s")

    html_root = args.html.resolve()
    # _static holds the theme's HTML templates, which are not pages.
    pages = sorted(
        path.relative_to(html_root).as_posix()
        for path in html_root.rglob("*.html")
        if not path.relative_to(html_root).as_posix().startswith("_static/")
    )
    if not pages:
        logger.error("no HTML pages under %s; build the book first", html_root)
        return 1
    chromium = find_chromium(args.chromium)

    failures = {}
    for relative in pages:
        finder = RemoteAssetFinder()
        finder.feed((html_root / relative).read_text(encoding="utf-8"))
        if finder.remote:
            failures.setdefault(relative, []).extend(f"loads a remote asset: {item}" for item in finder.remote)

    server = serve(html_root)
    base_url = f"http://127.0.0.1:{server.server_address[1]}"
    blocked = []

    def route(request_route):
        url = request_route.request.url
        if is_local(url):
            request_route.continue_()
        else:
            blocked.append(url)
            request_route.abort()

    try:
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=chromium, headless=True, args=CHROMIUM_ARGS)
            context = browser.new_context(viewport={"width": 1280, "height": 900}, service_workers="block")
            context.route("**/*", route)
            for relative in pages:
                blocked.clear()
                screenshot = None
                if args.screenshots and relative in SCREENSHOT_PAGES:
                    screenshot = args.screenshots / (relative.replace("/", "_").removesuffix(".html") + ".png")
                problems, report = check_page(context, base_url, relative, screenshot)
                problems += [f"blocked request outside loopback: {url}" for url in blocked]
                if problems:
                    failures.setdefault(relative, []).extend(problems)
                logger.info(
                    "%-45s plotly %d/%d, widgets %d/%d, formulas %d/%d%s",
                    relative,
                    report["plotlyDrawn"], report["plotly"],
                    report["widgetViewsDrawn"], report["widgetViews"],
                    report["mathTypeset"], report["math"],
                    f", {len(problems)} problems" if problems else "",
                )
            browser.close()
    finally:
        server.shutdown()

    if failures:
        for relative, problems in failures.items():
            for problem in problems:
                logger.error("%s: %s", relative, problem)
        logger.error("browser check failed on %d of %d pages", len(failures), len(pages))
        return 1
    logger.info("browser check passed on %d pages", len(pages))
    return 0


if __name__ == "__main__":
    sys.exit(main())
