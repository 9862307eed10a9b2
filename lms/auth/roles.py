"""The five roles and their labels."""

from enum import StrEnum

from flask_babel import lazy_gettext as _l


class Role(StrEnum):
    """A role a person holds; a person may hold several."""

    TRAINEE = "trainee"
    INSTRUCTOR = "instructor"
    HR = "hr"
    COORDINATOR = "coordinator"
    ADMIN = "admin"

    @property
    def label(self) -> str:
        return str(ROLE_LABELS[self])


ROLE_LABELS = {
    Role.TRAINEE: _l("Trainee"),
    Role.INSTRUCTOR: _l("Instructor"),
    Role.HR: _l("HR officer"),
    Role.COORDINATOR: _l("Coordinator"),
    Role.ADMIN: _l("Administrator"),
}

# Roles that may be limited to one organisation's people.
SCOPABLE_ROLES = frozenset({Role.HR, Role.COORDINATOR})
