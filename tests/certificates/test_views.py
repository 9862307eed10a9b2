"""The HR pages of certificates: the list and its filters, one certificate, issuing one (with
and without eligibility), revoking, reissuing and renewing through the pages, bulk issue as a
job, the reminders outbox and a trainee's own certificates."""

from __future__ import annotations

import io
import zipfile
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

import sqlalchemy as sa
from flask import Flask
from rq import SimpleWorker

from lms import jobs
from lms.audit.models import AuditEntry
from lms.certificates import bulk, issuing, lifecycle
from lms.certificates.models import Certificate, OutboxMessage
from lms.db import utcnow
from lms.extensions import db
from lms.learning.models import CeEntry, Enrolment, ProgrammeCompletion
from tests.builders import LearningWorld
from tests.conftest import form_errors
from tests.factories import OrganisationFactory, UserFactory


def complete(world: LearningWorld, user_id: int) -> ProgrammeCompletion:
    """A completion of the world's programme for ``user_id``."""
    completion = ProgrammeCompletion(
        user_id=user_id, programme_id=world.programme.id, cycle=0, evidence={}
    )
    db.session.add(completion)
    db.session.flush()
    return completion


def trainee(world: LearningWorld, name: str, *, employer: Any = None) -> Any:
    """A trainee of the world's employer (or ``employer``), enrolled in its cohort."""
    person = UserFactory(roles=["trainee"], name=name, employer=employer or world.employer)
    db.session.flush()
    db.session.add(Enrolment(cohort_id=world.cohort.id, user_id=person.id, enrolled_at=utcnow()))
    db.session.flush()
    return person


def certify(
    world: LearningWorld,
    holder: Any = None,
    *,
    pdf: bool = False,
    now: datetime | None = None,
    actor_id: int | None = None,
) -> Certificate:
    """A certificate of the world's type for ``holder`` (the world's trainee), committed."""
    holder = holder or world.trainee
    complete(world, holder.id)
    certificate = issuing.create_certificate(
        actor_id, holder.id, world.certificate_type.id, now=now
    )
    if pdf:
        issuing.render_and_store([certificate])
    db.session.commit()
    return certificate


def signed_in(client: Any, person: Any) -> Any:
    client.login(person)
    client.use_language("en")
    return client


# The list -----------------------------------------------------------------------------------


def test_the_list_searches_and_filters(
    client: Any, learning_world: LearningWorld, make_user: Any
) -> None:
    world = learning_world
    officer = make_user("hr")
    mine = certify(world, now=datetime(2025, 5, 1, 2, tzinfo=UTC))
    other = certify(world, trainee(world, "李四"))
    revoked = certify(world, trainee(world, "王五"))
    revoked.revoked_at, revoked.revoke_reason = utcnow(), "错误签发"
    db.session.commit()
    signed_in(client, officer)

    def rows(**args: Any) -> set[str]:
        html = client.get("/certificates", query_string=args).get_data(as_text=True)
        return {c.serial for c in (mine, other, revoked) if f'id="certificate-{c.id}"' in html}

    assert rows() == {mine.serial, other.serial, revoked.serial}
    html = client.get("/certificates").get_data(as_text=True)
    # Newest first.
    assert html.index(revoked.serial) < html.index(other.serial) < html.index(mine.serial)
    assert rows(q="李四") == {other.serial}
    assert rows(q=mine.serial.lower()) == {mine.serial}
    assert rows(q=other.code.lower()) == {other.serial}
    assert rows(status="revoked") == {revoked.serial}
    assert rows(status="valid") == {mine.serial, other.serial}
    assert rows(status="expired") == set()
    assert rows(year="2025") == {mine.serial}
    assert rows(type=str(world.certificate_type.id), status="valid", year="2025") == {mine.serial}
    # A value that is not a choice filters nothing.
    assert rows(status="bogus", year="1066") == {mine.serial, other.serial, revoked.serial}


