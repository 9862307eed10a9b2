"""The demo steps and what they share.

A step is a function ``step(ctx: DemoContext) -> None`` named in :data:`STEPS` as
``"module:function"`` (so this module imports no feature). Steps run in order, in one unit of
work that the command commits once. Each step must be idempotent: it looks up what it would
create (by code, email or another natural key) and creates only what is missing, through the
feature's services with actor None, so that a second ``lms demo`` changes nothing. A step
that makes a demo account registers it with :meth:`DemoContext.login`, and counts what it
created with :meth:`DemoContext.created`.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field

from werkzeug.utils import import_string

# Later features append their steps, e.g. "lms.catalog.demo:courses".
STEPS: list[str] = [
    "lms.demo.data:districts",
    "lms.demo.data:organisations",
    "lms.demo.data:people",
    "lms.catalog.demo:course_owners",
    "lms.learning.demo:cohorts",
    "lms.learning.demo:progress",
    "lms.certificates.demo:certificates",
]

# The order in which ``lms demo`` lists the logins.
ROLE_ORDER = ("admin", "hr", "coordinator", "instructor", "trainee")


@dataclass(frozen=True)
class DemoLogin:
    role: str
    email: str
    password: str

    def line(self) -> str:
        return f"{self.role} {self.email} {self.password}"


@dataclass
class DemoContext:
    """Shared by the steps: the logins to print and counts of what was created or repaired."""

    logins: list[DemoLogin] = field(default_factory=list)
    counts: Counter[str] = field(default_factory=Counter)

    def login(self, role: str, email: str, password: str) -> None:
        """Register a demo account to print (once per email)."""
        if all(existing.email != email for existing in self.logins):
            self.logins.append(DemoLogin(role, email, password))

    def created(self, what: str, n: int = 1) -> None:
        self.counts[what] += n

    def sorted_logins(self) -> list[DemoLogin]:
        """By role (admin first, trainees last), then in the order the steps made them."""
        rank = {role: i for i, role in enumerate(ROLE_ORDER)}
        return sorted(self.logins, key=lambda lg: rank.get(lg.role, len(ROLE_ORDER)))


def run(steps: list[str] | None = None) -> DemoContext:
    """Run every step (flushing, not committing) and return what they reported."""
    ctx = DemoContext()
    for name in steps if steps is not None else STEPS:
        step: Callable[[DemoContext], None] = import_string(name.replace(":", "."))
        step(ctx)
    return ctx
