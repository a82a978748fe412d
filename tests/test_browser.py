"""The built book as a reader meets it, in headless Chromium: navigation, images, math,
search.

Runs when /usr/bin/chromium exists (`.ci/run` installs it). Nothing is rerouted: MathJax
is served with the book (book/_ext/local_mathjax.py), so math must render from the built
pages alone, as it would offline."""

import functools
import http.server
import json
import re
import shutil
import threading
from pathlib import Path

import pytest
import yaml

from icl_core.book.pipeline import build

ROOT = Path(__file__).resolve().parents[1]
# Upstream noise, harmless here: sphinx-thebe injects its config script twice (its
# `env-before-read-docs` handler runs more than once per build), and pydata-sphinx-theme
# logs a reset to "auto" on a first visit, when the browser has no stored light/dark
# choice. Any other console error fails the test.
KNOWN_THEME_MESSAGES = (
    "Identifier 'THEBE_JS_URL' has already been declared",
    "Got invalid theme mode",
)
CHROMIUM = Path("/usr/bin/chromium")
SCREENSHOTS = ROOT / "tests" / "screenshots"
pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(
        not CHROMIUM.exists(),
        reason="needs /usr/bin/chromium (apt-get install chromium)",
    ),
]


def toc_pages() -> list[str]:
    toc = yaml.safe_load((ROOT / "_toc.yml").read_text())
    pages = [toc["root"]]
    for part in toc["parts"]:
        pages += [chapter["file"] for chapter in part["chapters"]]
    return pages


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    """The committed book, built as published (execution off), served on localhost."""
    book = tmp_path_factory.mktemp("site") / "book"
    shutil.copytree(ROOT / "book", book, ignore=shutil.ignore_patterns("_build"))
    build(book)
    handler = functools.partial(
        http.server.SimpleHTTPRequestHandler, directory=str(book / "_build" / "html")
    )
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()


@pytest.fixture(scope="module")
def browser():
    sync_api = pytest.importorskip("playwright.sync_api")
    with sync_api.sync_playwright() as playwright:
        chromium = playwright.chromium.launch(
            executable_path=str(CHROMIUM),
            args=[
                "--no-sandbox",
                "--disable-gpu",
                "--disable-quic",
                "--no-first-run",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
            ],
        )
        yield chromium
        chromium.close()


@pytest.fixture
def page(browser):
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    page.console_errors = []
    page.mathjax_requests = []
    page.on(
        "request",
        lambda request: "mathjax" in request.url.lower()
        and page.mathjax_requests.append(request.url),
    )
    page.on(
        "console",
        lambda msg: msg.type == "error"
        and not msg.text.startswith(KNOWN_THEME_MESSAGES)
        and page.console_errors.append(msg.text),
    )
    page.on(
        "pageerror",
        lambda error: not str(error).startswith(KNOWN_THEME_MESSAGES)
        and page.console_errors.append(str(error)),
    )
    yield page
    context.close()


def test_every_page_is_in_the_navigation_and_renders_cleanly(site, page):
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.goto(f"{site}/intro.html")
    linked = {
        href.split("#")[0]
        for href in page.eval_on_selector_all(
            "nav.bd-links a.reference.internal, .navbar-brand",
            "els => els.map(e => e.getAttribute('href'))",
        )
        if href
    }
    for name in toc_pages():
        assert (
            name == "intro" or f"{name}.html" in linked
        ), f"{name} is not in the navigation"
        response = page.goto(f"{site}/{name}.html")
        assert response.status == 200, name
        page.wait_for_load_state("networkidle")
        page.screenshot(path=str(SCREENSHOTS / f"{name}.png"), full_page=True)
        assert page.console_errors == [], (name, page.console_errors)
        broken = page.eval_on_selector_all(
            "img",
            "els => els.filter(e => !(e.complete && e.naturalWidth > 0))"
            ".map(e => e.src)",
        )
        assert broken == [], (name, broken)
        assert page.locator(".tag_injected-parameters").count() == 0, name
        n_math = page.locator(".math").count()
        if n_math:
            page.wait_for_function(
                f"() => document.querySelectorAll('mjx-container').length >= {n_math}",
                timeout=30_000,
            )
        outside = [u for u in page.mathjax_requests if not u.startswith(site)]
        assert outside == [], (name, outside)


