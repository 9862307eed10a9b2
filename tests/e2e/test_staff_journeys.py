"""The staff journeys, in Chinese: an instructor edits and publishes a lesson with its preview;
an HR officer bulk-issues certificates, watching the progress bar, and downloads a PDF; a
visitor scans a certificate's QR code; a coordinator sees the counts move and exports CSV."""

from __future__ import annotations

import csv
import io
import json
import re
from pathlib import Path
from typing import Any

import pypdfium2
import zxingcpp
from playwright.sync_api import Browser, Page, expect
from pypdf import PdfReader

from tests.e2e.conftest import ARTIFACTS, LiveServer
from tests.e2e.helpers import browser_page, shot, sign_in

TALENT_POOL = "talent_pool"
#: The demo trainees that tests/e2e/prepare.py brings to the end of the pre-service programme.
FINISHERS = {"陈敏", "杨雪", "赵婷", "黄蕾"}


def _pdf_text(path: Path) -> str:
    return "\n".join(page.extract_text() or "" for page in PdfReader(path).pages)


def _scan_qr(path: Path) -> str:
    """What a phone's camera reads from the QR code on the first page of a PDF."""
    document = pypdfium2.PdfDocument(str(path))
    try:
        image = document[0].render(scale=3).to_pil()
    finally:
        document.close()
    codes = [code.text for code in zxingcpp.read_barcodes(image) if code.text]
    assert len(codes) == 1, codes
    return codes[0]


def test_instructor_edits_previews_and_publishes_a_lesson(
    chromium_browser: Browser, live_server: LiveServer
) -> None:
    journey = "instructor"
    marker = "端到端测试：换尿布前先洗手"
    with browser_page(chromium_browser, live_server) as page:
        sign_in(page, "instructor.nnu@demo.example.org")
        page.locator("header nav").get_by_role("link", name="课程编写", exact=True).click()
        shot(page, journey, "01-authoring")
        page.get_by_role("link", name=re.compile("0-3岁婴幼儿发展基础")).first.click()
        expect(page.locator("h1")).to_contain_text("0-3岁婴幼儿发展基础")
        page.locator("a[href$='/edit'][href*='/author/lessons/']").first.click()
        expect(page.locator("h1")).to_have_text("编辑课时")
        status = page.locator("#lesson-status")
        found = re.search(r"已发布：第 (\d+) 版", status.inner_text())
        assert found, status.inner_text()
        published = int(found[1])

        # The preview follows the text as it is typed.
        editor = page.locator("#markdown")
        expect(page.locator("#preview")).not_to_be_empty()
        editor.press("Control+End")
        editor.type(f"\n\n## {marker}\n\n洗手后再*轻柔地*为婴儿换尿布。\n", delay=5)
        preview = page.locator("#preview")
        expect(preview.get_by_role("heading", name=marker)).to_be_visible()
        expect(preview.locator("em", has_text="轻柔地")).to_be_visible()
        shot(page, journey, "02-preview")

        page.locator("#save-publish").click()
        expect(status).to_contain_text(f"第 {published + 1} 版")
        shot(page, journey, "03-published")

        # Trainees see the new version.
        page.locator("#lesson-link").click()
        expect(page.locator("#lesson-content").get_by_role("heading", name=marker)).to_be_visible()
        shot(page, journey, "04-as-trainees-see-it")


def bulk_issue_talent_pool(page: Page, journey: str) -> dict[str, Any]:
    """The HR officer issues the talent-pool certificate to everyone eligible and watches the
    job to its end; returns what it issued and the progress values seen."""
    sign_in(page, "hr@demo.example.org")
    page.locator("header nav").get_by_role("link", name="证书", exact=True).click()
    shot(page, journey, "01-certificates")
    page.locator("#issue-bulk").click()
    choice = page.locator("#type_id option", has_text="(TP)")
    page.locator("#type_id").select_option(value=choice.get_attribute("value"))
    page.locator("#bulk-choice button[type=submit]").click()
    expect(page.locator("#eligible-count")).to_contain_text(f"目前有 {len(FINISHERS)} 人符合条件")
    shot(page, journey, "02-eligible")

    page.locator("#start-bulk").click()
    bar = page.locator("#bulk-job progress")
    seen: list[int] = []
    summary = page.locator("#bulk-summary")
    for _ in range(600):  # at most a minute
        if bar.count():
            value = bar.first.get_attribute("value")
            if value is not None and (not seen or seen[-1] != int(value)):
                seen.append(int(value))
        if summary.count():
            break
        page.wait_for_timeout(100)
    expect(summary).to_be_visible()
    expect(bar).to_have_attribute("value", "100")
    expect(page.locator("#bulk-job")).to_contain_text("已完成。")
    expect(summary.locator("dd").first).to_have_text(str(len(FINISHERS)))
    shot(page, journey, "03-done")
    return {"issued": len(FINISHERS), "progress": seen}


