"""factory_boy factories for the models; they flush, the test commits when it needs to."""

from __future__ import annotations

from typing import Any

import factory
from factory.alchemy import SQLAlchemyModelFactory

from lms.auth.models import RoleAssignment, User
from lms.auth.passwords import hash_password
from lms.extensions import db
from lms.orgs.models import District, Organisation

TEST_PASSWORD = "correct horse battery"
_TEST_HASH = hash_password(TEST_PASSWORD)  # hashing once keeps the suite fast


class Base(SQLAlchemyModelFactory):
    class Meta:
        abstract = True
        sqlalchemy_session_factory = lambda: db.session  # noqa: E731
        sqlalchemy_session_persistence = "flush"


class DistrictFactory(Base):
    class Meta:
        model = District

    code = factory.Sequence(lambda n: f"D{n:03d}")
    name = factory.Sequence(lambda n: f"测试区{n}")
    name_en = factory.Sequence(lambda n: f"Test District {n}")


class OrganisationFactory(Base):
    class Meta:
        model = Organisation

    code = factory.Sequence(lambda n: f"ORG{n:04d}")
    name = factory.Sequence(lambda n: f"测试机构{n}")
    name_en = factory.Sequence(lambda n: f"Test Organisation {n}")
    kind = "nursery"
    district = factory.SubFactory(DistrictFactory)


class UserFactory(Base):
    class Meta:
        model = User

    name = factory.Faker("name", locale="zh_CN")
    email = factory.Sequence(lambda n: f"person{n}@example.org")
    phone = factory.Sequence(lambda n: f"139{n:08d}")
    password_hash = _TEST_HASH
    active = True

    @factory.post_generation
    def roles(self, create: bool, extracted: list[Any] | None, **kwargs: Any) -> None:
        """``roles=["hr", ("coordinator", org)]``: a role, or a role with its scope."""
        for item in extracted or ["trainee"]:
            role, scope = item if isinstance(item, tuple) else (item, None)
            self.role_assignments.append(RoleAssignment(role=role, scope_org=scope))
        if create:
            db.session.flush()