def test_an_expired_or_superseded_certificate_has_that_status(
    client: Any, learning_world: LearningWorld, make_user: Any
) -> None:
    world = learning_world
    old = certify(world, now=utcnow() - timedelta(days=4 * 366))
    replaced = certify(world, trainee(world, "李四"))
    replaced.superseded_at = utcnow()
    db.session.commit()
    signed_in(client, make_user("coordinator"))
    expired = client.get("/certificates?status=expired").get_data(as_text=True)
    superseded = client.get("/certificates?status=superseded").get_data(as_text=True)
    assert old.serial in expired and replaced.serial not in expired
    assert replaced.serial in superseded and old.serial not in superseded


def test_the_list_shows_only_the_people_the_viewer_sees(
    client: Any, learning_world: LearningWorld, make_user: Any
) -> None:
    world = learning_world
    elsewhere = OrganisationFactory(name="另一家育儿园")
    ours = certify(world)
    theirs = certify(world, trainee(world, "外园学员", employer=elsewhere))
    scoped = make_user(("hr", world.employer))
    signed_in(client, scoped)
    html = client.get("/certificates").get_data(as_text=True)
    assert ours.serial in html and theirs.serial not in html
    assert (
        client.get(f"/certificates?q={theirs.code}").get_data(as_text=True).count(theirs.serial)
        == 0
    )


def test_trainees_and_instructors_have_no_list(client: Any, learning_world: LearningWorld) -> None:
    signed_in(client, learning_world.trainee)
    assert client.get("/certificates").status_code == 403
    client.post("/logout")
    signed_in(client, learning_world.instructor)
    assert client.get("/certificates").status_code == 403


def test_the_list_runs_a_fixed_number_of_queries(
    client: Any, learning_world: LearningWorld, make_user: Any, count_queries: Any
) -> None:
    world = learning_world
    signed_in(client, make_user("hr"))
    certify(world)
    with count_queries as few:
        assert client.get("/certificates").status_code == 200
    for i in range(6):
        certify(world, trainee(world, f"学员{i}"))
    with count_queries as many:
        assert client.get("/certificates?status=valid").status_code == 200
    assert many.count == few.count


# One certificate ----------------------------------------------------------------------------


def test_the_page_shows_every_fact(
    client: Any, learning_world: LearningWorld, make_user: Any
) -> None:
    world = learning_world
    officer = make_user("hr", name="人事甲")
    complete(world, world.trainee.id)
    first = issuing.create_certificate(officer.id, world.trainee.id, world.certificate_type.id)
    first.superseded_at = utcnow()
    db.session.flush()
    second = issuing.create_certificate(
        officer.id, world.trainee.id, world.certificate_type.id, kind="reissue", replaces=first
    )
    db.session.commit()
    signed_in(client, officer)
    html = client.get(f"/certificates/{second.id}").get_data(as_text=True)
    assert second.serial in html and second.code in html
    assert f'href="/verify/{second.code}"' in html
    assert f'href="/people/{world.trainee.id}"' in html
    assert world.trainee.name in html and "人事甲" in html
    assert world.certificate_type.title_en in html and "Talent pool" in html
    assert 'id="replaces"' in html and first.serial in html
    assert 'id="certificate-actions"' in html
    assert 'id="renewal-check"' in html
    older = client.get(f"/certificates/{first.id}").get_data(as_text=True)
    assert 'id="replaced-by"' in older and second.serial in older
    assert "Superseded" in older


def test_coordinators_read_but_do_not_act(
    client: Any, learning_world: LearningWorld, make_user: Any
) -> None:
    certificate = certify(learning_world)
    signed_in(client, make_user("coordinator"))
    html = client.get(f"/certificates/{certificate.id}").get_data(as_text=True)
    assert certificate.serial in html and 'id="certificate-actions"' not in html
    for action in ("revoke", "reissue", "renew"):
        response = client.post(f"/certificates/{certificate.id}/{action}", data={})
        assert response.status_code == 403


# Issuing one --------------------------------------------------------------------------------


