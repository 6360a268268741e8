"""Conversions between table rows (`storage.models`) and the core's domain types."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from bot.domain import (
    Address,
    Announcement,
    Channel,
    ContactPreference,
    Delivery,
    DeliveryStatus,
    Group,
    GroupState,
    Invite,
    Kind,
    NewDelivery,
    Person,
    Reason,
    Recipient,
    Role,
    SchoolClass,
)
from bot.notices import notice_from_json
from storage.models import (
    AnnouncementRow,
    ClassRow,
    DeliveryRow,
    GroupRow,
    InviteRow,
    PersonRow,
)


def person_values(p: Person) -> dict[str, Any]:
    """The `persons` columns of a person (guardian links live in `guardianships`)."""
    return {
        "role": p.role.value,
        "roles": roles_value(p.roles),
        "given_name": p.given_name,
        "family_name": p.family_name,
        "middle_name": p.middle_name,
        "birth_date": p.birth_date,
        "email": p.email,
        "street": p.address.street if p.address else None,
        "postal_code": p.address.postal_code if p.address else None,
        "city": p.address.city if p.address else None,
        "preference": p.preference.value,
        "language": p.language,
        "preferred_given_name": p.preferred_given_name,
        "school_ids": ",".join(sorted(set(p.school_ids))),
        "share_with_guardians": p.share_with_guardians,
        "username": p.username,
    }


def roles_value(roles: Iterable[Role]) -> str:
    """The `persons.roles` column: every role, comma-separated, in a stable order."""
    return ",".join(sorted(Role(r).value for r in roles))


def roles_of(value: str) -> frozenset[Role]:
    """`persons.roles` read back; empty (a row from before the column) is the main role alone,
    which `Person` adds itself."""
    return frozenset(Role(v) for v in value.split(",") if v)


def to_person(row: PersonRow, guardian_ids: Iterable[str] = ()) -> Person:
    address = None
    if row.street and row.postal_code and row.city:
        address = Address(row.street, row.postal_code, row.city)
    return Person(
        id=row.id,
        role=Role(row.role),
        roles=roles_of(row.roles or ""),
        given_name=row.given_name,
        family_name=row.family_name,
        middle_name=row.middle_name,
        birth_date=row.birth_date,
        email=row.email,
        address=address,
        preference=ContactPreference(row.preference),
        language=row.language,
        preferred_given_name=row.preferred_given_name or "",
        guardian_ids=tuple(sorted(guardian_ids)),
        school_ids=tuple(s for s in (row.school_ids or "").split(",") if s),
        share_with_guardians=bool(row.share_with_guardians),
        username=row.username,
    )


def to_class(row: ClassRow) -> SchoolClass:
    return SchoolClass(row.id, row.code, row.title, row.school_id)


def to_group(row: GroupRow) -> Group:
    return Group(row.id, row.class_id, row.platform, row.chat_id, GroupState(row.state))


def to_invite(row: InviteRow) -> Invite:
    return Invite(row.code_hash, row.person_id, row.created_at, row.expires_at, row.used_at)


def announcement_row(a: Announcement) -> AnnouncementRow:
    return AnnouncementRow(
        class_id=a.class_id,
        kind=Kind(a.kind).value,
        author_id=a.author_id,
        created_at=a.created_at,
        body=a.body,
        signature=a.signature,
        date=a.date,
        period=a.period,
        subject=a.subject,
        text=a.text,
        not_before=a.not_before,
        schedule_id=a.schedule_id,
        withdrawn_at=a.withdrawn_at,
        withdrawn_by=a.withdrawn_by,
        withdraw_reason=a.withdraw_reason,
        corrected_at=a.corrected_at,
        revision=a.revision,
    )


def to_announcement(row: AnnouncementRow) -> Announcement:
    return Announcement(
        id=row.id,
        class_id=row.class_id,
        kind=Kind(row.kind),
        author_id=row.author_id,
        created_at=row.created_at,
        body=row.body,
        signature=row.signature,
        date=row.date,
        period=row.period,
        subject=row.subject,
        text=row.text,
        not_before=row.not_before,
        schedule_id=row.schedule_id,
        withdrawn_at=row.withdrawn_at,
        withdrawn_by=row.withdrawn_by,
        withdraw_reason=row.withdraw_reason,
        corrected_at=row.corrected_at,
        revision=row.revision or 0,
    )


def recipient_to_json(r: Recipient) -> dict[str, Any]:
    data: dict[str, Any] = {"person": r.person_id, "name": r.name}
    if r.email:
        data["email"] = r.email
    if r.address:
        data["address"] = [r.address.street, r.address.postal_code, r.address.city]
    return data


def recipient_from_json(data: dict[str, Any]) -> Recipient:
    address = Address(*data["address"]) if data.get("address") else None
    return Recipient(data["person"], data["name"], data.get("email"), address)


def new_delivery_values(d: NewDelivery) -> dict[str, Any]:
    """The `deliveries` columns of a row to add (every key present: one bulk insert)."""
    return {
        "announcement_id": d.announcement_id,
        "pupil_id": d.person_id,
        "channel": Channel(d.channel).value,
        "reason": Reason(d.reason).value if d.reason else None,
        "status": DeliveryStatus(d.status).value,
        "recipients": [recipient_to_json(r) for r in d.recipients],
        "group_id": d.group_id,
        "attempts": 0,
        "channel_attempts": 0,
        "idempotency_key": d.idempotency_key,
        "due_at": d.due_at,
        "notice": d.notice.to_json() if d.notice is not None else None,
    }


def to_delivery(row: DeliveryRow) -> Delivery:
    return Delivery(
        id=row.id,
        announcement_id=row.announcement_id,
        pupil_id=row.pupil_id,
        channel=Channel(row.channel),
        reason=Reason(row.reason) if row.reason else None,
        status=DeliveryStatus(row.status),
        recipients=tuple(recipient_from_json(r) for r in row.recipients or []),
        group_id=row.group_id,
        attempts=row.attempts,
        channel_attempts=row.channel_attempts,
        last_error=row.last_error,
        idempotency_key=row.idempotency_key,
        due_at=row.due_at,
        sent_at=row.sent_at,
        external_id=row.external_id,
        notice=notice_from_json(row.notice) if row.notice is not None else None,
        claim=row.claim_token,
        letter_key=row.letter_key,
    )
