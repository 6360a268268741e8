"""SQLAlchemy 2 tables. The schema changes only through Alembic migrations (`migrations/`)."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from bot import limits

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class UTCDateTime(sa.TypeDecorator[datetime]):
    """Aware datetimes in, aware UTC datetimes out, on SQLite (which keeps no offset) and on
    PostgreSQL."""

    impl = sa.DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: sa.Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to the database; use aware UTC datetimes")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: sa.Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


class Base(DeclarativeBase):
    metadata = sa.MetaData(naming_convention=NAMING_CONVENTION)
    type_annotation_map = {datetime: UTCDateTime, dict[str, Any]: sa.JSON, list[Any]: sa.JSON}


class SchoolRow(Base):
    __tablename__ = "schools"
    id: Mapped[str] = mapped_column(sa.String(limits.SOURCED_ID), primary_key=True)
    name: Mapped[str] = mapped_column(sa.String(limits.NAME))
    # orgs.csv `identifier` (a BRIN, say): `[schools."…"]` in the configuration may use it.
    identifier: Mapped[str] = mapped_column(sa.String(limits.SOURCED_ID), server_default="")


class PersonRow(Base):
    __tablename__ = "persons"
    id: Mapped[str] = mapped_column(sa.String(limits.SOURCED_ID), primary_key=True)
    role: Mapped[str] = mapped_column(sa.String(20))  # the primary role
    # Every role, comma-separated (a teacher who is also a parent: "guardian,teacher").
    roles: Mapped[str] = mapped_column(sa.String(100), server_default="")
    given_name: Mapped[str] = mapped_column(sa.String(limits.NAME))
    family_name: Mapped[str] = mapped_column(sa.String(limits.NAME))
    middle_name: Mapped[str] = mapped_column(sa.String(limits.NAME), default="")
    birth_date: Mapped[date | None] = mapped_column(sa.Date)
    email: Mapped[str | None] = mapped_column(sa.String(limits.EMAIL))
    street: Mapped[str | None] = mapped_column(sa.String(limits.STREET))
    postal_code: Mapped[str | None] = mapped_column(sa.String(limits.POSTAL_CODE))
    city: Mapped[str | None] = mapped_column(sa.String(limits.CITY))
    preference: Mapped[str] = mapped_column(sa.String(10), default="email")
    language: Mapped[str | None] = mapped_column(sa.String(10))  # NULL: the school's
    preferred_given_name: Mapped[str] = mapped_column(sa.String(limits.NAME), server_default="")
    # The schools (orgs) the person belongs to, comma-separated: whose leadership they are.
    school_ids: Mapped[str] = mapped_column(sa.String(1000), server_default="")
    # contacts.csv `share_with_guardians`: an adult pupil (18+) consents that their guardians
    # receive their announcements and codes.
    share_with_guardians: Mapped[bool] = mapped_column(server_default=sa.false(), default=False)
    # The school account (OneRoster users.csv `username`, e.g. a Microsoft 365 sign-in name).
    username: Mapped[str | None] = mapped_column(sa.String(limits.USERNAME), index=True)


class GuardianshipRow(Base):
    __tablename__ = "guardianships"
    pupil_id: Mapped[str] = mapped_column(
        sa.ForeignKey("persons.id", ondelete="CASCADE"), primary_key=True
    )
    guardian_id: Mapped[str] = mapped_column(
        sa.ForeignKey("persons.id", ondelete="CASCADE"), primary_key=True
    )


class ClassRow(Base):
    __tablename__ = "classes"
    id: Mapped[str] = mapped_column(sa.String(limits.SOURCED_ID), primary_key=True)
    code: Mapped[str] = mapped_column(sa.String(limits.NAME), index=True)
    title: Mapped[str] = mapped_column(sa.String(limits.NAME))
    school_id: Mapped[str] = mapped_column(sa.ForeignKey("schools.id"))


class EnrollmentRow(Base):
    __tablename__ = "enrollments"
    class_id: Mapped[str] = mapped_column(
        sa.ForeignKey("classes.id", ondelete="CASCADE"), primary_key=True
    )
    person_id: Mapped[str] = mapped_column(
        sa.ForeignKey("persons.id", ondelete="CASCADE"), primary_key=True
    )
    role: Mapped[str] = mapped_column(sa.String(20), primary_key=True)
    primary: Mapped[bool] = mapped_column(sa.Boolean, default=False)


class GroupRow(Base):
    __tablename__ = "groups"
    __table_args__ = (sa.UniqueConstraint("platform", "chat_id"),)
    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=True)
    class_id: Mapped[str] = mapped_column(sa.ForeignKey("classes.id"), index=True)
    platform: Mapped[str] = mapped_column(sa.String(20))
    chat_id: Mapped[str] = mapped_column(sa.String(255))
    state: Mapped[str] = mapped_column(sa.String(20))
    created_at: Mapped[datetime]


class GroupMemberRow(Base):
    __tablename__ = "group_members"
    group_id: Mapped[int] = mapped_column(
        sa.ForeignKey("groups.id", ondelete="CASCADE"), primary_key=True
    )
    person_id: Mapped[str] = mapped_column(sa.String(255), primary_key=True)
    account_id: Mapped[str] = mapped_column(sa.String(255))
    state: Mapped[str] = mapped_column(sa.String(20))  # member | left | removed
    updated_at: Mapped[datetime]


class AccountRow(Base):
    __tablename__ = "accounts"
    platform: Mapped[str] = mapped_column(sa.String(20), primary_key=True)
    account_id: Mapped[str] = mapped_column(sa.String(255), primary_key=True)
    person_id: Mapped[str] = mapped_column(
        sa.ForeignKey("persons.id", ondelete="CASCADE"), index=True
    )
    linked_at: Mapped[datetime]


class InviteRow(Base):
    __tablename__ = "invites"
    # `bot.codes.hash_code` of the code; the code itself is never stored.
    code_hash: Mapped[str] = mapped_column(sa.String(64), primary_key=True)
    person_id: Mapped[str] = mapped_column(
        sa.ForeignKey("persons.id", ondelete="CASCADE"), index=True
    )
    created_at: Mapped[datetime]
    expires_at: Mapped[datetime]
    used_at: Mapped[datetime | None]


class AnnouncementRow(Base):
    __tablename__ = "announcements"
    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=True)
    class_id: Mapped[str] = mapped_column(sa.ForeignKey("classes.id"), index=True)
    kind: Mapped[str] = mapped_column(sa.String(40))
    author_id: Mapped[str] = mapped_column(sa.String(255))
    created_at: Mapped[datetime]
    body: Mapped[str] = mapped_column(sa.Text)
    signature: Mapped[str] = mapped_column(sa.String(500))
    date: Mapped[date | None] = mapped_column(sa.Date)
    period: Mapped[str | None] = mapped_column(sa.String(20))
    subject: Mapped[str | None] = mapped_column(sa.String(255))
    text: Mapped[str | None] = mapped_column(sa.Text)
    not_before: Mapped[datetime | None]
    schedule_id: Mapped[int | None]
    # Undo: a withdrawn announcement keeps its row; a correction replaces body and text and
    # counts up `revision` (each revision reaches its recipients once).
    withdrawn_at: Mapped[datetime | None]
    withdrawn_by: Mapped[str | None] = mapped_column(sa.String(255))
    withdraw_reason: Mapped[str | None] = mapped_column(sa.Text)
    corrected_at: Mapped[datetime | None]
    revision: Mapped[int] = mapped_column(server_default="0", default=0)


class DeliveryRow(Base):
    """The outbox: written in the same transaction as its announcement (rule 6)."""

    __tablename__ = "deliveries"
    # One row per pupil per announcement: the database itself refuses a second delivery. A
    # notice has no announcement (NULL, and NULLs are distinct in a unique constraint on SQLite
    # and PostgreSQL): the unique idempotency key keeps it from being added twice.
    __table_args__ = (
        sa.UniqueConstraint("announcement_id", "pupil_id"),
        sa.Index("ix_deliveries_due", "status", "due_at"),
        # /metrics counts deliveries by status and channel at every scrape: from the index alone.
        sa.Index("ix_deliveries_status_channel", "status", "channel"),
    )
    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=True)
    announcement_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("announcements.id", ondelete="CASCADE")
    )
    pupil_id: Mapped[str] = mapped_column(sa.String(255))
    channel: Mapped[str] = mapped_column(sa.String(20))
    reason: Mapped[str | None] = mapped_column(sa.String(40))
    status: Mapped[str] = mapped_column(sa.String(20))
    recipients: Mapped[list[Any]] = mapped_column(sa.JSON, default=list)
    group_id: Mapped[int | None]
    attempts: Mapped[int] = mapped_column(default=0)
    channel_attempts: Mapped[int] = mapped_column(default=0)  # on the current channel
    last_error: Mapped[str | None] = mapped_column(sa.Text)
    idempotency_key: Mapped[str] = mapped_column(sa.String(100), unique=True)
    due_at: Mapped[datetime]
    claimed_until: Mapped[datetime | None]
    # The claim that holds the row: outcomes are recorded only by the worker whose claim it is.
    claim_token: Mapped[str | None] = mapped_column(sa.String(32))
    sent_at: Mapped[datetime | None]
    external_id: Mapped[str | None] = mapped_column(sa.String(255))
    letter_key: Mapped[str | None] = mapped_column(sa.String(255), index=True)
    # A notice (`bot.notices.Notice.to_json()`) for rows that carry no announcement.
    notice: Mapped[dict[str, Any] | None] = mapped_column(sa.JSON(none_as_null=True))


class LetterRow(Base):
    """A printed letter for one household and day; `sent` only once the office marks it posted."""

    __tablename__ = "letters"
    key: Mapped[str] = mapped_column(sa.String(255), primary_key=True)
    recipient_name: Mapped[str] = mapped_column(sa.String(255))
    address: Mapped[str] = mapped_column(sa.String(500))
    path: Mapped[str] = mapped_column(sa.String(1000))
    created_at: Mapped[datetime]
    posted_at: Mapped[datetime | None]


class LetterItemRow(Base):
    """Which deliveries a letter carries; a delivery to two households is in two letters."""

    __tablename__ = "letter_items"
    letter_key: Mapped[str] = mapped_column(
        sa.ForeignKey("letters.key", ondelete="CASCADE"), primary_key=True
    )
    delivery_id: Mapped[int] = mapped_column(
        sa.ForeignKey("deliveries.id", ondelete="CASCADE"), primary_key=True, index=True
    )


class AuditEventRow(Base):
    __tablename__ = "audit_events"
    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=True)
    at: Mapped[datetime] = mapped_column(index=True)
    kind: Mapped[str] = mapped_column(sa.String(40))
    actor_id: Mapped[str | None] = mapped_column(sa.String(255))
    details: Mapped[dict[str, Any]] = mapped_column(sa.JSON, default=dict)


class AuditPersonRow(Base):
    __tablename__ = "audit_persons"
    event_id: Mapped[int] = mapped_column(
        sa.ForeignKey("audit_events.id", ondelete="CASCADE"), primary_key=True
    )
    person_id: Mapped[str] = mapped_column(sa.String(255), primary_key=True, index=True)


class AuditClassRow(Base):
    """The classes an audit event concerns (a report from a class, an announcement to it)."""

    __tablename__ = "audit_classes"
    event_id: Mapped[int] = mapped_column(
        sa.ForeignKey("audit_events.id", ondelete="CASCADE"), primary_key=True
    )
    class_id: Mapped[str] = mapped_column(sa.String(255), primary_key=True, index=True)


class ReportRow(Base):
    """A report (A.9) or an escalation (B.3) and what became of it (`bot.domain.Report`)."""

    __tablename__ = "reports"
    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=True)
    kind: Mapped[str] = mapped_column(sa.String(20))
    # NULL once the reporter is erased (the report itself is the school's to keep).
    reporter_id: Mapped[str | None] = mapped_column(sa.String(255), index=True)
    created_at: Mapped[datetime]
    text: Mapped[str] = mapped_column(sa.Text)
    school_id: Mapped[str | None] = mapped_column(sa.String(255))
    class_ids: Mapped[list[Any]] = mapped_column(sa.JSON, default=list)
    group_id: Mapped[int | None]
    platform: Mapped[str | None] = mapped_column(sa.String(20))
    forwarded_to: Mapped[list[Any]] = mapped_column(sa.JSON, default=list)
    state: Mapped[str] = mapped_column(sa.String(10), index=True, default="open")
    closed_at: Mapped[datetime | None]
    closed_by: Mapped[str | None] = mapped_column(sa.String(255))
    close_note: Mapped[str | None] = mapped_column(sa.Text)


class PlatformStateRow(Base):
    """Small per-platform state that must survive a restart (e.g. a sync token)."""

    __tablename__ = "platform_state"
    platform: Mapped[str] = mapped_column(sa.String(20), primary_key=True)
    key: Mapped[str] = mapped_column(sa.String(100), primary_key=True)
    value: Mapped[str] = mapped_column(sa.Text)


class ScheduleRow(Base):
    """A mentor's scheduled reminder (`bot.domain.Schedule`)."""

    __tablename__ = "schedules"
    __table_args__ = (sa.Index("ix_schedules_due", "active", "next_run"),)
    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=True)
    class_id: Mapped[str] = mapped_column(sa.ForeignKey("classes.id"), index=True)
    author_id: Mapped[str] = mapped_column(sa.String(limits.SOURCED_ID))
    kind: Mapped[str] = mapped_column(sa.String(40))
    text: Mapped[str] = mapped_column(sa.Text)
    when: Mapped[str] = mapped_column(sa.String(200))
    rule: Mapped[str | None] = mapped_column(sa.String(500))
    # The first occurrence as local wall-clock time, `YYYY-MM-DDTHH:MM` in `timezone`.
    start: Mapped[str] = mapped_column(sa.String(32))
    timezone: Mapped[str] = mapped_column(sa.String(64))
    until: Mapped[date | None] = mapped_column(sa.Date)
    exceptions: Mapped[list[Any]] = mapped_column(default=list)
    created_at: Mapped[datetime]
    next_run: Mapped[datetime | None]
    # Not cancelled and something left to fire: what the firer scans (with next_run).
    active: Mapped[bool] = mapped_column(default=True)
    cancelled_at: Mapped[datetime | None]
    cancelled_by: Mapped[str | None] = mapped_column(sa.String(limits.SOURCED_ID))


class FiringRow(Base):
    """One occurrence of a schedule that came due; the key makes it fire at most once."""

    __tablename__ = "schedule_firings"
    schedule_id: Mapped[int] = mapped_column(
        sa.ForeignKey("schedules.id", ondelete="CASCADE"), primary_key=True
    )
    occurrence: Mapped[datetime] = mapped_column(primary_key=True)
    outcome: Mapped[str] = mapped_column(sa.String(20))
    recorded_at: Mapped[datetime]
    announcement_id: Mapped[int | None]
    detail: Mapped[str | None] = mapped_column(sa.Text)


class HolidayRow(Base):
    """A school holiday period (whole local days, `end` inclusive)."""

    __tablename__ = "holidays"
    __table_args__ = (sa.UniqueConstraint("start", "end", "name", name="uq_holidays_period"),)
    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=True)
    start: Mapped[date] = mapped_column(sa.Date)
    end: Mapped[date] = mapped_column(sa.Date)
    name: Mapped[str] = mapped_column(sa.String(limits.NAME))
    source: Mapped[str] = mapped_column(sa.String(255))
