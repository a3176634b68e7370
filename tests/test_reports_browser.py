"""The province report in headless Chromium: no console errors, the script ran, the map and
the lead table are in the rendered page, and a screenshot to look at.

The screenshot is written to the test's tmp dir and copied next to the report
(OUT/<as-of>/reports/province/report.png); set RADAR_SCREENSHOT_DIR to also copy it there.
"""

from __future__ import annotations

import os
import re
import shutil
import struct
import subprocess
from pathlib import Path

import pytest

from tests.report_world import ReportedRun, reported_run

CHROMIUM = Path("/usr/bin/chromium")
FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--hide-scrollbars",
    "--enable-logging=stderr",
    "--v=0",
]

pytestmark = pytest.mark.skipif(
    not CHROMIUM.exists(),
    reason="needs headless Chromium at /usr/bin/chromium (Debian package `chromium`)",
)


@pytest.fixture(scope="module")
def reported(
    prefect_harness: None, small_world: Path, tmp_path_factory: pytest.TempPathFactory
) -> ReportedRun:
    return reported_run(small_world, tmp_path_factory)


def chromium(profile: Path, url: str, *args: str) -> subprocess.CompletedProcess[str]:
    """One headless Chromium run on a fresh profile."""
    command = [str(CHROMIUM), *FLAGS, f"--user-data-dir={profile}", *args, url]
    return subprocess.run(command, capture_output=True, text=True, timeout=120, check=False)


def console_messages(stderr: str) -> list[str]:
    """Console output and uncaught errors, as Chromium logs them with --enable-logging."""
    return [line for line in stderr.splitlines() if ":CONSOLE" in line]


def png_size(path: Path) -> tuple[int, int]:
    data = path.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n", "not a PNG"
    width, height = struct.unpack(">II", data[16:24])
    return width, height


def test_province_report_renders_in_chromium(reported: ReportedRun, tmp_path: Path) -> None:
    report = reported.run.out_dir / "reports" / "province" / "report.html"
    url = report.as_uri()

    dom = chromium(tmp_path / "profile-dom", url, "--dump-dom")
    assert dom.returncode == 0, dom.stderr[-2000:]
    assert console_messages(dom.stderr) == []
    page = dom.stdout
    assert re.search(r'<html[^>]*data-ready="true"', page), "the page script did not finish"
    assert not re.search(r"<html[^>]*data-js-errors", page), "the page raised errors"
    count = re.search(r'<span id="lead-count" class="count">显示 (\d+) /\s*(\d+)', page)
    assert count and int(count.group(1)) > 0, "the lead filter did not run"
    table = re.search(r'<table id="lead-table".*?</table>', page, re.S)
    rows = re.findall(r'<tr [^>]*class="lv-', table.group(0)) if table else []
    assert len(rows) == int(count.group(1))
    county_map = re.search(r'<svg id="county-map-province".*?</svg>', page, re.S)
    assert county_map and county_map.group(0).count("<circle") >= 40

    shot = tmp_path / "province_report.png"
    picture = chromium(
        tmp_path / "profile-shot", url, f"--screenshot={shot}", "--window-size=1400,2000"
    )
    assert picture.returncode == 0 and shot.exists(), picture.stderr[-2000:]
    assert console_messages(picture.stderr) == []
    assert png_size(shot) == (1400, 2000)
    assert shot.stat().st_size > 50_000  # a blank page compresses to a few kilobytes
    shutil.copyfile(shot, report.with_name("report.png"))
    if os.environ.get("RADAR_SCREENSHOT_DIR"):
        target = Path(os.environ["RADAR_SCREENSHOT_DIR"])
        target.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(shot, target / "province_report.png")


def pdf_pages(path: Path) -> int:
    """Pages of a PDF as Chromium (Skia) writes it: one uncompressed /Type /Page object each."""
    return len(re.findall(rb"/Type\s*/Page(?![a-zA-Z])", path.read_bytes()))


def test_the_county_task_sheet_prints_on_one_a4_page_and_the_dossier_renders(
    reported: ReportedRun, tmp_path: Path
) -> None:
    """Issue 23: the busiest county's task sheet is one A4 page; a dossier prints with no
    console error."""
    folder = reported.run.out_dir / "reports" / "630100"
    sheets = sorted((folder / "counties").glob("*.html"), key=lambda p: -p.stat().st_size)
    assert sheets
    pdf = tmp_path / "sheet.pdf"
    done = chromium(
        tmp_path / "p1", sheets[0].as_uri(), f"--print-to-pdf={pdf}", "--no-pdf-header-footer"
    )
    assert pdf.exists(), done.stderr[-2000:]
    assert pdf_pages(pdf) == 1
    dossier = sorted((folder / "leads").glob("*.html"))[0]
    out = tmp_path / "dossier.pdf"
    done = chromium(tmp_path / "p2", dossier.as_uri(), f"--print-to-pdf={out}")
    assert out.exists() and pdf_pages(out) >= 1
    assert not [m for m in console_messages(done.stderr) if "Uncaught" in m]
