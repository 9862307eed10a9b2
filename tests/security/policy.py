"""The authorization policy of every endpoint, as reviewed: who may reach it.

Each endpoint of ``app.url_map`` has one :class:`Rule`. ``declared`` is what its view declares
with :mod:`lms.auth.access` (``public``, ``signed_in`` or ``roles(...)``); the matrix test
checks that the decorators still say so, so widening a view's access means changing this
table too, in review. ``reach`` narrows a rule by the object checks of the view: the actors
who pass them on the objects of the matrix's world (``tests/security/conftest.py``), where the
trainee owns the attempt, the certificate and the enrolment, the instructor owns the course
and teaches the cohort, the HR officer requested the bulk issue, enrolment and roster jobs,
and the coordinator the report export. The two partner actors are scoped to the cohort's
university partner, under which the trainee's employer sits, so they see the trainee.

Actors refused by ``declared`` must get 403 (a redirect to the sign-in page when
anonymous); actors refused by ``reach`` only, 403 or 404.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from lms.auth.access import PUBLIC, SIGNED_IN
from lms.auth.roles import Role

ANONYMOUS = "anonymous"

#: The signed-in actors of the matrix and the role each holds.
ACTOR_ROLES: dict[str, Role] = {
    "trainee": Role.TRAINEE,
    "instructor": Role.INSTRUCTOR,
    "hr": Role.HR,
    "coordinator": Role.COORDINATOR,
    "admin": Role.ADMIN,
    "partner_hr": Role.HR,
    "partner_coordinator": Role.COORDINATOR,
}
ACTORS = (ANONYMOUS, *ACTOR_ROLES)

Declared = str | frozenset[Role]


@dataclass(frozen=True)
class Rule:
    """Who may reach one endpoint (see the module's docstring)."""

    declared: Declared
    reach: frozenset[str] | None = None

    def passes_declaration(self, actor: str) -> bool:
        if self.declared == PUBLIC:
            return True
        if actor == ANONYMOUS:
            return False
        if self.declared == SIGNED_IN:
            return True
        assert isinstance(self.declared, frozenset)
        return ACTOR_ROLES[actor] in self.declared

    def allows(self, actor: str) -> bool:
        """Whether ``actor`` reaches the endpoint with the world's objects."""
        if not self.passes_declaration(actor):
            return False
        return self.reach is None or actor in self.reach

    def only(self, *actors: str) -> Rule:
        """This rule, narrowed by the view's object check to ``actors``."""
        assert set(actors) <= set(ACTOR_ROLES), actors
        return replace(self, reach=frozenset(actors))


def roles(*allowed: Role) -> Rule:
    return Rule(frozenset(allowed))


ANYONE = Rule(PUBLIC)
SIGNED = Rule(SIGNED_IN)
ADMIN = roles(Role.ADMIN)
AUTHORS = roles(Role.ADMIN, Role.INSTRUCTOR)
MANAGERS = roles(Role.ADMIN, Role.HR)
STAFF = roles(Role.ADMIN, Role.HR, Role.COORDINATOR)
REPORTERS = roles(Role.ADMIN, Role.COORDINATOR)
TEACHERS_AND_STAFF = roles(Role.ADMIN, Role.INSTRUCTOR, Role.HR, Role.COORDINATOR)

# Who sees the trainee: the trainee, and staff whose scope covers their employer.
SEES_TRAINEE = ("trainee", "hr", "coordinator", "admin", "partner_hr", "partner_coordinator")
# Jobs are seen by whoever requested them, and administrators.
HR_JOB = ("hr", "admin")
COORDINATOR_JOB = ("coordinator", "admin")

POLICY: dict[str, Rule] = {
    # Signing in, the home page, the language, health.
    "auth.login": ANYONE,
    "auth.logout": ANYONE,
    "auth.change_password": SIGNED,
    "main.home": SIGNED,
    "main.set_language": ANYONE,
    "main.healthz": ANYONE,
    "static": ANYONE,
    # Public verification and the credential API.
    "verify.lookup": ANYONE,
    "verify.verify": ANYONE,
    "certificates_api.certificate": ANYONE,
    "badges.credential": ANYONE,
    "badges.issuer": ANYONE,
    "badges.jwks": ANYONE,
    "badges.status_list": ANYONE,
    # Accounts and organisations: administrators.
    "people.index": STAFF,
    "people.detail": SIGNED.only(*SEES_TRAINEE),
    "people.create": ADMIN,
    "people.edit": ADMIN,
    "people.deactivate": ADMIN,
    "people.reactivate": ADMIN,
    "people.reset_password": ADMIN,
    "roster.upload": MANAGERS,
    "roster.example": MANAGERS,
    "roster.status": MANAGERS.only(*HR_JOB),
    "orgs.index": ADMIN,
    "orgs.detail": ADMIN,
    "orgs.create": ADMIN,
    "orgs.edit": ADMIN,
    "orgs.deactivate": ADMIN,
    "orgs.reactivate": ADMIN,
    "orgs.districts": ADMIN,
    "orgs.district_create": ADMIN,
    "orgs.district_edit": ADMIN,
    "audit.index": ADMIN,
    # Job progress.
    "jobs.panel": SIGNED.only(*COORDINATOR_JOB),
    "jobs.status": SIGNED.only(*COORDINATOR_JOB),
    # The catalogue (a published course) and authoring (the instructor owns the course).
    "catalog.index": SIGNED,
    "catalog.course": SIGNED,
    "catalog.lesson": SIGNED,
    "catalog.asset": SIGNED,
    "authoring.index": AUTHORS,
    "authoring.course_create": AUTHORS,
    "authoring.course": AUTHORS,
    "authoring.course_edit": AUTHORS,
    "authoring.course_publish": AUTHORS,
    "authoring.course_unpublish": AUTHORS,
    "authoring.owners": ADMIN,
    "authoring.module_create": AUTHORS,
    "authoring.module_rename": AUTHORS,
    "authoring.module_move": AUTHORS,
    "authoring.lesson_create": AUTHORS,
    "authoring.upload_image": AUTHORS,
    "authoring.lesson_move": AUTHORS,
    "authoring.lesson_archive": AUTHORS,
    "authoring.lesson_unarchive": AUTHORS,
    "authoring.lesson_edit": AUTHORS,
    "authoring.preview": AUTHORS,
    "authoring.history": AUTHORS,
    "authoring.version": AUTHORS,
    "authoring.restore": AUTHORS,
    "authoring.publish_version": AUTHORS,
    # Programmes and competencies.
    "programmes.index": SIGNED,
    "programmes.detail": SIGNED,
    "programmes.create": ADMIN,
    "programmes.edit": ADMIN,
    "programmes.archive": ADMIN,
    "programmes.unarchive": ADMIN,
    "programmes.competencies": SIGNED,
    # Cohorts and enrolment (every actor sees the world's cohort).
    "cohorts.index": SIGNED,
    "cohorts.offerings": SIGNED,
    "cohorts.detail": SIGNED,
    "cohorts.create": STAFF,
    "cohorts.edit": STAFF,
    "cohorts.enrol": STAFF,
    "cohorts.upload": STAFF,
    "cohorts.upload_status": STAFF.only(*HR_JOB),
    "cohorts.self_enrol": roles(Role.TRAINEE),
    # Withdrawing the trainee: themselves, or staff who see them.
    "cohorts.withdraw": SIGNED.only(*SEES_TRAINEE),
    # A trainee's own learning.
    "learning.my_learning": roles(Role.TRAINEE),
    "learning.my_ce": roles(Role.TRAINEE),
    "learning.my_competencies": roles(Role.TRAINEE),
    "learning.complete_lesson": SIGNED.only("trainee"),
    "learning.lesson_time": SIGNED.only("trainee"),
    # A person's learning record: the person, staff who see them, the instructor teaching them.
    "learning.person_record": SIGNED,
    "learning.record_ce": MANAGERS,
    "learning.remove_ce": MANAGERS,
    # Quizzes: the page is for everyone signed in (a non-enrolled person is told why they
    # cannot start); an attempt is answered by its owner only, read by those who see the
    # person's record, marked by its teachers.
    "quizzes.quiz": SIGNED,
    "quizzes.start": SIGNED,
    "quizzes.attempt": SIGNED,
    "quizzes.save_attempt": SIGNED.only("trainee"),
    "quizzes.submit_attempt": SIGNED.only("trainee"),
    "quizzes.grade_attempt": AUTHORS,
    # Practicals, the grading queue and gradebooks.
    "grading.practical": SIGNED.only("trainee", "instructor", "admin"),
    "grading.record_practical": AUTHORS,
    "grading.queue": AUTHORS,
    "grading.gradebook": TEACHERS_AND_STAFF,
    "grading.gradebook_csv": TEACHERS_AND_STAFF,
    # Certificates: the holder and staff who see the holder; HR officers and admins act.
    "certificates.index": STAFF,
    "certificates.detail": SIGNED.only(*SEES_TRAINEE),
    "certificates.pdf": SIGNED.only(*SEES_TRAINEE),
    "certificates.revoke": MANAGERS,
    "certificates.reissue": MANAGERS,
    "certificates.renew": MANAGERS,
    "certificates.issue": MANAGERS,
    "certificates.bulk": MANAGERS,
    "certificates.bulk_zip": MANAGERS.only(*HR_JOB),
    "certificates.outbox": MANAGERS,
    "certificates.mine": SIGNED,
    "certificate_templates.index": ADMIN,
    "certificate_templates.edit": ADMIN,
    "certificate_templates.preview": ADMIN,
    # Reports: coordinators (a partner's within the partner) and administrators.
    "reports.dashboard": REPORTERS,
    "report_lists.show": REPORTERS,
    "report_checks.index": REPORTERS,
    "report_checks.show": REPORTERS,
    "report_exports.start": REPORTERS,
    "report_exports.show": REPORTERS.only(*COORDINATOR_JOB),
    "report_exports.download": REPORTERS.only(*COORDINATOR_JOB),
    "report_targets.index": REPORTERS,
    "report_targets.create": ADMIN,
    "report_targets.edit": ADMIN,
    "report_targets.delete": ADMIN,
    "reports_api.targets": REPORTERS,
}
