"""Request bodies of the lifecycle steps (``deployments.lifecycle_api``)."""

from __future__ import annotations

from pydantic import Field

from deployments.schemas import SupportedDatetime, _In


class StartIn(_In):
    actual_start: SupportedDatetime | None = Field(
        default=None, description="When work began, with its UTC offset (default: now); not in the future."
    )


class CompleteIn(_In):
    actual_start: SupportedDatetime | None = Field(
        default=None, description="When work began (default: as recorded by `/start`)."
    )
    actual_end: SupportedDatetime | None = Field(
        default=None, description="When work ended (default: now); after `actual_start`, not in the future."
    )
    notes: str | None = Field(default=None, max_length=2000, description="Appended to the appointment's notes.")
