"""The HTML reports in a real browser: headless Chromium loads each page, the tests read the DOM after the
script ran (rows, filters from the URL hash and from a click), and check a screenshot is not blank.

Without Chromium (Debian package ``chromium``, installed by ``.ci/install-browser.sh``) the browser tests
skip with that reason; under ``CI=true`` they fail instead. ``NETPOLSCAN_UPDATE_DOCS=1`` rewrites
``docs/report.png``, the README's screenshot of the demo report, from this run.
"""

from __future__ import annotations

import os
import re
import shutil
import struct
import subprocess
import sys
import zlib
from pathlib import Path

import pytest

from netpolscan.cli import main
from tests.conftest import REPO, in_ci

DEMO = REPO / "examples" / "demo"
SCREENSHOT = REPO / "docs" / "report.png"
CHROMIUM_FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
)


def chromium() -> str:
    """The Chromium binary; skips the calling test without it (fails it under ``CI=true``)."""
    found = shutil.which("chromium") or ("/usr/bin/chromium" if Path("/usr/bin/chromium").exists() else None)
    if found is None:
        reason = "Chromium not found (install the Debian package chromium: bash .ci/install-browser.sh)"
        if in_ci():
            pytest.fail(f"CI=true, so the browser tests must run, but: {reason}")
        pytest.skip(reason)
    return found


def run_chromium(page: Path, tmp_path: Path, *args: str, fragment: str = "") -> str:
    profile = tmp_path / f"profile-{len(list(tmp_path.glob('profile-*')))}"
    command = [chromium(), *CHROMIUM_FLAGS, f"--user-data-dir={profile}", *args, page.as_uri() + fragment]
    done = subprocess.run(command, capture_output=True, text=True, timeout=180, check=False)
    assert done.returncode == 0, done.stderr[-2000:]
    return done.stdout


def dump_dom(page: Path, tmp_path: Path, fragment: str = "") -> str:
    return run_chromium(page, tmp_path, "--dump-dom", fragment=fragment)


def screenshot(page: Path, tmp_path: Path, target: Path) -> bytes:
    run_chromium(page, tmp_path, f"--screenshot={target}", "--window-size=1400,1000")
    return target.read_bytes()


# --- PNG decoding with the standard library ---------------------------------------------------------------


def _paeth(a: int, b: int, c: int) -> int:
    p = a + b - c
    pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
    if pa <= pb and pa <= pc:
        return a
    return b if pb <= pc else c


def png_pixels(data: bytes, max_rows: int | None = None) -> tuple[int, int, list[bytes]]:
    """(width, height, rows of raw pixel bytes: the first ``max_rows``) of an 8-bit RGB or RGBA,
    non-interlaced PNG."""
    assert data[:8] == b"\x89PNG\r\n\x1a\n", "not a PNG"
    offset, idat, header = 8, b"", b""
    while offset < len(data):
        (length,) = struct.unpack(">I", data[offset : offset + 4])
        kind, body = data[offset + 4 : offset + 8], data[offset + 8 : offset + 8 + length]
        if kind == b"IHDR":
            header = body
        elif kind == b"IDAT":
            idat += body
        offset += 12 + length
    width, height, depth, colour, _, _, interlace = struct.unpack(">IIBBBBB", header)
    assert depth == 8 and colour in (2, 6) and interlace == 0, (depth, colour, interlace)
    bpp = 3 if colour == 2 else 4
    raw = zlib.decompress(idat)
    stride = width * bpp
    rows: list[bytes] = []
    previous = bytearray(stride)
    for y in range(min(height, max_rows or height)):
        start = y * (stride + 1)
        kind, line = raw[start], bytearray(raw[start + 1 : start + 1 + stride])
        if kind == 1:
            for i in range(bpp, stride):
                line[i] = (line[i] + line[i - bpp]) & 0xFF
        elif kind == 2:
            line = bytearray((a + b) & 0xFF for a, b in zip(line, previous, strict=True))
        elif kind == 3:
            for i in range(stride):
                left = line[i - bpp] if i >= bpp else 0
                line[i] = (line[i] + ((left + previous[i]) >> 1)) & 0xFF
        elif kind == 4:
            for i in range(stride):
                left = line[i - bpp] if i >= bpp else 0
                up_left = previous[i - bpp] if i >= bpp else 0
                line[i] = (line[i] + _paeth(left, previous[i], up_left)) & 0xFF
        rows.append(bytes(line))
        previous = line
    return width, height, rows


def distinct_colours(data: bytes, max_rows: int = 600) -> int:
    """The number of colours in the top ``max_rows`` of the image (the header, the matrix, the graph)."""
    width, _, rows = png_pixels(data, max_rows)
    bpp = len(rows[0]) // width
    colours: set[bytes] = set()
    for row in rows:
        colours.update(row[i : i + 3] for i in range(0, len(row), bpp))
    return len(colours)


