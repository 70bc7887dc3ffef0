"""SQLAlchemy 2 tables of the clinic database (users, clinic records, sessions, audit log).

The schema is created only by the Alembic migrations in ``migrations/``; these classes describe
it for queries. Times are naive UTC ``datetime`` values, dates are calendar dates.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    Date,
    DateTime,
    Float,
    ForeignKey,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

__all__ = [
    "ROLES",
    "ApiToken",
    "AuditEntry",
    "AuditHead",
    "Bar",
    "BarInspection",
    "Base",
    "Clearance",
    "Client",
    "ClientLink",
    "Consent",
    "Intake",
    "LoginThrottle",
    "NoteAddendum",
    "NoteTemplate",
    "PasswordReset",
    "Practitioner",
    "Room",
    "Screening",
    "SoapNote",
    "TreatmentSession",
    "User",
    "WebSession",
]

ROLES: tuple[str, ...] = ("owner", "therapist", "front_desk", "researcher")

_NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=_NAMING)


class User(Base):
    __tablename__ = "users"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    username: Mapped[str] = mapped_column(String(80), unique=True)
    display_name: Mapped[str] = mapped_column(String(200))
    role: Mapped[str] = mapped_column(String(20))
    password_hash: Mapped[str] = mapped_column(String(255))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    failed_logins: Mapped[int] = mapped_column(Integer, default=0)
    locked_until: Mapped[datetime | None] = mapped_column(DateTime, nullable=True)
    created_at: Mapped[datetime] = mapped_column(DateTime)
    # two-step login (TOTP, RFC 6238): the confirmed secret, one being set up, the last time
    # step a code was accepted for (a code works once)
    totp_secret: Mapped[str | None] = mapped_column(String(64), nullable=True)
    totp_pending: Mapped[str | None] = mapped_column(String(64), nullable=True)
    totp_last_step: Mapped[int | None] = mapped_column(Integer, nullable=True)


class WebSession(Base):
    __tablename__ = "web_sessions"
    id: Mapped[str] = mapped_column(String(64), primary_key=True)  # sha256 of the cookie
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    csrf_token: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(DateTime)
    expires_at: Mapped[datetime] = mapped_column(DateTime)
    ip: Mapped[str] = mapped_column(String(64), default="")
    # True between a right password and the code of a two-step login: it opens no page
    code_pending: Mapped[bool] = mapped_column(Boolean, default=False)
    user: Mapped[User] = relationship(lazy="joined")


class ApiToken(Base):
    __tablename__ = "api_tokens"
    id: Mapped[str] = mapped_column(String(64), primary_key=True)  # sha256 of the token
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    created_at: Mapped[datetime] = mapped_column(DateTime)
    expires_at: Mapped[datetime] = mapped_column(DateTime)
    user: Mapped[User] = relationship(lazy="joined")


class LoginThrottle(Base):
    """Failed logins counted per key: ``account:NAME``, ``address:IP`` or ``device:HASH``.

    ``wait_until`` is when the next attempt under this key is looked at again (the back-off of
    ``services/login_guard.py``); a key whose last failure is old enough starts afresh.
    """

    __tablename__ = "login_throttle"
    key: Mapped[str] = mapped_column(String(160), primary_key=True)
    failures: Mapped[int] = mapped_column(Integer, default=0)
    last_failure_at: Mapped[datetime] = mapped_column(DateTime)
    wait_until: Mapped[datetime | None] = mapped_column(DateTime, nullable=True)


class PasswordReset(Base):
    """A one-time password reset link made by the owner (``ashiguard admin reset-link``)."""

    __tablename__ = "password_resets"
    id: Mapped[str] = mapped_column(String(64), primary_key=True)  # sha256 of the link's token
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    created_at: Mapped[datetime] = mapped_column(DateTime)
    expires_at: Mapped[datetime] = mapped_column(DateTime)
    used_at: Mapped[datetime | None] = mapped_column(DateTime, nullable=True)


class Practitioner(Base):
    __tablename__ = "practitioners"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), nullable=True)
    technique: Mapped[str] = mapped_column(String(80), default="ashiatsu")
    certification: Mapped[str] = mapped_column(String(200), default="")  # issuer
    certified_on: Mapped[date | None] = mapped_column(Date, nullable=True)
    certified_until: Mapped[date | None] = mapped_column(Date, nullable=True)
    training_hours: Mapped[float] = mapped_column(Float, default=0.0)
    mass_kg: Mapped[float] = mapped_column(Float)
    active: Mapped[bool] = mapped_column(Boolean, default=True)


class Room(Base):
    __tablename__ = "rooms"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(200), unique=True)
    notes: Mapped[str] = mapped_column(Text, default="")
    bars: Mapped[list[Bar]] = relationship(back_populates="room", order_by="Bar.id")


class Bar(Base):
    __tablename__ = "bars"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    room_id: Mapped[int] = mapped_column(ForeignKey("rooms.id", ondelete="CASCADE"), index=True)
    label: Mapped[str] = mapped_column(String(100))
    rated_load_n: Mapped[float] = mapped_column(Float)
    inspection_interval_days: Mapped[int] = mapped_column(Integer, default=90)
    room: Mapped[Room] = relationship(back_populates="bars")
    inspections: Mapped[list[BarInspection]] = relationship(
        back_populates="bar", order_by="BarInspection.inspected_on"
    )


class BarInspection(Base):
    __tablename__ = "bar_inspections"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    bar_id: Mapped[int] = mapped_column(ForeignKey("bars.id", ondelete="CASCADE"), index=True)
    inspected_on: Mapped[date] = mapped_column(Date)
    inspector: Mapped[str] = mapped_column(String(200))
    passed: Mapped[bool] = mapped_column(Boolean)
    notes: Mapped[str] = mapped_column(Text, default="")
    bar: Mapped[Bar] = relationship(back_populates="inspections")


class Client(Base):
    __tablename__ = "clients"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    ref: Mapped[str] = mapped_column(String(64), unique=True)  # intake client.id
    name: Mapped[str] = mapped_column(String(200), index=True)
    birth_date: Mapped[date | None] = mapped_column(Date, nullable=True)
    sex: Mapped[str] = mapped_column(String(20), default="")
    phone: Mapped[str] = mapped_column(String(50), default="")
    email: Mapped[str] = mapped_column(String(200), default="")
    created_at: Mapped[datetime] = mapped_column(DateTime)


class Intake(Base):
    """One version of a client's intake; an edit adds a version, nothing is overwritten."""

    __tablename__ = "intakes"
    __table_args__ = (UniqueConstraint("client_id", "version"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    client_id: Mapped[int] = mapped_column(ForeignKey("clients.id"), index=True)
    version: Mapped[int] = mapped_column(Integer)
    payload: Mapped[dict[str, Any]] = mapped_column(JSON)
    pain_sites: Mapped[list[str]] = mapped_column(JSON, default=list)  # zone slugs
    created_at: Mapped[datetime] = mapped_column(DateTime)
    created_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"), nullable=True)


class Screening(Base):
    __tablename__ = "screenings"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    client_id: Mapped[int] = mapped_column(ForeignKey("clients.id"), index=True)
    intake_id: Mapped[int] = mapped_column(ForeignKey("intakes.id"), index=True)
    screened_for: Mapped[date] = mapped_column(Date)
    decision: Mapped[str] = mapped_column(String(32))
    rules_version: Mapped[str] = mapped_column(String(100))
    payload: Mapped[dict[str, Any]] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(DateTime)


class Consent(Base):
    """A client's signed consent to barefoot massage, for one intake version."""

    __tablename__ = "consents"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    client_id: Mapped[int] = mapped_column(ForeignKey("clients.id"), index=True)
    intake_id: Mapped[int] = mapped_column(ForeignKey("intakes.id"), index=True)
    form_version: Mapped[str] = mapped_column(String(40))
    typed_name: Mapped[str] = mapped_column(String(200))
    drawing_png: Mapped[bytes | None] = mapped_column(LargeBinary, nullable=True)
    signed_at: Mapped[datetime] = mapped_column(DateTime)
    ip: Mapped[str] = mapped_column(String(64), default="")
    taken_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"), nullable=True)
    mode: Mapped[str] = mapped_column(String(20), default="in_clinic")  # or client_link


class ClientLink(Base):
    """A one-time link on which a client fills the intake and signs the consent alone."""

    __tablename__ = "client_links"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    client_id: Mapped[int] = mapped_column(ForeignKey("clients.id"), index=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)  # SHA-256, hex
    created_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"), nullable=True)
    created_at: Mapped[datetime] = mapped_column(DateTime)
    expires_at: Mapped[datetime] = mapped_column(DateTime)
    used_at: Mapped[datetime | None] = mapped_column(DateTime, nullable=True)


class Clearance(Base):
    """A physician's written clearance of a client for the rules it names, with its letter.

    ``rules`` holds the rule ids of the ``clearance_required`` findings it covers;
    ``letter_path`` is ``uploads/<random>.<ext>`` under the data directory (the type sniffed
    from the content), ``letter_name`` the client's file name kept as text only.
    """

    __tablename__ = "clearances"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    client_id: Mapped[int] = mapped_column(ForeignKey("clients.id"), index=True)
    screening_id: Mapped[int | None] = mapped_column(ForeignKey("screenings.id"), nullable=True)
    physician_name: Mapped[str] = mapped_column(String(200))
    practice: Mapped[str] = mapped_column(String(200))
    contact: Mapped[str] = mapped_column(String(200))
    cleared_on: Mapped[date] = mapped_column(Date)
    valid_until: Mapped[date | None] = mapped_column(Date, nullable=True)
    rules: Mapped[list[str]] = mapped_column(JSON)
    # the facts the physician was shown, for rules covered fact by fact (unknown-code)
    facts: Mapped[dict[str, list[str]]] = mapped_column(JSON, default=dict)
    restrictions: Mapped[str] = mapped_column(Text, default="")
    letter_path: Mapped[str] = mapped_column(String(100))
    letter_type: Mapped[str] = mapped_column(String(40))
    letter_name: Mapped[str] = mapped_column(String(200))
    letter_bytes: Mapped[int] = mapped_column(Integer)
    letter_sha256: Mapped[str] = mapped_column(String(64))
    recorded_at: Mapped[datetime] = mapped_column(DateTime)
    recorded_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"), nullable=True)


class TreatmentSession(Base):
    __tablename__ = "treatment_sessions"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    client_id: Mapped[int] = mapped_column(ForeignKey("clients.id"), index=True)
    practitioner_id: Mapped[int] = mapped_column(ForeignKey("practitioners.id"), index=True)
    room_id: Mapped[int] = mapped_column(ForeignKey("rooms.id"))
    screening_id: Mapped[int] = mapped_column(ForeignKey("screenings.id"))
    status: Mapped[str] = mapped_column(String(20))  # live, ended, signed
    source: Mapped[str] = mapped_column(String(500), default="")
    started_at: Mapped[datetime] = mapped_column(DateTime, index=True)
    ended_at: Mapped[datetime | None] = mapped_column(DateTime, nullable=True)
    recording_path: Mapped[str | None] = mapped_column(String(500), nullable=True)
    recording_meta: Mapped[dict[str, Any] | None] = mapped_column(JSON, nullable=True)
    alerts: Mapped[list[Any] | None] = mapped_column(JSON, nullable=True)
    summary: Mapped[dict[str, Any] | None] = mapped_column(JSON, nullable=True)
    notes: Mapped[str] = mapped_column(Text, default="")
    signed_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"), nullable=True)
    signed_at: Mapped[datetime | None] = mapped_column(DateTime, nullable=True)
    # who signed, as they were then: the name, the credential (certificate, issuer, validity)
    # and the capacity ("therapist": the session's own; "owner": the clinic's owner for them)
    signer_name: Mapped[str | None] = mapped_column(String(200), nullable=True)
    signer_credential: Mapped[str | None] = mapped_column(String(300), nullable=True)
    signed_as: Mapped[str | None] = mapped_column(String(20), nullable=True)
    client: Mapped[Client] = relationship(lazy="joined")
    practitioner: Mapped[Practitioner] = relationship(lazy="joined")
    room: Mapped[Room] = relationship(lazy="joined")


class SoapNote(Base):
    """The SOAP note of a treatment session (at most one). Locked once the session is signed;
    corrections then go to :class:`NoteAddendum`.

    ``objective_measured`` holds the measured facts (one per line) as they stood when the note
    was last saved or signed; ``objective`` is what the therapist added to them. ``areas``:
    zone slugs marked on the body chart; ``pain_before`` / ``pain_after``: pain or tension
    0-10 as the client rates it.
    """

    __tablename__ = "soap_notes"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    session_id: Mapped[int] = mapped_column(
        ForeignKey("treatment_sessions.id", ondelete="CASCADE"), unique=True
    )
    subjective: Mapped[str] = mapped_column(Text, default="")
    objective_measured: Mapped[str] = mapped_column(Text, default="")
    objective: Mapped[str] = mapped_column(Text, default="")
    assessment: Mapped[str] = mapped_column(Text, default="")
    plan: Mapped[str] = mapped_column(Text, default="")
    areas: Mapped[list[str]] = mapped_column(JSON, default=list)
    pain_before: Mapped[int | None] = mapped_column(Integer, nullable=True)
    pain_after: Mapped[int | None] = mapped_column(Integer, nullable=True)
    template_name: Mapped[str] = mapped_column(String(120), default="")
    created_at: Mapped[datetime] = mapped_column(DateTime)
    updated_at: Mapped[datetime] = mapped_column(DateTime)
    updated_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"), nullable=True)


class NoteAddendum(Base):
    """A correction or addition to a signed session's note, signed by its author on saving
    (name, credential and capacity as they stood then). Never changed, never deleted."""

    __tablename__ = "note_addenda"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    session_id: Mapped[int] = mapped_column(
        ForeignKey("treatment_sessions.id", ondelete="CASCADE"), index=True
    )
    text: Mapped[str] = mapped_column(Text)
    author_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), nullable=True)
    author_name: Mapped[str] = mapped_column(String(200))
    author_credential: Mapped[str] = mapped_column(String(300))
    signed_as: Mapped[str] = mapped_column(String(20))
    created_at: Mapped[datetime] = mapped_column(DateTime)


