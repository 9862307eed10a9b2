"""Demo districts, organisations and people (the first demo steps).

Nanjing's 11 districts; three university partners, two guidance centres with their stations
and a few childcare settings; and people of every role, each with a known password
(``demo-<role>-2026``) so that a demonstration can sign in as any of them.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import cache

import sqlalchemy as sa

from lms.audit import services as audit
from lms.auth.models import User
from lms.auth.passwords import hash_password, verify_password
from lms.auth.roles import Role
from lms.db import utcnow
from lms.demo.steps import DemoContext
from lms.extensions import db
from lms.orgs.models import District, Organisation, OrgKind
from lms.orgs.services import (
    DistrictData,
    OrganisationData,
    create_district,
    create_organisation,
)
from lms.people.services import PersonData, RoleGrant, create_person, set_active

EMAIL_DOMAIN = "demo.example.org"

# code, Chinese name, English name
DISTRICTS = (
    ("XW", "玄武区", "Xuanwu"),
    ("QH", "秦淮区", "Qinhuai"),
    ("JY", "建邺区", "Jianye"),
    ("GL", "鼓楼区", "Gulou"),
    ("PK", "浦口区", "Pukou"),
    ("QX", "栖霞区", "Qixia"),
    ("YHT", "雨花台区", "Yuhuatai"),
    ("JN", "江宁区", "Jiangning"),
    ("LH", "六合区", "Luhe"),
    ("LS", "溧水区", "Lishui"),
    ("GC", "高淳区", "Gaochun"),
)


@dataclass(frozen=True)
class DemoOrg:
    code: str
    name: str
    name_en: str
    kind: OrgKind
    district: str
    parent: str | None = None


# Parents before the organisations under them.
ORGANISATIONS = (
    DemoOrg("NNU", "南京师范大学", "Nanjing Normal University", OrgKind.UNIVERSITY, "GL"),
    DemoOrg(
        "NJTS",
        "南京特殊教育师范学院",
        "Nanjing Normal University of Special Education",
        OrgKind.UNIVERSITY,
        "QX",
    ),
    DemoOrg("NJMU", "南京医科大学", "Nanjing Medical University", OrgKind.UNIVERSITY, "JN"),
    DemoOrg(
        "CTR-XW",
        "玄武区婴幼儿照护服务示范性指导中心",
        "Xuanwu Demonstration Guidance Centre",
        OrgKind.CENTRE,
        "XW",
    ),
    DemoOrg(
        "CTR-JN",
        "江宁区婴幼儿照护服务示范性指导中心",
        "Jiangning Demonstration Guidance Centre",
        OrgKind.CENTRE,
        "JN",
    ),
    DemoOrg(
        "STN-XW-MY",
        "梅园新村街道婴幼儿照护指导站",
        "Meiyuan Xincun Street Station",
        OrgKind.STATION,
        "XW",
        "CTR-XW",
    ),
    DemoOrg(
        "STN-XW-SJ",
        "锁金村街道婴幼儿照护指导站",
        "Suojincun Street Station",
        OrgKind.STATION,
        "XW",
        "CTR-XW",
    ),
    DemoOrg(
        "STN-JN-DS",
        "东山街道婴幼儿照护指导站",
        "Dongshan Street Station",
        OrgKind.STATION,
        "JN",
        "CTR-JN",
    ),
    DemoOrg("NUR-XW-01", "玄武区梅园育儿园", "Meiyuan Nursery", OrgKind.NURSERY, "XW", "CTR-XW"),
    DemoOrg(
        "PCC-QH-01",
        "秦淮区夫子庙亲子园",
        "Fuzimiao Parent-Child Centre",
        OrgKind.PARENT_CHILD_CENTRE,
        "QH",
        "CTR-XW",
    ),
    DemoOrg(
        "CP-GL-01",
        "鼓楼区宁海路社区看护点",
        "Ninghai Road Community Care Point",
        OrgKind.CARE_POINT,
        "GL",
        "CTR-XW",
    ),
    DemoOrg(
        "PCC-XW-02",
        "玄武区锁金亲子园",
        "Suojin Parent-Child Centre",
        OrgKind.PARENT_CHILD_CENTRE,
        "XW",
        "STN-XW-SJ",
    ),
    DemoOrg(
        "NUR-JN-01", "江宁区东山育儿园", "Dongshan Nursery", OrgKind.NURSERY, "JN", "STN-JN-DS"
    ),
    DemoOrg(
        "CP-JN-01",
        "江宁区百家湖社区看护点",
        "Baijiahu Community Care Point",
        OrgKind.CARE_POINT,
        "JN",
        "STN-JN-DS",
    ),
)


@dataclass(frozen=True)
class DemoPerson:
    role: Role  # the role the login is listed under
    local: str  # the part of the email before the @
    name: str
    employer: str | None = None
    scope: str | None = None  # hr/coordinator: the organisation the role is limited to
    phone: str | None = None

    @property
    def email(self) -> str:
        return f"{self.local}@{EMAIL_DOMAIN}"

    @property
    def password(self) -> str:
        return demo_password(self.role)


def demo_password(role: Role | str) -> str:
    return f"demo-{Role(role).value}-2026"


_TRAINEES = (
    ("张晓燕", "NUR-XW-01"),
    ("李静", "NUR-XW-01"),
    ("王丽娟", "NUR-XW-01"),
    ("刘芳", "PCC-QH-01"),
    ("陈敏", "PCC-QH-01"),
    ("杨雪", "CP-GL-01"),
    ("赵婷", "PCC-XW-02"),
    ("黄蕾", "PCC-XW-02"),
    ("周倩", "NUR-JN-01"),
    ("吴霞", "NUR-JN-01"),
    ("徐慧", "CP-JN-01"),
    ("孙悦", "CP-JN-01"),
)

PEOPLE = (
    DemoPerson(Role.ADMIN, "admin", "周文", phone="13805180001"),
    DemoPerson(Role.HR, "hr", "刘敏", phone="13805180002"),
    DemoPerson(Role.HR, "hr.xuanwu", "赵丽", "CTR-XW", scope="CTR-XW", phone="13805180003"),
    DemoPerson(Role.COORDINATOR, "coordinator", "孙强", phone="13805180004"),
    DemoPerson(Role.COORDINATOR, "coordinator.nnu", "钱芳", "NNU", scope="NNU"),
    DemoPerson(Role.INSTRUCTOR, "instructor.nnu", "王建华", "NNU", phone="13805180011"),
    DemoPerson(Role.INSTRUCTOR, "instructor.njts", "李明", "NJTS", phone="13805180012"),
    DemoPerson(Role.INSTRUCTOR, "instructor.njmu", "陈红", "NJMU", phone="13805180013"),
    *(
        DemoPerson(Role.TRAINEE, f"trainee{i:02d}", name, employer, phone=f"139051{i:05d}")
        for i, (name, employer) in enumerate(_TRAINEES, start=1)
    ),
)


def districts(ctx: DemoContext) -> None:
    """Nanjing's districts, matched by code or Chinese name."""
    for code, name, name_en in DISTRICTS:
        found = db.session.scalar(
            sa.select(District).where(sa.or_(District.code == code, District.name == name))
        )
        if found is None:
            create_district(None, DistrictData(code=code, name=name, name_en=name_en))
            ctx.created("districts")