def test_an_eligible_person_is_found_and_issued(
    client: Any, learning_world: LearningWorld, make_user: Any
) -> None:
    world = learning_world
    complete(world, world.trainee.id)
    officer = make_user("hr")
    signed_in(client, officer)
    found = client.get("/certificates/issue", query_string={"q": "张小明"}).get_data(as_text=True)
    assert f"holder={world.trainee.id}" in found
    page = client.get(
        "/certificates/issue",
        query_string={"holder": world.trainee.id, "type": world.certificate_type.id},
    ).get_data(as_text=True)
    assert 'id="eligible"' in page and 'id="issue-button"' in page

    response = client.post(
        "/certificates/issue",
        data={"holder_id": world.trainee.id, "type_id": world.certificate_type.id},
    )

    certificate = db.session.scalar(sa.select(Certificate))
    assert response.status_code == 302
    assert response.headers["Location"].endswith(f"/certificates/{certificate.id}")
    assert certificate.holder_id == world.trainee.id and certificate.issued_by_id == officer.id
    assert certificate.override_reason is None and certificate.pdf_sha256
    assert issuing.pdf_path(certificate).is_file()
    # Now they hold one: the page says so and offers no second.
    again = client.get(
        "/certificates/issue",
        query_string={"holder": world.trainee.id, "type": world.certificate_type.id},
    ).get_data(as_text=True)
    assert 'id="not-eligible"' in again and 'id="issue-form"' not in again
    assert certificate.serial in again


def test_issuing_without_eligibility_needs_a_written_reason(
    client: Any, learning_world: LearningWorld, make_user: Any
) -> None:
    world = learning_world
    officer = make_user("hr")
    signed_in(client, officer)
    page = client.get(
        "/certificates/issue",
        query_string={"holder": world.trainee.id, "type": world.certificate_type.id},
    ).get_data(as_text=True)
    assert 'id="not-eligible"' in page and 'id="issue-anyway"' in page
    data = {"holder_id": world.trainee.id, "type_id": world.certificate_type.id}

    refused = client.post("/certificates/issue", data={**data, "override_reason": "  "})

    assert refused.status_code == 422
    assert any("reason" in message for message in form_errors(refused.get_data(as_text=True)))
    assert 'id="override_reason-error"' in refused.get_data(as_text=True)
    assert db.session.scalar(sa.select(sa.func.count(Certificate.id))) == 0

    response = client.post("/certificates/issue", data={**data, "override_reason": "外省资格互认"})

    certificate = db.session.scalar(sa.select(Certificate))
    assert response.status_code == 302
    assert certificate.override_reason == "外省资格互认"
    entry = db.session.scalar(
        sa.select(AuditEntry).where(
            AuditEntry.action == "certificate.issued", AuditEntry.entity_id == certificate.id
        )
    )
    assert entry.actor_id == officer.id and entry.reason == "外省资格互认"
    detail = client.get(f"/certificates/{certificate.id}").get_data(as_text=True)
    assert 'id="override-reason"' in detail and "外省资格互认" in detail


def test_issuing_to_someone_out_of_scope_is_not_found(
    client: Any, learning_world: LearningWorld, make_user: Any
) -> None:
    world = learning_world
    stranger = trainee(world, "外园学员", employer=OrganisationFactory())
    complete(world, stranger.id)
    db.session.commit()
    signed_in(client, make_user(("hr", world.employer)))
    query = {"holder": stranger.id, "type": world.certificate_type.id}
    assert client.get("/certificates/issue", query_string=query).status_code == 404
    data = {"holder_id": stranger.id, "type_id": world.certificate_type.id}
    assert client.post("/certificates/issue", data=data).status_code == 404
    assert db.session.scalar(sa.select(sa.func.count(Certificate.id))) == 0


# The life cycle through the pages -----------------------------------------------------------


def test_revoking_needs_a_reason_and_is_shown(
    client: Any, learning_world: LearningWorld, make_user: Any
) -> None:
    certificate = certify(learning_world)
    officer = make_user("hr")
    signed_in(client, officer)

    refused = client.post(f"/certificates/{certificate.id}/revoke", data={"revoke-reason": ""})

    assert refused.status_code == 422
    assert 'id="revoke-reason-error"' in refused.get_data(as_text=True)
    db.session.expire_all()
    assert certificate.revoked_at is None

    response = client.post(
        f"/certificates/{certificate.id}/revoke", data={"revoke-reason": "资格材料造假"}
    )

    assert response.status_code == 302
    db.session.expire_all()
    assert certificate.revoke_reason == "资格材料造假" and certificate.revoked_by_id == officer.id
    html = client.get(f"/certificates/{certificate.id}").get_data(as_text=True)
    assert 'id="revocation"' in html and "资格材料造假" in html
    assert db.session.scalar(
        sa.select(AuditEntry.id).where(
            AuditEntry.action == "certificate.revoked", AuditEntry.entity_id == certificate.id
        )
    )