class NoteTemplate(Base):
    """A clinic's named starting text for the Subjective, Assessment and Plan of a note."""

    __tablename__ = "note_templates"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(120), unique=True)
    subjective: Mapped[str] = mapped_column(Text, default="")
    assessment: Mapped[str] = mapped_column(Text, default="")
    plan: Mapped[str] = mapped_column(Text, default="")
    updated_at: Mapped[datetime] = mapped_column(DateTime)


class AuditEntry(Base):
    """Append-only: who did what to which record, when and from where."""

    __tablename__ = "audit_log"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    at: Mapped[datetime] = mapped_column(DateTime, index=True)
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), nullable=True)
    username: Mapped[str] = mapped_column(String(80))
    action: Mapped[str] = mapped_column(String(40), index=True)
    entity: Mapped[str] = mapped_column(String(40))
    entity_id: Mapped[str] = mapped_column(String(64), default="")
    ip: Mapped[str] = mapped_column(String(64), default="")
    detail: Mapped[str] = mapped_column(Text, default="")
    # the hash chain (adapters/db/audit_chain.py): place, the previous entry's hash, this one's
    seq: Mapped[int | None] = mapped_column(Integer, nullable=True, unique=True)
    prev_hash: Mapped[str | None] = mapped_column(String(64), nullable=True)
    hash: Mapped[str | None] = mapped_column(String(64), nullable=True)


class AuditHead(Base):
    """The newest place and hash of the audit chain (one row, id 1; its lock orders writers)."""

    __tablename__ = "audit_head"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    seq: Mapped[int] = mapped_column(Integer)
    last_hash: Mapped[str] = mapped_column(String(64))