# Pages that are chapters of the argument, each opening with an admonition (the others
# are front and back matter).
FRONT_AND_BACK = {"intro", "reproduce", "references"}
BOOKKEEPING = r"\b(glue_\w+|save_seed_results|write_\w+|record_\w+)\("
MIN_FIGURE_PX = 600
MIN_FIGURE_FONT_PX = 9


def _sideways(page) -> list[str]:
    """Elements wider than their box (code, tables, outputs) and the page itself, if it
    scrolls sideways."""
    return page.evaluate("""() => {
        const boxes = 'pre, table, .cell_output, .output, .highlight, figure';
        const wide = [...document.querySelectorAll(boxes)]
            .filter(e => e.offsetParent !== null && e.scrollWidth > e.clientWidth + 1)
            .map(e => `${e.tagName}: ${e.textContent.trim().slice(0, 60)}`);
        const page = document.documentElement;
        if (page.scrollWidth > window.innerWidth) wide.push('the page');
        return wide;
    }""")


def _figure_sizes(page) -> list[dict]:
    """Each figure's drawn width and its smallest font as drawn (SVG font size ×
    drawn/natural width)."""
    return page.evaluate("""async () => {
        const sizes = [];
        for (const img of document.querySelectorAll('main img')) {
            if (img.offsetParent === null) continue;
            const width = img.getBoundingClientRect().width;
            const entry = {src: img.src.split('/').pop(), width: width};
            if (img.src.endsWith('.svg')) {
                const text = await (await fetch(img.src)).text();
                const svg = new DOMParser().parseFromString(text, 'image/svg+xml');
                const box = svg.documentElement.getAttribute('viewBox');
                const natural = parseFloat(box.split(/[ ,]+/)[2]);
                const size = t => (t.getAttribute('style') || '')
                    .match(/font[^;]*?([0-9.]+)px/)?.[1];
                // text set by matplotlib as text (math glyphs, such as a
                // power of ten's superscript, are drawn smaller on purpose)
                const texts = [...svg.querySelectorAll('text')]
                    .filter(t => (t.getAttribute('style') || '').includes('anchor'));
                const fonts = texts.map(size)
                    .filter(f => f !== undefined).map(parseFloat);
                if (fonts.length) entry.font = Math.min(...fonts) * entry.width / natural;
            }
            sizes.push(entry);
        }
        return sizes;
    }""")


# what rendered prose must never show: TeX or Markdown that did not render, a doubled
# percent sign, a float where an integer is meant, Python's exponent notation
RAW_TEXT = {
    "raw TeX": r"\$|\\\(|\\lVert|\\mathcal|\\cdot",
    "a doubled %": r"%%",
    "a raw backtick": r"`",
    "a float for an integer": r"\b(?:layer|seed|seeds|step) \d+\.0\b",
    "an exponent as Python writes it": r"\d[eE][+-]\d",
}


def _prose(page) -> str:
    """The page's rendered text outside code, math and navigation."""
    return page.evaluate("""() => {
        const skip = 'pre, code, mjx-container, .math, .cell_input, nav, script, style';
        const walker = document.createTreeWalker(
            document.querySelector('main'), NodeFilter.SHOW_TEXT);
        const parts = [];
        while (walker.nextNode()) {
            const node = walker.currentNode;
            if (!node.parentElement.closest(skip)) parts.push(node.textContent);
        }
        return parts.join(' ');
    }""")


def test_rendered_text_shows_no_raw_tex_or_unformatted_numbers(site, page):
    problems = []
    for name in toc_pages():
        page.goto(f"{site}/{name}.html")
        page.wait_for_load_state("networkidle")
        text = " ".join(_prose(page).split())
        problems += [
            f"{name}: {kind}: …{text[max(0, m.start() - 40):m.end() + 20]}…"
            for kind, pattern in RAW_TEXT.items()
            for m in re.finditer(pattern, text)
        ]
    assert problems == [], "\n".join(problems)