def test_reissuing_supersedes_and_links_the_new_certificate(
    client: Any, learning_world: LearningWorld, make_user: Any
) -> None:
    world = learning_world
    certificate = certify(world)
    world.trainee.name = "张晓明"
    db.session.commit()
    signed_in(client, make_user("hr"))

    response = client.post(
        f"/certificates/{certificate.id}/reissue", data={"reissue-reason": "姓名更正"}
    )

    db.session.expire_all()
    new = db.session.scalar(sa.select(Certificate).where(Certificate.replaces_id == certificate.id))
    assert response.status_code == 302
    assert response.headers["Location"].endswith(f"/certificates/{new.id}")
    assert new.holder_name == "张晓明" and certificate.superseded_at is not None
    html = client.get(f"/certificates/{new.id}").get_data(as_text=True)
    assert 'id="replaces"' in html and certificate.serial in html
    assert db.session.scalar(
        sa.select(AuditEntry.id).where(AuditEntry.action == "certificate.reissued")
    )


def test_renewal_shows_the_check_and_renews_when_met(
    client: Any, learning_world: LearningWorld, make_user: Any
) -> None:
    world = learning_world
    # Issued three years ago less a month: it expires within the renewal window.
    certificate = certify(world, now=utcnow() - timedelta(days=3 * 365 - 30))
    signed_in(client, make_user("hr"))
    page = client.get(f"/certificates/{certificate.id}").get_data(as_text=True)
    assert 'id="renewal-hours"' in page and "24" in page

    refused = client.post(f"/certificates/{certificate.id}/renew", data={})

    assert refused.status_code == 422
    assert "CE hours" in refused.get_data(as_text=True)
    today = date.today()
    db.session.add(
        CeEntry(
            user_id=world.trainee.id,
            cycle=today.year,
            hours=Decimal(24),
            kind="external",
            title="外部培训",
            occurred_on=today,
        )
    )
    db.session.commit()

    response = client.post(f"/certificates/{certificate.id}/renew", data={})

    db.session.expire_all()
    new = db.session.scalar(sa.select(Certificate).where(Certificate.replaces_id == certificate.id))
    assert response.status_code == 302 and new is not None and new.kind == "renewal"
    assert response.headers["Location"].endswith(f"/certificates/{new.id}")


# Bulk issue ---------------------------------------------------------------------------------


def run_bulk_jobs(app: Flask) -> None:
    """With Redis, work the "bulk" queue here as `lms worker` would (without Redis the job
    has run when it was queued)."""
    if app.config.get("REDIS_URL"):
        SimpleWorker([jobs.get_queue(bulk.QUEUE)], connection=jobs.redis_connection()).work(
            burst=True
        )


