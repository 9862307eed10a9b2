"""``lms demo --scale N``: a province-sized synthetic data set for benchmarks.

Brings to N the synthetic trainees (``scale.<i>@scale.example.org``, password
``scale-demo-2026``) across the districts, with about N/50 childcare settings for them to
work in, and about two certificates per person with their programme completions: a
talent-pool certificate for most, a lead-trainer one for about a tenth of those, annual CE
certificates for a share of each year 2023-2026, issued over 2022-2026 so
that some have expired; about 2% are revoked, about 1% superseded by a reissue, and 1% of people
have a talent-pool certificate entered with an override (no completion).

Everything is written with bulk ``INSERT``s, one commit per chunk of people, so that memory
stays flat and an interrupted run leaves whole people behind. Person ``i`` is drawn from a
random generator seeded with ``(seed, i)``: the same seed gives the same data, and a later
run with a larger N adds people ``i`` from the number already there (a second run with the
same N adds nothing). Only the setting a person works in depends on how many settings there
were when they were added, and issue dates run up to the day of the run. Everyone shares one
password hash (hashing is slow on purpose).

Synthetic certificates have no PDF (``pdf_sha256`` is NULL, like a bulk issue whose PDFs are
not rendered yet); their ``details`` are the snapshot issuing would copy in. Course
completions and CE-ledger entries are not generated.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

import sqlalchemy as sa
from flask import current_app
from flask_babel import gettext as _

from lms.auth.models import RoleAssignment, User
from lms.auth.passwords import hash_password
from lms.auth.roles import Role
from lms.certificates import issuing
from lms.certificates.models import Certificate, CertificateType, SerialCounter
from lms.db import utcnow
from lms.extensions import db
from lms.learning.models import Programme, ProgrammeCompletion
from lms.learning.models.programme import Cycle, Tier
from lms.orgs.models import District, Organisation, OrgKind
from lms.reports import periods
from lms.validation import ValidationError

EMAIL_DOMAIN = "scale.example.org"
ORG_PREFIX = "SCALE-"
PASSWORD = "scale-demo-2026"  # noqa: S105  (the documented password of synthetic people)
PEOPLE_PER_CHUNK = 2500  # about 5,000 certificates and 5,000 completions per statement
PEOPLE_PER_SETTING = 50
CE_YEARS = (2023, 2024, 2025, 2026)

# Common surnames, most frequent first and repeated by weight, and given-name characters.
SURNAMES = (
    "王王王王李李李李张张张张刘刘刘陈陈陈杨杨黄黄赵赵吴吴周周徐徐孙马朱胡郭何高林罗郑梁谢宋唐"
    "许韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜叶程苏魏吕丁任沈姚卢姜崔钟谭陆汪范金石廖贾夏韦付方白邹"
    "孟熊秦邱江尹薛闫段雷侯龙史陶黎贺顾毛郝龚邵万钱严覃武戴莫孔向汤"
)
GIVEN = (
    "丽娟敏静艳芳秀英华玲红霞燕萍婷雪琳洁梅慧颖倩晶璐佳欣怡悦雯蕾菲莉晓云月娜萌"
    "婕瑶琪涵子雨思梦诗可宁欢馨蓉凤兰琴素蕊薇岚春秋冬琳玉珍淑惠楠丹瑞嘉宜"
)
PHONE_PREFIXES = ("139", "138", "137", "136", "135", "188", "187", "159", "158", "150")

# Kind, weight, Chinese and English words for a generated childcare setting.
SETTING_KINDS = (
    (OrgKind.NURSERY, 60, "托育园", "Nursery"),
    (OrgKind.PARENT_CHILD_CENTRE, 25, "亲子园", "Parent-Child Centre"),
    (OrgKind.CARE_POINT, 15, "托育点", "Care Point"),
)
BRANDS = (
    ("小太阳", "Little Sun"),
    ("贝贝", "Beibei"),
    ("童心", "Childlike Heart"),
    ("七彩", "Rainbow"),
    ("启航", "Setting Sail"),
    ("金色摇篮", "Golden Cradle"),
    ("爱心", "Caring Heart"),
    ("蒲公英", "Dandelion"),
)
REVOKE_REASONS = (
    "核查发现尚未完成技能考核，误发，予以撤销。",
    "持证人提交的从业材料不实，予以撤销。",
    "重复登记，撤销其中一份。",
)
OVERRIDE_REASONS = (
    "纸质证书电子化补录",
    "按区里报送名单补发",
)

Progress = Callable[[int, int], None]  # (people there now, N), after each chunk


@dataclass(frozen=True)
class _Types:
    """The certificate types the generator uses (any of them may be missing)."""

    talent: CertificateType | None
    lead: CertificateType | None
    annual: CertificateType | None

    def all(self) -> list[CertificateType]:
        return [t for t in (self.talent, self.lead, self.annual) if t is not None]


def _types() -> _Types:
    rows = db.session.execute(
        sa.select(CertificateType, Programme.cycle)
        .join(Programme, Programme.id == CertificateType.programme_id)
        .where(CertificateType.active)
        .order_by(CertificateType.id)
    ).all()
    by_tier = {ctype.tier: ctype for ctype, _cycle in rows if ctype.tier}
    annual = next((ctype for ctype, cycle in rows if cycle == Cycle.ANNUAL), None)
    return _Types(by_tier.get(Tier.TALENT_POOL), by_tier.get(Tier.LEAD_TRAINER), annual)


def _count(stmt: sa.Select[Any]) -> int:
    return db.session.scalar(sa.select(sa.func.count()).select_from(stmt.subquery())) or 0


def _rng(seed: int, what: str, i: int) -> random.Random:
    return random.Random(f"{seed}:{what}:{i}")  # noqa: S311  (reproducible, not secret)


def _settings(n: int, seed: int) -> tuple[list[tuple[int, int, str]], int]:
    """Create the missing generated childcare settings; return (id, district id, kind) of all of
    them, in code order, and how many were created."""
    districts = db.session.execute(
        sa.select(District.id, District.name, District.name_en).order_by(District.code)
    ).all()
    if not districts:
        raise ValidationError(_("Load the demo districts first."))
    wanted = max(1, n // PEOPLE_PER_SETTING)
    scale_orgs = sa.select(Organisation.id).where(Organisation.code.startswith(ORG_PREFIX))
    have = _count(scale_orgs)
    rows = []
    weights = [weight for _kind, weight, _zh, _en in SETTING_KINDS]
    now = utcnow()
    for j in range(have, wanted):
        rng = _rng(seed, "org", j)
        district = districts[rng.randrange(len(districts))]
        kind, _weight, word, word_en = rng.choices(SETTING_KINDS, weights)[0]
        brand, brand_en = rng.choice(BRANDS)
        rows.append(
            {
                "code": f"{ORG_PREFIX}{j + 1:05d}",
                "name": f"{district.name}{brand}{word}（{j + 1}号）",
                "name_en": f"{district.name_en} {brand_en} {word_en} No. {j + 1}",
                "kind": kind.value,
                "district_id": district.id,
                "active": True,
                "created_at": now,
                "updated_at": now,
            }
        )
    for chunk in _chunks(rows, 5000):
        db.session.execute(sa.insert(Organisation), chunk)
    db.session.commit()
    settings = db.session.execute(
        sa.select(Organisation.id, Organisation.district_id, Organisation.kind)
        .where(Organisation.code.startswith(ORG_PREFIX))
        .order_by(Organisation.code)
        .limit(wanted)
    ).all()
    return [(row.id, row.district_id, row.kind) for row in settings], len(rows)


def _chunks(rows: Sequence[Any], size: int) -> Iterator[Sequence[Any]]:
    for start in range(0, len(rows), size):
        yield rows[start : start + size]


def _code(rng: random.Random) -> str:
    """A verification code shaped like :func:`issuing.new_code`, from the seeded generator
    (160 random bits: unique in practice, and the rows are unique-constrained anyway)."""
    bits = rng.getrandbits(5 * issuing.CODE_LENGTH)
    alphabet = issuing.CODE_ALPHABET
    return "".join(alphabet[(bits >> (5 * k)) & 31] for k in range(issuing.CODE_LENGTH))


def _day(rng: random.Random, start: date, end: date) -> date:
    return start + timedelta(days=rng.randrange(max(1, (end - start).days + 1)))


def _moment(day: date, rng: random.Random) -> datetime:
    """Office hours in Nanjing (UTC+8) on ``day``, so the UTC date is the local one."""
    return datetime(day.year, day.month, day.day, 1, 0, tzinfo=UTC) + timedelta(
        minutes=rng.randrange(8 * 60)
    )


class _Serials:
    """Serial numbers continuing each (type, year) counter, written back per chunk."""

    def __init__(self, types: list[CertificateType]) -> None:
        self.prefix = current_app.config["CERTIFICATE_SERIAL_PREFIX"]
        self.codes = {t.id: t.serial_code for t in types}
        self.last: dict[tuple[int, int], int] = {
            (row.type_id, row.year): row.last
            for row in db.session.execute(
                sa.select(SerialCounter.type_id, SerialCounter.year, SerialCounter.last)
            )
        }
        self.dirty: set[tuple[int, int]] = set()

    def take(self, type_id: int, year: int) -> str:
        key = (type_id, year)
        self.last[key] = number = self.last.get(key, 0) + 1
        self.dirty.add(key)
        return f"{self.prefix}-{self.codes[type_id]}-{year}-{number:06d}"

    def save(self) -> None:
        """Set the counters to the last number used (creating the missing rows)."""
        existing = set(
            db.session.execute(sa.select(SerialCounter.type_id, SerialCounter.year)).tuples()
        )
        new = [k for k in self.dirty if k not in existing]
        if new:
            db.session.execute(
                sa.insert(SerialCounter),
                [{"type_id": t, "year": y, "last": self.last[(t, y)]} for t, y in new],
            )
        for type_id, year in self.dirty - set(new):
            db.session.execute(
                sa.update(SerialCounter)
                .where(SerialCounter.type_id == type_id, SerialCounter.year == year)
                .values(last=self.last[(type_id, year)])
                .execution_options(synchronize_session=False)
            )
        self.dirty.clear()


@dataclass
class _Award:
    """One certificate to write: with a programme completion unless an override, and maybe
    revoked or superseded by a reissue."""

    type_id: int
    cycle: int
    issued_at: datetime
    valid_from: date
    expires_on: date | None
    completed: bool
    code: str
    salt: str
    revoked: bool = False
    reissued_at: datetime | None = None
    reissue_code: str = ""
    reissue_salt: str = ""


def _awards(rng: random.Random, types: _Types, today: date, *, paper: bool) -> list[_Award]:
    """What one person holds: issue dates spread over 2022 to today. ``paper``: their
    talent-pool certificate was entered with an override (an old paper one)."""
    awards: list[_Award] = []

    def award(ctype: CertificateType, cycle: int, day: date, *, override: bool = False) -> None:
        issued = _moment(day, rng)
        item = _Award(
            ctype.id,
            cycle,
            issued,
            day,
            issuing.expiry_for(ctype, day),
            not override,
            _code(rng),
            f"{rng.getrandbits(128):032x}",
        )
        roll = rng.random()
        if roll < 0.02:
            item.revoked = True
        elif roll < 0.03 and (today - day).days > 30:
            item.reissued_at = _moment(_day(rng, day + timedelta(days=14), today), rng)
            item.reissue_code = _code(rng)
            item.reissue_salt = f"{rng.getrandbits(128):032x}"
        awards.append(item)

    if types.talent is not None and (rng.random() < 0.85 or paper):
        first = _day(rng, date(2022, 1, 4), today)
        award(types.talent, 0, first, override=paper)
        if types.lead is not None and rng.random() < 0.10 and (today - first).days > 120:
            award(types.lead, 0, _day(rng, first + timedelta(days=120), today))
    if types.annual is not None:
        for year in CE_YEARS:
            if year <= today.year and rng.random() < 0.30:
                end = min(date(year, 12, 31), today)
                award(types.annual, year, _day(rng, date(year, 1, 15), end))
    return awards


@dataclass
class _Run:
    """What every chunk of one :func:`generate` call shares."""

    seed: int
    settings: list[tuple[int, int, str]]  # (organisation id, district id, kind)
    types: _Types
    by_id: dict[int, CertificateType]
    snapshots: dict[int, dict[str, Any]]  # what issuing copies into ``details``, per type
    partners: dict[int, int | None]  # the university partner of each type's programme
    serials: _Serials
    password_hash: str  # one hash for everyone: hashing is slow on purpose
    today: date  # the last day of issue: yesterday, so that no issue time is in the future


def generate(n: int, *, seed: int = 2026, progress: Progress | None = None) -> dict[str, int]:
    """Bring the synthetic population up to ``n`` people; return the counts added by table
    (see the module docstring). Commits once per chunk of people."""
    types = _types()
    if not types.all():
        raise ValidationError(
            _("Import the courses and programmes first (lms courses import courses).")
        )
    settings, new_settings = _settings(n, seed)
    counts = {
        "organisations": new_settings,
        "users": 0,
        "role_assignments": 0,
        "programme_completions": 0,
        "certificates": 0,
    }
    have = _count(sa.select(User.id).where(User.email.endswith(f"@{EMAIL_DOMAIN}")))
    if have >= n:
        return counts
    run = _Run(
        seed=seed,
        settings=settings,
        types=types,
        by_id={t.id: t for t in types.all()},
        snapshots={t.id: issuing.snapshot(t, None) for t in types.all()},
        partners={t.id: p.id if (p := issuing.programme_partner(t)) else None for t in types.all()},
        serials=_Serials(types.all()),
        password_hash=hash_password(PASSWORD),
        today=issuing.local_today() - timedelta(days=1),
    )
    for start in range(have, n, PEOPLE_PER_CHUNK):
        stop = min(n, start + PEOPLE_PER_CHUNK)
        added = _chunk(run, range(start, stop))
        for what, k in added.items():
            counts[what] += k
        if progress is not None:
            progress(stop, n)
    return counts


def _chunk(run: _Run, people: range) -> dict[str, int]:
    """Write one chunk of people with their completions and certificates, and commit."""
    now = utcnow()
    users, plans, kinds = [], [], []
    for i in people:
        rng = _rng(run.seed, "person", i)
        name = rng.choice(SURNAMES) + "".join(rng.choices(GIVEN, k=rng.choice((1, 2, 2, 2))))
        employer_id, district_id, kind = run.settings[int(rng.random() * len(run.settings))]
        kinds.append((district_id, kind))
        users.append(
            {
                "email": f"scale.{i}@{EMAIL_DOMAIN}",
                "name": name,
                "phone": f"{PHONE_PREFIXES[i % 10]}{i // 10:08d}",
                "employer_id": employer_id,
                "district_id": district_id,
                "active": True,
                "password_hash": run.password_hash,
                "created_at": now,
                "updated_at": now,
            }
        )
        plans.append((name, _awards(rng, run.types, run.today, paper=i % 100 == 50)))
    user_ids = db.session.scalars(
        sa.insert(User).returning(User.id, sort_by_parameter_order=True), users
    ).all()
    db.session.execute(
        sa.insert(RoleAssignment),
        [{"user_id": uid, "role": Role.TRAINEE.value} for uid in user_ids],
    )

    programme_of = {t.id: t.programme_id for t in run.by_id.values()}
    completions = [
        {
            "user_id": uid,
            "programme_id": programme_of[a.type_id],
            "cycle": a.cycle,
            "completed_at": a.issued_at - timedelta(days=1),
            "evidence": {},
        }
        for uid, (_name, awards) in zip(user_ids, plans, strict=True)
        for a in awards
        if a.completed
    ]
    completion_ids = iter(
        db.session.scalars(
            sa.insert(ProgrammeCompletion).returning(
                ProgrammeCompletion.id, sort_by_parameter_order=True
            ),
            completions,
        ).all()
        if completions
        else ()
    )

    certificates, reissues = [], []
    for uid, (name, awards), (district_id, kind) in zip(user_ids, plans, kinds, strict=True):
        for a in awards:
            completion_id = next(completion_ids) if a.completed else None
            details = {
                **run.snapshots[a.type_id],
                "completed_on": (a.issued_at - timedelta(days=1)).date().isoformat()
                if a.completed
                else None,
            }
            row = {
                "code": a.code,
                "serial": run.serials.take(a.type_id, a.issued_at.year),
                "type_id": a.type_id,
                "holder_id": uid,
                "completion_id": completion_id,
                "cycle": a.cycle,
                "kind": "issue",
                "issued_at": a.issued_at,
                "valid_from": a.valid_from,
                "expires_on": a.expires_on,
                "holder_name": name,
                "partner_id": run.partners[a.type_id],
                "district_id": district_id,
                "employer_kind": kind,
                "details": details,
                "pdf_sha256": None,
                "identity_salt": a.salt,
                "override_reason": None if a.completed else OVERRIDE_REASONS[uid % 2],
                "revoked_at": None,
                "revoke_reason": None,
                "superseded_at": a.reissued_at,
            }
            if a.revoked:
                revoked_on = min(a.issued_at + timedelta(days=30 + uid % 200), now)
                row["revoked_at"] = revoked_on
                row["revoke_reason"] = REVOKE_REASONS[uid % len(REVOKE_REASONS)]
            certificates.append(row)
            if a.reissued_at is not None:
                reissue = dict(row)
                valid_from = a.reissued_at.date()
                reissue.update(
                    code=a.reissue_code,
                    serial=run.serials.take(a.type_id, a.reissued_at.year),
                    kind="reissue",
                    issued_at=a.reissued_at,
                    valid_from=valid_from,
                    expires_on=issuing.expiry_for(run.by_id[a.type_id], valid_from),
                    identity_salt=a.reissue_salt,
                    superseded_at=None,
                )
                reissues.append(reissue)
    certificate_ids = db.session.scalars(
        sa.insert(Certificate).returning(Certificate.id, sort_by_parameter_order=True),
        certificates,
    ).all()
    if reissues:
        replaced = [
            cid
            for row, cid in zip(certificates, certificate_ids, strict=True)
            if row["superseded_at"] is not None
        ]
        for reissue, cid in zip(reissues, replaced, strict=True):
            reissue["replaces_id"] = cid
        db.session.execute(sa.insert(Certificate), reissues)
    run.serials.save()
    periods.refresh_holders(db.session.connection(), user_ids)
    db.session.commit()
    return {
        "users": len(user_ids),
        "role_assignments": len(user_ids),
        "programme_completions": len(completions),
        "certificates": len(certificates) + len(reissues),
    }