PAGE_WORDS = 3000  # rendered, outside the dropdowns a reader opens for detail
INTRO_WORDS = 900


def _words_in_sight(page) -> int:
    """Words the page shows with every dropdown closed: its main text, tables and
    visible code; a formula counts as one word or so."""
    text = page.evaluate("() => document.querySelector('main article').innerText")
    return len([word for word in text.split() if re.search(r"\w", word)])


def test_no_page_is_a_wall_of_text(site, page):
    problems = []
    for name in toc_pages():
        page.goto(f"{site}/{name}.html")
        page.wait_for_load_state("networkidle")
        limit = INTRO_WORDS if name == "intro" else PAGE_WORDS
        words = _words_in_sight(page)
        if words > limit:
            problems.append(f"{name}: {words} words in sight (at most {limit})")
    assert problems == [], "\n".join(problems)


STATUSES = ("holds only before its controls", "does not hold", "holds", "not tested")
# the same 4 words before a seed mean with its range name one quantity
QUOTED = re.compile(r"((?:[\w'’σ₁-]+ ){4})(-?[\d.]+%? \[-?[\d.]+%?, -?[\d.]+%?\])")


def _published_preset() -> str:
    notebook = json.loads((ROOT / "book" / "scorecard.ipynb").read_text())
    return notebook["metadata"]["papermill"]["parameters"]["preset"]


def _status(text: str) -> str:
    return next(s for s in STATUSES if text.startswith(s))


def test_one_quantity_has_one_number_on_every_page(site, page):
    """A label quoting a seed mean on two pages quotes the same one on both."""
    quoted: dict[str, dict[str, set[str]]] = {}
    for name in toc_pages():
        page.goto(f"{site}/{name}.html")
        for m in QUOTED.finditer(" ".join(_prose(page).split())):
            label = m[1].strip().lower()
            quoted.setdefault(label, {}).setdefault(name, set()).add(m[2])
    problems = [
        f"'{label}': {pages}"
        for label, pages in quoted.items()
        for a in pages
        for b in pages
        if a < b and not pages[a] & pages[b]
    ]
    assert problems == [], "\n".join(problems)


def test_pages_state_what_their_results_files_hold(site, page):
    """Every status the intro, the scorecard and the Scale chapter print, and the
    factors the Scale chapter says flip a verdict, are those of the results files."""
    preset = _published_preset()
    results = ROOT / "results"
    claims = json.loads((results / preset / "scorecard.json").read_text())["claims"]
    expected = {c["key"]: c["status"] for c in claims}
    problems = []
    page.goto(f"{site}/scorecard.html")
    rows = page.evaluate(
        "() => [...document.querySelector('main table').rows].slice(1)"
        ".map(r => [...r.cells].map(c => c.innerText.trim()))"
    )
    for row in rows:
        key = row[0].split(".")[0]
        shown = next(_status(cell) for cell in row if cell.startswith(STATUSES))
        if shown != expected[key]:
            problems.append(f"scorecard, claim {key}: {shown} ≠ {expected[key]}")
    page.goto(f"{site}/intro.html")
    items = page.eval_on_selector_all(
        "main ol > li", "els => els.map(e => e.innerText)"
    )
    for key, item in zip(["1", "2", "3", "4", "5", "6"], items):
        shown = _status(item.split("(")[-1].strip())
        if shown != expected[key]:
            problems.append(f"intro, claim {key}: {shown} ≠ {expected[key]}")
    scale = json.loads((results / "scale.json").read_text())
    page.goto(f"{site}/scale.html")
    header, *rows = page.evaluate(
        """() => [...[...document.querySelectorAll('main table')]
            .find(t => t.rows[0].textContent.includes('smallest'))
            .rows].map(r => [...r.cells].map(c => c.textContent.trim()))"""
    )
    for row in rows:
        key = row[0].lstrip("↳ ").split(".")[0]
        for preset_name, cell in zip(header[1:-1], row[1:-1]):
            verdicts = scale["by_preset"][preset_name]
            record = next(
                v for v in verdicts["verdicts"] + verdicts["parts"] if v["key"] == key
            )
            if record["holds"] is not None and _status(cell) != record["status"]:
                problems.append(f"scale, {preset_name}, {key}: {cell}")
    box = page.inner_text("main .admonition")
    for factor, keys in _flipping(scale).items():
        if not re.search(rf"Changing {re.escape(factor)} alone flips claims? ", box):
            problems.append(f"scale box does not say {factor} flips {keys}")
    if not _flipping(scale) and "No single factor" not in box:
        problems.append("scale box names a flip its results do not hold")
    assert problems == [], "\n".join(problems)


