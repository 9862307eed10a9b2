"""A trainee signs in, finds a course in the catalogue, completes two lessons and a quiz:
in Chinese, in English (switched in the page) and on a phone."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

import pytest
from playwright.sync_api import Browser, Page, expect

from tests.e2e.conftest import LiveServer
from tests.e2e.helpers import PHONE, browser_page, shot, sign_in, switch_language

COURSE = "INS-PARENT-201"  # the demo's in-service course: trainees 10-12 have read 1 or 4 lessons
COURSES_PUBLISHED = 5  # in courses/
ESSAY = "先观察孩子的信号，再用温和的语言回应，并与家长交流。"


@dataclass(frozen=True)
class Run:
    journey: str
    email: str
    language: str  # "zh" or "en": the page language the trainee uses
    search: str  # what they type into the catalogue search
    texts: dict[str, str]
    options: dict[str, Any]


ZH = {
    "courses": "课程",
    "my_learning": "我的学习",
    "completed": "已完成",
    "lessons": "课时：{done} / {total}",
    "score": "得分",
}
EN = {
    "courses": "Courses",
    "my_learning": "My learning",
    "completed": "Completed",
    "lessons": "Lessons: {done} of {total}",
    "score": "Score",
}

RUNS = [
    Run("trainee-zh", "trainee10@demo.example.org", "zh", "科学育儿家庭指导", ZH, {}),
    Run("trainee-en", "trainee11@demo.example.org", "en", "Responsive Parenting", EN, {}),
    Run("trainee-phone", "trainee12@demo.example.org", "zh", "家庭指导", ZH, PHONE),
]


def _lessons_done(page: Page) -> tuple[int, int]:
    """(lessons done, lessons in the course) from the course page's progress box."""
    text = page.locator("#my-progress li").nth(1).inner_text()  # "课时：1 / 14"
    found = re.search(r"(\d+)\s*(?:/|of)\s*(\d+)", text)
    assert found, text
    return int(found[1]), int(found[2])


def _answer_everything(page: Page) -> int:
    """Answer every question of the attempt on screen (the first choice, or some text)."""
    answered = 0
    for question in page.locator("fieldset.question").all():
        choices = question.locator("input[type=radio], input[type=checkbox]")
        if choices.count():
            choices.first.check()
        for box in question.locator("input[type=text]").all():
            box.fill("1")
        for area in question.locator("textarea").all():
            area.fill(ESSAY)
        for select in question.locator("select").all():
            select.select_option(index=1)
        answered += 1
    return answered


@pytest.mark.parametrize("run", RUNS, ids=[r.journey for r in RUNS])
def test_trainee_finds_a_course_completes_lessons_and_a_quiz(
    chromium_browser: Browser, live_server: LiveServer, run: Run
) -> None:
    t = run.texts
    with browser_page(chromium_browser, live_server, **run.options) as page:
        sign_in(page, run.email)
        if run.language == "en":
            switch_language(page, "en")
        shot(page, run.journey, "01-home")

        # The catalogue, from the header, and a search.
        page.locator("header nav").get_by_role("link", name=t["courses"], exact=True).click()
        page.locator("#catalog-search input[name=q]").fill(run.search)
        page.locator("#catalog-search button[type=submit]").click()
        expect(page.locator("#clear-filters")).to_be_visible()
        card = page.locator(f"#course-{COURSE}")
        expect(card).to_be_visible()
        assert page.locator("#courses article.course-card").count() < COURSES_PUBLISHED
        shot(page, run.journey, "02-search")
        card.get_by_role("heading").get_by_role("link").click()
        expect(page).to_have_url(re.compile(rf"/courses/{COURSE}$"))
        done_before, total = _lessons_done(page)
        shot(page, run.journey, "03-course")

        # Two lessons: mark each complete, then follow the "next lesson" button.
        page.locator("#continue, #start").first.click()
        for _ in range(2):
            expect(page.locator("#lesson-content")).not_to_be_empty()
            page.locator("#mark-complete").click()
            expect(page.locator("#lesson-completed")).to_contain_text(t["completed"])
            page.locator("#completion-next").click()
        shot(page, run.journey, "04-lesson")
        page.goto(f"/courses/{COURSE}")
        assert _lessons_done(page) == (done_before + 2, total)
        expect(page.locator("#my-progress")).to_contain_text(
            t["lessons"].format(done=done_before + 2, total=total)
        )

        # The first quiz: start, answer everything, submit, see the score.
        page.locator("ul.quiz-list a").first.click()
        page.locator("#start").click()
        assert _answer_everything(page) > 0
        # Answers are saved as they are given (htmx, 2 s after typing stops): let that finish.
        expect(page.locator("#save-status")).not_to_be_empty()
        page.wait_for_timeout(2500)
        page.wait_for_load_state("networkidle")
        shot(page, run.journey, "05-quiz")
        page.locator("#submit").click()
        expect(page.locator("#result #score")).to_contain_text(re.compile(r"\d+ / \d+"))
        expect(page.locator("#result #outcome .badge")).to_be_visible()
        expect(page.locator("#result")).to_contain_text(t["score"])
        shot(page, run.journey, "06-quiz-result")

        # My learning shows the new count of lessons.
        page.get_by_role("link", name=t["my_learning"], exact=True).first.click()
        expect(page.locator("main")).to_contain_text(
            t["lessons"].format(done=done_before + 2, total=total)
        )
        shot(page, run.journey, "07-my-learning")