def test_hr_bulk_issues_certificates_and_downloads_a_pdf(
    chromium_browser: Browser, live_server: LiveServer, tmp_path: Path
) -> None:
    journey = "hr"
    with browser_page(chromium_browser, live_server) as page:
        result = bulk_issue_talent_pool(page, journey)
        live_server.shared["bulk"] = result
        (ARTIFACTS / journey / "progress.json").write_text(json.dumps(result["progress"]))
        assert result["progress"][-1] == 100
        assert result["progress"] == sorted(result["progress"]), result["progress"]

        # The new certificates head the list; the PDF of one carries its holder's name.
        page.locator("header nav").get_by_role("link", name="证书", exact=True).click()
        rows = page.locator("#certificates-table tbody tr")
        holders = {rows.nth(i).locator("td").nth(1).inner_text() for i in range(len(FINISHERS))}
        assert holders == FINISHERS
        shot(page, journey, "04-list")
        first = rows.first
        holder = first.locator("td").nth(1).inner_text()
        serial = first.locator("td").first.inner_text()
        with page.expect_download() as info:
            first.get_by_role("link", name="PDF").click()
        pdf = tmp_path / "certificate.pdf"
        info.value.save_as(pdf)
        assert pdf.read_bytes().startswith(b"%PDF-")
        text = _pdf_text(pdf)
        assert holder in text and serial in text, text


def test_visitor_scans_the_qr_code_of_a_certificate(
    chromium_browser: Browser, live_server: LiveServer, tmp_path: Path
) -> None:
    journey = "visitor"
    # The holder shows the PDF of their certificate (demo trainee01 holds a valid one)...
    with browser_page(chromium_browser, live_server) as page:
        sign_in(page, "trainee01@demo.example.org")
        page.locator("header nav").get_by_role("link", name="我的证书", exact=True).click()
        row = page.locator("#my-certificates tbody tr", has_text="有效").first
        serial = row.locator("td").nth(1).inner_text()
        with page.expect_download() as info:
            row.get_by_role("link", name="PDF").click()
        pdf = tmp_path / "mine.pdf"
        info.value.save_as(pdf)
    # ... and an employer, not signed in, scans its QR code.
    link = _scan_qr(pdf)
    assert link.startswith(f"{live_server.url}/verify/"), link
    with browser_page(chromium_browser, live_server) as page:
        page.goto(link)
        status = page.locator("#verify-status")
        expect(status).to_have_attribute("data-status", "valid")
        expect(status).to_contain_text("有效")
        expect(page.locator("main")).to_contain_text(serial)
        expect(page.locator("#holder")).to_contain_text("张")  # the name, partly hidden
        shot(page, journey, "01-verified")


def test_coordinator_sees_the_counts_move_and_exports_csv(
    chromium_browser: Browser, live_server: LiveServer
) -> None:
    journey = "coordinator"
    before = next(t["valid"] for t in live_server.baseline["tiers"] if t["tier"] == TALENT_POOL)
    if "bulk" not in live_server.shared:  # run alone: issue first, as the HR journey does
        with browser_page(chromium_browser, live_server) as page:
            live_server.shared["bulk"] = bulk_issue_talent_pool(page, "coordinator-hr")
    issued = live_server.shared["bulk"]["issued"]
    with browser_page(chromium_browser, live_server) as page:
        sign_in(page, "coordinator@demo.example.org")
        page.locator("header nav").get_by_role("link", name="报表", exact=True).click()
        figure = page.locator(f"#target-{TALENT_POOL} .report-figure a")
        expect(figure).to_have_text(str(before + issued))
        assert live_server.valid(TALENT_POOL) == before + issued
        shot(page, journey, "01-dashboard")

        # The figure opens the list of the people it counts; export it as CSV.
        figure.click()
        table = page.locator("main table").first
        for name in FINISHERS:
            expect(table).to_contain_text(name)
        shot(page, journey, "02-holders")
        page.locator("#list-exports-csv button[type=submit]").click()
        download_link = page.locator("#export-file")
        expect(download_link).to_be_visible(timeout=60_000)
        shot(page, journey, "03-export")
        with page.expect_download() as info:
            download_link.click()
        content = Path(info.value.path()).read_bytes().decode("utf-8-sig")
        rows = list(csv.reader(io.StringIO(content)))
        names = {cell for row in rows[1:] for cell in row}
        assert names >= FINISHERS, rows[:3]
        assert len(rows) - 1 >= before + issued
