"""Bodies of ``/api/projects`` and of the key management routes ``/api/admin/keys``."""

from __future__ import annotations

from typing import Annotated

import msgspec


class Project(msgspec.Struct, kw_only=True):
    """A project and its volume; times are RFC 3339 (None when it has no span yet)."""

    name: str
    span_count: int
    trace_count: int
    first_seen: str | None
    last_seen: str | None


class Projects(msgspec.Struct, kw_only=True):
    """Projects sorted by most recent activity."""

    projects: list[Project]


class KeyRequest(msgspec.Struct, kw_only=True, omit_defaults=True):
    """Create an API key for ``project``; ``name`` is a label to tell keys apart."""

    project: str
    name: str = ""


class KeyOut(msgspec.Struct, kw_only=True):
    """An API key as stored (never the key itself)."""

    key_id: str
    project: str
    name: str
    created_at: str
    revoked_at: str | None


class NewKey(KeyOut, kw_only=True):
    """A key just created: ``key`` is shown this once and stored only as a hash."""

    key: str


class KeyList(msgspec.Struct, kw_only=True):
    """Every key, newest first, revoked ones included."""

    keys: list[KeyOut]


TtlDays = Annotated[int, msgspec.Meta(ge=0, le=65535,
                                      description="Days to keep spans; 0 keeps them forever.")]


class RetentionRequest(msgspec.Struct, kw_only=True):
    """Set a project's retention."""

    ttl_days: TtlDays


class ProjectRetention(msgspec.Struct, kw_only=True):
    """A project's retention: ``explicit`` when set for the project, else the default."""

    project: str
    ttl_days: int
    explicit: bool


class RetentionList(msgspec.Struct, kw_only=True):
    """The default retention (``SPYGLASS_DEFAULT_TTL_DAYS``) and every project's own."""

    default_ttl_days: int
    projects: list[ProjectRetention]