# --- the pages --------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def pages(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """The demo's scan, connectivity and diff pages (diff: the demo without its policies -> the demo)."""
    folder = tmp_path_factory.mktemp("html")
    unprotected = folder / "app-only"
    unprotected.mkdir()
    shutil.copy(DEMO / "app.yaml", unprotected / "app.yaml")
    two = folder / "two-namespaces"
    shutil.copytree(DEMO, two)
    (two / "other.yaml").write_text(OTHER_NAMESPACE, encoding="utf-8")
    made = {
        "two": ["connectivity", str(two), "--format", "html", "-o"],
        "scan": ["scan", str(DEMO), "--format", "html", "-o"],
        "connectivity": ["connectivity", str(DEMO), "--format", "html", "-o"],
        "diff": ["diff", str(unprotected), str(DEMO), "--format", "html", "-o"],
        "diff-added": ["diff", str(DEMO), str(unprotected), "--format", "html", "-o"],
    }
    paths = {}
    for name, argv in made.items():
        paths[name] = folder / f"{name}.html"
        assert main([*argv, str(paths[name])]) in (0, 1)
    return paths


OTHER_NAMESPACE = """\
apiVersion: apps/v1
kind: Deployment
metadata: {name: batch, namespace: other}
spec:
  selector: {matchLabels: {app: batch}}
  template:
    metadata: {labels: {app: batch}}
    spec: {containers: [{name: job, image: busybox:1.36}]}
"""


def _rows(dom: str) -> list[str]:
    return re.findall(r"<tr data-row[^>]*>", dom)


def test_scan_page_lists_every_finding(pages: dict[str, Path], tmp_path: Path) -> None:
    dom = dump_dom(pages["scan"], tmp_path)
    rows = _rows(dom)
    assert len(rows) == 8  # the README's demo scan: 1 error, 5 warnings, 2 notes
    assert not any("hidden" in row for row in rows)
    assert '<span id="shown-count">8</span>' in dom
    assert 'id="isolation"' in dom and "<svg" in dom


def test_filter_from_the_url_hash(pages: dict[str, Path], tmp_path: Path) -> None:
    dom = dump_dom(pages["scan"], tmp_path, fragment="#level=error")
    visible = [row for row in _rows(dom) if "hidden" not in row]
    assert len(visible) == 1 and 'data-level="error"' in visible[0] and 'data-rule="NPS303"' in visible[0]
    assert '<span id="shown-count">1</span>' in dom
    assert re.search(r'data-dim="level" data-value="error" aria-pressed="true"', dom)
    dom = dump_dom(pages["scan"], tmp_path, fragment="#level=warning,note&rule=NPS103")
    visible = [row for row in _rows(dom) if "hidden" not in row]
    assert len(visible) == 2 and all('data-rule="NPS103"' in row for row in visible)


def test_filter_click_hides_rows(pages: dict[str, Path], tmp_path: Path) -> None:
    """Clicks on the level buttons warning and note (by a script appended to a copy of the page)."""
    text = pages["scan"].read_text(encoding="utf-8")
    click = "".join(
        f"document.querySelector('button.filter[data-dim=level][data-value={level}]').click();"
        for level in ("warning", "note")
    )
    clicked = tmp_path / "clicked.html"
    clicked.write_text(text.replace("</body>", f"<script>{click}</script></body>"), encoding="utf-8")
    dom = dump_dom(clicked, tmp_path)
    visible = [row for row in _rows(dom) if "hidden" not in row]
    hidden = [row for row in _rows(dom) if "hidden" in row]
    assert len(visible) == 7 and not any('data-level="error"' in row for row in visible)
    assert len(hidden) == 1 and 'data-level="error"' in hidden[0]
    assert '<span id="shown-count">7</span>' in dom


def test_connectivity_page_draws_the_graph(pages: dict[str, Path], tmp_path: Path) -> None:
    dom = dump_dom(pages["connectivity"], tmp_path)
    assert len(re.findall(r'<g class="edge allowed"', dom)) == 9
    assert len(re.findall(r'<g class="node[ "]', dom)) == 4
    assert len(re.findall(r'<g class="node external"', dom)) == 1
    assert ">TCP 8080</text>" in dom
    assert len(re.findall(r'<g class="ns[ "]', dom)) == 2  # default, and the box of the outside peers
    assert len(_rows(dom)) == 9


def test_namespace_filter_applies_to_the_graph(pages: dict[str, Path], tmp_path: Path) -> None:
    dom = dump_dom(pages["two"], tmp_path, fragment="#namespace=other")
    edges = re.findall(
        r'<g class="edge allowed( off)?" data-src="\w+" data-dst="\w+" data-namespace="([^"]*)"', dom
    )
    shown = [namespaces for off, namespaces in edges if not off]
    assert shown and all("other" in namespaces.split("|") for namespaces in shown)
    assert len(shown) < len(edges)
    assert re.search(r'<g class="ns off" data-namespace="default">', dom)
    assert re.search(r'<g class="ns" data-namespace="other">', dom)
    rows = _rows(dom)
    assert all("hidden" not in row for row in rows if "other" in row.split('data-namespace="')[1])


