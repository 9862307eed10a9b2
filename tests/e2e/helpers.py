"""What the browser journeys share: pages in a fresh browser context, signing in,
screenshots and the axe-core accessibility check."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from playwright.sync_api import Browser, Page, expect

from tests.e2e.conftest import ARTIFACTS, LiveServer

AXE = Path(__file__).parent / "vendor" / "axe.min.js"
#: axe-core impacts that fail a test; "moderate" and "minor" ones are written to the report.
BLOCKING = ("serious", "critical")
TIMEOUT_MS = 15_000

PHONE = {
    "viewport": {"width": 390, "height": 844},
    "device_scale_factor": 3,
    "is_mobile": True,
    "has_touch": True,
}

DEMO_PASSWORDS = {
    "admin": "demo-admin-2026",
    "hr": "demo-hr-2026",
    "coordinator": "demo-coordinator-2026",
    "instructor": "demo-instructor-2026",
    "trainee": "demo-trainee-2026",
}


@contextmanager
def browser_page(
    browser: Browser, server: LiveServer, *, bypass_csp: bool = False, **options: Any
) -> Iterator[Page]:
    """A page in a new browser context (its own cookies) on the live server.

    The journeys keep the app's Content-Security-Policy; only the accessibility check, which
    injects axe-core, needs ``bypass_csp``.
    """
    context = browser.new_context(
        base_url=server.url,
        locale="zh-CN",
        timezone_id="Asia/Shanghai",
        accept_downloads=True,
        bypass_csp=bypass_csp,
        **options,
    )
    context.set_default_timeout(TIMEOUT_MS)
    page = context.new_page()
    try:
        yield page
    finally:
        context.close()


def sign_in(page: Page, email: str, password: str | None = None) -> None:
    """Sign in through the form, as a person would, and wait for the page that follows."""
    role = email.split("@")[0].split(".")[0].rstrip("0123456789")
    page.goto("/login")
    page.locator("#email").fill(email)
    page.locator("#password").fill(password or DEMO_PASSWORDS[role])
    page.locator("main form button[type=submit]").click()
    expect(page).not_to_have_url(re.compile(r"/login"))


def switch_language(page: Page, to: str) -> None:
    """Press the language switch in the header (``to``: "en" or "zh")."""
    label, lang = ("English", "en") if to == "en" else ("中文", "zh-Hans-CN")
    page.locator("header form.language-switch button", has_text=label).click()
    expect(page.locator("html")).to_have_attribute("lang", lang)


def shot(page: Page, journey: str, step: str) -> None:
    """Save a full-page screenshot as ``tests/e2e/artifacts/<journey>/<step>.png``."""
    folder = ARTIFACTS / journey
    folder.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(folder / f"{step}.png"), full_page=True)


def axe_violations(page: Page, name: str) -> list[dict[str, Any]]:
    """Run axe-core on the page and return its blocking violations (serious, critical).

    Every violation, blocking or not, is written to ``artifacts/axe/<name>.json``.
    """
    page.add_script_tag(path=str(AXE))
    violations: list[dict[str, Any]] = page.evaluate(
        """async () => {
            const result = await axe.run(document, {resultTypes: ["violations"]});
            return result.violations.map(v => ({
                id: v.id, impact: v.impact, help: v.help, helpUrl: v.helpUrl,
                nodes: v.nodes.map(n => ({target: n.target, summary: n.failureSummary})),
            }));
        }"""
    )
    folder = ARTIFACTS / "axe"
    folder.mkdir(parents=True, exist_ok=True)
    report = {"url": page.url, "violations": violations}
    (folder / f"{name}.json").write_text(json.dumps(report, ensure_ascii=False, indent=2))
    return [v for v in violations if v["impact"] in BLOCKING]


def describe(violations: list[dict[str, Any]]) -> str:
    """A readable list of axe violations for an assertion message."""
    return "\n".join(
        f"{v['impact']} {v['id']}: {v['help']} at {[n['target'] for n in v['nodes'][:5]]}"
        for v in violations
    )