def test_bulk_counts_starts_the_job_and_shows_the_result(
    app: Flask, client: Any, learning_world: LearningWorld, make_user: Any
) -> None:
    world = learning_world
    complete(world, world.trainee.id)
    complete(world, trainee(world, "李四").id)
    trainee(world, "赵六")  # enrolled, not completed
    officer = make_user("hr")
    signed_in(client, officer)
    query = {"type_id": world.certificate_type.id, "cohort_id": world.cohort.id}
    page = client.get("/certificates/bulk", query_string=query).get_data(as_text=True)
    assert 'id="eligible-count"' in page and "2 people are eligible now." in page

    response = client.post("/certificates/bulk", data=query)

    assert response.status_code == 302
    job = db.session.scalar(sa.select(jobs.Job).where(jobs.Job.kind == bulk.JOB_KIND))
    assert response.headers["Location"].endswith(f"/certificates/bulk?job={job.id}")
    run_bulk_jobs(app)
    db.session.expire_all()
    html = client.get(f"/certificates/bulk?job={job.id}").get_data(as_text=True)
    assert 'id="bulk-summary"' in html and "赵六" in html
    assert f'href="/certificates/bulk/{job.id}.zip"' in html
    download = client.get(f"/certificates/bulk/{job.id}.zip")
    assert download.status_code == 200
    assert download.headers["X-Content-Type-Options"] == "nosniff"
    with zipfile.ZipFile(io.BytesIO(download.data)) as archive:
        assert len(archive.namelist()) == 2
    assert db.session.scalar(sa.select(sa.func.count(Certificate.id))) == 2

    # Another HR officer sees neither the job nor its ZIP.
    client.post("/logout")
    signed_in(client, make_user("hr"))
    assert client.get(f"/certificates/bulk?job={job.id}").status_code == 404
    assert client.get(f"/certificates/bulk/{job.id}.zip").status_code == 404


def test_bulk_needs_a_type(client: Any, learning_world: LearningWorld, make_user: Any) -> None:
    signed_in(client, make_user("hr"))
    assert client.get("/certificates/bulk").status_code == 200
    response = client.post("/certificates/bulk", data={"type_id": ""})
    assert response.status_code == 422
    assert db.session.scalar(sa.select(sa.func.count(jobs.Job.id))) == 0


# Outbox and a trainee's own -----------------------------------------------------------------


def test_the_outbox_queues_and_lists_reminders(
    client: Any, learning_world: LearningWorld, make_user: Any
) -> None:
    world = learning_world
    expiring = certify(world, now=utcnow() - timedelta(days=3 * 365 - 30))
    signed_in(client, make_user("hr"))
    assert 'id="no-messages"' in client.get("/certificates/outbox").get_data(as_text=True)

    response = client.post("/certificates/outbox", data={}, follow_redirects=True)

    html = response.get_data(as_text=True)
    message = db.session.scalar(sa.select(OutboxMessage))
    assert message.certificate_id == expiring.id
    assert "1 reminder queued." in html and f'id="message-{message.id}"' in html
    assert 'id="no-messages"' not in html


def test_a_trainee_sees_their_own_certificates(client: Any, learning_world: LearningWorld) -> None:
    world = learning_world
    own = certify(world, pdf=True)
    other = certify(world, trainee(world, "李四"))
    signed_in(client, world.trainee)
    html = client.get("/learning/certificates").get_data(as_text=True)
    assert own.serial in html and other.serial not in html
    assert f'href="/certificates/{own.id}/pdf"' in html and "Valid" in html
    detail = client.get(f"/certificates/{own.id}")
    assert detail.status_code == 200
    assert 'id="certificate-actions"' not in detail.get_data(as_text=True)


def test_the_outbox_and_my_certificates_run_a_fixed_number_of_queries(
    client: Any, learning_world: LearningWorld, make_user: Any, count_queries: Any
) -> None:
    world = learning_world
    long_ago = utcnow() - timedelta(days=3 * 365 - 30)
    officer = make_user("hr")
    counts = {}
    for size in (1, 4):
        for i in range(size):
            # The trainee's certificate, superseded by the next one; and someone else's.
            for current in db.session.scalars(
                sa.select(Certificate).where(Certificate.holder_id == world.trainee.id)
            ):
                current.superseded_at = current.superseded_at or utcnow()
            db.session.flush()
            issuing.create_certificate(
                None,
                world.trainee.id,
                world.certificate_type.id,
                override_reason="测试",
                now=long_ago,
            )
            certify(world, trainee(world, f"学员{size}{i}"), now=long_ago)
        lifecycle.queue_expiry_reminders()
        db.session.commit()
        signed_in(client, officer)
        with count_queries as outbox:
            assert client.get("/certificates/outbox").status_code == 200
        client.post("/logout")
        signed_in(client, world.trainee)
        with count_queries as mine:
            assert client.get("/learning/certificates").status_code == 200
        client.post("/logout")
        counts[size] = (outbox.count, mine.count)
    assert counts[1] == counts[4]
