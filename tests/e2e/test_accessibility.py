"""Accessibility: axe-core finds no serious or critical problem on the main pages (labels,
contrast, names, structure), form errors are announced, and the way from signing in to a
course works with the keyboard alone."""

from __future__ import annotations

import re
from collections.abc import Callable

import pytest
from playwright.sync_api import Browser, Page, expect

from tests.e2e.conftest import LiveServer
from tests.e2e.helpers import axe_violations, browser_page, describe, shot, sign_in

COURSE = "INS-PARENT-201"


def _first_href(page: Page, selector: str) -> str:
    href = page.locator(selector).first.get_attribute("href")
    assert href, selector
    return href


def _trainee_pages(page: Page) -> list[str]:
    page.goto(f"/courses/{COURSE}")
    lesson = _first_href(page, "ol.lesson-list a")
    quiz = _first_href(page, "ul.quiz-list a")
    return ["/courses", f"/courses/{COURSE}", lesson, quiz, "/learning", "/learning/certificates"]


def _coordinator_pages(page: Page) -> list[str]:
    page.goto("/reports/")
    holders = _first_href(page, "#target-talent_pool .report-figure a")
    return ["/reports/", holders, "/people"]


def _verify_pages(page: Page) -> list[str]:
    return ["/login", "/verify", "/verify/NOT-A-CODE"]


# (who signs in, how to find the pages to check). Pages found by following links: the
# lesson and quiz ids come from the database.
AUDITS: dict[str, tuple[str | None, Callable[[Page], list[str]]]] = {
    "anonymous": (None, _verify_pages),
    "trainee": ("trainee09@demo.example.org", _trainee_pages),
    "hr": ("hr@demo.example.org", lambda page: ["/certificates", "/certificates/bulk"]),
    "coordinator": ("coordinator@demo.example.org", _coordinator_pages),
}


@pytest.mark.parametrize("who", list(AUDITS))
def test_axe_finds_no_serious_problem_on_the_main_pages(
    chromium_browser: Browser, live_server: LiveServer, who: str
) -> None:
    email, pages = AUDITS[who]
    problems: dict[str, str] = {}
    with browser_page(chromium_browser, live_server, bypass_csp=True) as page:
        if email:
            sign_in(page, email)
        for path in pages(page):
            page.goto(path)
            name = f"{who}{re.sub(r'[^A-Za-z0-9]+', '-', path).rstrip('-')}"
            blocking = axe_violations(page, name)
            if blocking:
                problems[path] = describe(blocking)
    assert not problems, "\n".join(f"{path}:\n{text}" for path, text in problems.items())


def test_verify_page_passes_axe_with_a_real_certificate_in_english(
    chromium_browser: Browser, live_server: LiveServer
) -> None:
    code = live_server.cli("certificates", "list", "--format", "json")
    found = re.search(r'"code":\s*"([^"]+)"', code)
    assert found, code
    with browser_page(chromium_browser, live_server, bypass_csp=True) as page:
        page.goto(f"/verify/{found[1]}")
        page.locator("header form.language-switch button").click()
        expect(page.locator("html")).to_have_attribute("lang", "en")
        assert not (blocking := axe_violations(page, "verify-en")), describe(blocking)


def test_sign_in_errors_are_announced_and_tied_to_their_fields(
    chromium_browser: Browser, live_server: LiveServer
) -> None:
    with browser_page(chromium_browser, live_server, bypass_csp=True) as page:
        page.goto("/login")
        page.locator("#email").fill("trainee09@demo.example.org")
        page.locator("#password").fill("not the password")
        page.locator("main form button[type=submit]").click()
        alert = page.get_by_role("alert")
        expect(alert).to_contain_text("电子邮箱或密码不正确")
        password = page.locator("#password")
        expect(password).to_have_attribute("aria-invalid", "true")
        described = password.get_attribute("aria-describedby") or ""
        expect(page.locator(f"#{described.split()[0]}")).to_contain_text("电子邮箱或密码不正确")
        expect(page.get_by_label("电子邮箱")).to_have_value("trainee09@demo.example.org")
        shot(page, "accessibility", "login-error")
        assert not (blocking := axe_violations(page, "login-error")), describe(blocking)


def _tab_to(page: Page, selector: str, limit: int = 60) -> None:
    """Press Tab until the element matching ``selector`` has the focus."""
    for _ in range(limit):
        page.keyboard.press("Tab")
        if page.evaluate(
            "s => document.activeElement && document.activeElement.matches(s)", selector
        ):
            return
    raise AssertionError(f"{selector} not reached with {limit} presses of Tab")


def test_sign_in_and_reach_a_course_with_the_keyboard_only(
    chromium_browser: Browser, live_server: LiveServer
) -> None:
    with browser_page(chromium_browser, live_server) as page:
        page.goto("/login")
        # The first stop is the skip link, which leads to the content.
        page.keyboard.press("Tab")
        expect(page.locator(".skip-link")).to_be_focused()
        _tab_to(page, "#email")
        page.keyboard.type("trainee09@demo.example.org")
        page.keyboard.press("Tab")
        expect(page.locator("#password")).to_be_focused()
        page.keyboard.type("demo-trainee-2026")
        page.keyboard.press("Enter")
        expect(page).not_to_have_url(re.compile("/login"))

        _tab_to(page, "header nav a[href='/courses']")
        page.keyboard.press("Enter")
        expect(page).to_have_url(re.compile(r"/courses$"))
        _tab_to(page, f"#course-{COURSE} h2 a")
        focus_ring = page.evaluate(
            "() => { const s = getComputedStyle(document.activeElement);"
            " return s.outlineStyle !== 'none' || s.boxShadow !== 'none'; }"
        )
        assert focus_ring, "the focused link shows no focus indicator"
        page.keyboard.press("Enter")
        expect(page).to_have_url(re.compile(rf"/courses/{COURSE}$"))
        expect(page.locator("h1")).to_contain_text("科学育儿家庭指导")
        shot(page, "accessibility", "keyboard-course")
