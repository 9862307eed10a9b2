"""A known population for the report tests, with every figure counted by hand.

Talent pool (type WQ of programme WORLD-QUAL, delivered by ``world.partner``):

=====  ===========================  ==========================================================
who    certificate(s)               counted today?
=====  ===========================  ==========================================================
a      issued 400 days ago          yes
b      issued 10 days ago           yes
c      issued 2021-03-01 02:00 UTC  no: expired 2024-02-29 (valid 2021-03-01 .. 2024-02-29)
d      issued 100 days ago          no: revoked 5 days ago
e      issued 200 days ago,         yes, once, under the reissue
       superseded 50 days ago by a
       reissue
f      issued 30 days ago           yes, under partner OTHERU (``population["other"]``)
=====  ===========================  ==========================================================

Lead trainers (type WL of programme WORLD-LT, no partner): a, issued 20 days ago.

No certificate has completion evidence: each was issued with an override reason. Districts:
a, b, c in ``north``; d, e, f in ``south`` (people and certificates; employers: a, b, c work at
a nursery, d, e, f at a care point).
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest

from lms.certificates import issuing
from lms.certificates.models import CertificateType
from lms.db import utcnow
from lms.extensions import db
from lms.learning.models import Programme
from tests.builders import LearningWorld
from tests.factories import DistrictFactory, OrganisationFactory


def issue(person: Any, ctype: CertificateType, when: datetime, **kwargs: Any) -> Any:
    kwargs.setdefault("override_reason", "测试人群")
    return issuing.create_certificate(None, person.id, ctype.id, now=when, **kwargs)


@pytest.fixture
def population(learning_world: LearningWorld, make_user: Any) -> dict[str, Any]:
    world = learning_world
    talent = world.certificate_type
    lead_programme = Programme(
        code="WORLD-LT", title="师资骨干", track="lead_trainer", tier="lead_trainer"
    )
    db.session.add(lead_programme)
    lead = CertificateType(
        programme=lead_programme,
        serial_code="WL",
        title="师资骨干证书",
        tier="lead_trainer",
        validity_years=3,
    )
    db.session.add(lead)
    north = DistrictFactory(code="NORTH", name="北区", name_en="North")
    south = DistrictFactory(code="SOUTH", name="南区", name_en="South")
    nursery = OrganisationFactory(kind="nursery", district=north, code="N-NURSERY")
    care_point = OrganisationFactory(kind="care_point", district=south, code="S-CARE")
    db.session.flush()
    people = {}
    for k in "abcdef":
        home = (north, nursery) if k in "abc" else (south, care_point)
        people[k] = make_user("trainee", name=f"学员{k}", district=home[0], employer=home[1])
    now = utcnow()
    issue(people["a"], talent, now - timedelta(days=400))
    issue(people["b"], talent, now - timedelta(days=10))
    issue(people["c"], talent, datetime(2021, 3, 1, 2, tzinfo=UTC))  # expired 2024-02-29
    revoked = issue(people["d"], talent, now - timedelta(days=100))
    revoked.revoked_at, revoked.revoke_reason = now - timedelta(days=5), "误发"
    old = issue(people["e"], talent, now - timedelta(days=200))
    old.superseded_at = now - timedelta(days=50)
    db.session.flush()
    issue(people["e"], talent, now - timedelta(days=50), kind="reissue", replaces=old)
    other_partner = OrganisationFactory(kind="university", code="OTHERU")
    other = issue(people["f"], talent, now - timedelta(days=30))
    other.partner_id = other_partner.id
    issue(people["a"], lead, now - timedelta(days=20))
    db.session.flush()
    return {
        "world": world,
        "people": people,
        "lead": lead,
        "north": north,
        "south": south,
        "other": other_partner,
    }


@pytest.fixture
def today(app: Any) -> date:
    """Today in the city (reports default to it, like certificates' dates)."""
    return issuing.local_today()