def _flipping(scale: dict) -> dict[str, list[str]]:
    """{factor: the claims (not parts) whose verdict it alone flips}, per scale.json."""
    flipping: dict[str, list[str]] = {}
    for key, by_factor in scale["attribution"]["claims"].items():
        for factor, change in by_factor.items():
            if key[-1].isdigit() or key in ("7a", "7b"):
                if change.startswith("flips"):
                    flipping.setdefault(factor, []).append(key)
    return flipping


def test_pages_read_like_a_paper(site, page):
    """Nothing scrolls sideways at 1280 px, figures fill the column with legible fonts,
    no bookkeeping code is in sight, and every chapter opens with an admonition; in
    light and dark mode."""
    problems = []
    for name in toc_pages():
        page.goto(f"{site}/{name}.html")
        page.wait_for_load_state("networkidle")
        page.evaluate(
            "() => document.querySelectorAll('details').forEach(d => d.open = true)"
        )
        problems += [f"{name}: scrolls sideways: {what}" for what in _sideways(page)]
        page.evaluate(
            "() => document.querySelectorAll('details').forEach(d => d.open = false)"
        )
        for figure in _figure_sizes(page):
            if figure["width"] < MIN_FIGURE_PX:
                problems.append(
                    f"{name}: figure {figure['src']} drawn {figure['width']:.0f} px wide"
                )
            if figure.get("font", MIN_FIGURE_FONT_PX) < MIN_FIGURE_FONT_PX:
                problems.append(
                    f"{name}: figure {figure['src']} has text at {figure['font']:.1f} px"
                )
        visible_code = page.eval_on_selector_all(
            ".cell_input",
            "els => els.filter(e => e.offsetParent !== null && !e.closest('details'))"
            ".map(e => e.textContent)",
        )
        problems += [
            f"{name}: bookkeeping in sight: {call}"
            for code in visible_code
            for call in re.findall(BOOKKEEPING, code)
        ]
        if name not in FRONT_AND_BACK:
            first = page.evaluate(
                "() => { const h = document.querySelector('main section h1');"
                " let e = h.nextElementSibling; return e ? e.className : ''; }"
            )
            if "admonition" not in first:
                problems.append(
                    f"{name}: does not open with an admonition (first: {first!r})"
                )
        page.emulate_media(color_scheme="dark")
        page.evaluate("() => document.documentElement.dataset.theme = 'dark'")
        page.screenshot(path=str(SCREENSHOTS / f"{name}-dark.png"), full_page=False)
        backgrounds = page.eval_on_selector_all(
            "main img",
            "els => els.filter(e => e.offsetParent !== null)"
            ".map(e => getComputedStyle(e).backgroundColor)",
        )
        problems += [
            f"{name}: a figure on a {colour} background in dark mode"
            for colour in backgrounds
            if colour != "rgb(255, 255, 255)"
        ]
        page.emulate_media(color_scheme="light")
    assert problems == [], "\n".join(problems)


def test_figures_are_present_as_images(site, page):
    page.goto(f"{site}/distribution_shift.html")
    assert page.locator("figure img").count() >= 3


def test_search_finds_a_word_from_a_chapter(site, page):
    page.goto(f"{site}/search.html?q=curriculum")
    page.wait_for_selector("#search-results li", timeout=20_000)
    hits = page.eval_on_selector_all(
        "#search-results li a", "els => els.map(e => e.getAttribute('href'))"
    )
    assert any("training" in hit for hit in hits), hits