def test_diff_page_colours_the_change(pages: dict[str, Path], tmp_path: Path) -> None:
    removed = pages["diff"].read_text(encoding="utf-8")
    assert re.search(r'<g class="edge removed"', removed) and "#c62828" in removed
    assert not re.search(r'<g class="edge added"', removed)
    added = dump_dom(pages["diff-added"], tmp_path)
    assert re.search(r'<g class="edge added"', added) and "#2e7d32" in added
    kinds = [re.search(r'data-kind="(\w+)"', row) for row in _rows(added)]
    assert sorted(k.group(1) for k in kinds if k) == ["added"] * 3 + ["changed"]
    assert re.search(r'<g class="edge changed"[^>]*><title>[^<]*: All Connections \(was TCP 8080\)', added)


URL_ATTRIBUTE = re.compile(
    r"""(?:\b(?:src|href|action|xlink:href)\s*=\s*["']?\s*|url\(\s*["']?\s*)(?:https?:)?//""", re.I
)


@pytest.mark.parametrize("name", ["scan", "connectivity", "diff"])
def test_no_request_leaves_the_page(pages: dict[str, Path], name: str) -> None:
    text = pages[name].read_text(encoding="utf-8")
    assert not URL_ATTRIBUTE.search(text)
    assert "@import" not in text and "<link" not in text and "<iframe" not in text
    assert "Content-Security-Policy" in text and "default-src 'none'" in text


def test_screenshot_is_not_blank(tmp_path: Path) -> None:
    """The demo's connectivity report, as the README shows it (``NETPOLSCAN_UPDATE_DOCS=1`` rewrites it)."""
    page = tmp_path / "report.html"
    assert main(["connectivity", "examples/demo", "--format", "html", "-o", str(page)]) == 0
    png = screenshot(page, tmp_path, tmp_path / "report.png")
    assert png_pixels(png)[:2] == (1400, 1000)
    assert distinct_colours(png) > 200
    if os.environ.get("NETPOLSCAN_UPDATE_DOCS") == "1":
        SCREENSHOT.write_bytes(png)
    elif png != SCREENSHOT.read_bytes():
        assert distinct_colours(SCREENSHOT.read_bytes()) > 200


def test_size_of_a_100_namespace_cluster(tmp_path: Path) -> None:
    manifests = tmp_path / "app-100.yaml"
    subprocess.run(
        [
            sys.executable,
            str(REPO / "benchmarks" / "generate.py"),
            "--namespaces",
            "100",
            "--output",
            str(manifests),
        ],
        check=True,
    )
    for command in ("scan", "connectivity"):
        page = tmp_path / f"{command}.html"
        assert main([command, str(manifests), "--format", "html", "-o", str(page)]) in (0, 1)
        size = page.stat().st_size
        assert 100_000 < size <= 2_000_000, (command, size)
        assert page.read_text(encoding="utf-8").count('<g class="node') >= 300


def test_page_without_inventory_escapes_every_text() -> None:
    from netpolscan.plugin_api import Finding, Location, Report, Severity
    from netpolscan.report.html import render

    finding = Finding("NPS999", "x", Severity.ERROR, "<script>alert(1)</script>", Location("a<b>.yaml", 3))
    text = render(Report(findings=(finding,), rules=(), inputs=("<dir>",)))
    assert "<script>alert" not in text and "&lt;script&gt;alert(1)&lt;/script&gt;" in text
    assert "a&lt;b&gt;.yaml:3:1" in text and "&lt;dir&gt;" in text
    assert "Not shown" in text and "<svg" not in text
    assert 'data-namespace="(none)"' in text


def test_html_with_exposure_is_one_clear_error(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["connectivity", str(DEMO), "--format", "html", "--exposure"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "not html" in err


def test_clicking_a_node_highlights_its_connections(pages: dict[str, Path], tmp_path: Path) -> None:
    text = pages["connectivity"].read_text(encoding="utf-8")
    click = (
        "<script>var node = Array.prototype.find.call(document.querySelectorAll('g.node'),"
        " function (g) { return g.querySelector('title').textContent === 'default/frontend[Deployment]'; });"
        " node.querySelector('rect').dispatchEvent(new MouseEvent('click', {bubbles: true}));</script></body>"
    )
    clicked = tmp_path / "clicked.html"
    clicked.write_text(text.replace("</body>", click), encoding="utf-8")
    dom = dump_dom(clicked, tmp_path)
    assert re.search(r'<svg class="graph focus"', dom)
    highlighted = re.findall(r'<g class="edge allowed hl"[^>]*><title>([^<]*)</title>', dom)
    assert len(highlighted) == 5 and all("default/frontend[Deployment]" in title for title in highlighted)