def organisations(ctx: DemoContext) -> None:
    """The demo organisations, matched by code."""
    known = _organisations_by_code()
    for org in ORGANISATIONS:
        if org.code in known:
            continue
        parent = known[org.parent] if org.parent else None
        known[org.code] = create_organisation(
            None,
            OrganisationData(
                code=org.code,
                name=org.name,
                name_en=org.name_en,
                kind=org.kind.value,
                district_id=_district_id(org.district),
                parent_id=parent.id if parent else None,
            ),
        )
        ctx.created("organisations")


def people(ctx: DemoContext) -> None:
    """The demo accounts, matched by email; each one is made to work with its password.

    Accounts of one role share one password, so they share one hash: Argon2 is slow on
    purpose, and hashing (or checking) once per role keeps ``lms demo`` quick.
    """
    hash_of = cache(hash_password)
    verify = cache(verify_password)
    orgs = _organisations_by_code()
    users = {
        user.email: user
        for user in db.session.scalars(
            sa.select(User).where(User.email.in_([person.email for person in PEOPLE]))
        )
    }
    for person in PEOPLE:
        password = person.password
        user = users.get(person.email)
        if user is None:
            employer = orgs[person.employer] if person.employer else None
            scope = orgs[person.scope] if person.scope else None
            user = create_person(
                None,
                PersonData(
                    name=person.name,
                    email=person.email,
                    phone=person.phone,
                    employer_id=employer.id if employer else None,
                    district_id=employer.district_id if employer else None,
                    roles=[RoleGrant(person.role, scope.id if scope else None)],
                ),
            )
            user.password_hash = hash_of(password)
            ctx.created("people")
        else:
            password_ok = verify(user.password_hash, password)
            if _repair(user, hash_of, password, password_ok):
                ctx.created("repaired accounts")
        ctx.login(person.role.value, person.email, password)


def _repair(user: User, hash_of: Callable[[str], str], password: str, password_ok: bool) -> bool:
    """Make an existing demo account usable with its demo password; whether it needed it."""
    changed = False
    if not user.active:
        set_active(None, user, True)
        changed = True
    if not password_ok or user.must_change_password:
        user.password_hash = hash_of(password)
        user.must_change_password = False
        user.failed_logins = 0
        user.locked_until = None
        audit.record(None, "user.password_reset", "user", user.id, reason="lms demo")
        changed = True
    elif user.locked_until is not None and user.locked_until > utcnow():
        user.locked_until = None
        user.failed_logins = 0
        changed = True
    return changed


def _organisations_by_code() -> dict[str, Organisation]:
    """The demo organisations already there, by code (one query)."""
    codes = [org.code for org in ORGANISATIONS]
    stmt = sa.select(Organisation).where(Organisation.code.in_(codes))
    return {org.code: org for org in db.session.scalars(stmt)}


def _district_id(code: str) -> int | None:
    """A demo district's id, also when it was entered earlier under another code."""
    name = next(name for c, name, _en in DISTRICTS if c == code)
    return db.session.scalar(
        sa.select(District.id)
        .where(sa.or_(District.code == code, District.name == name))
        .order_by(District.code != code)
        .limit(1)
    )
