"""Confirmation email to the customer, over SMTP, with the appointment's ``.ics`` attached.

Works as a calendar target so the dispatcher stores, retries and reports it
like the calendar providers: a booking sends a confirmation (``METHOD:REQUEST``),
a reschedule an updated invite, a cancellation a ``METHOD:CANCEL``. The stdlib
``smtplib`` is synchronous, so each message is sent from a worker thread.
"""

from __future__ import annotations

import asyncio
import smtplib
import ssl
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from email.message import EmailMessage
from email.utils import formatdate, make_msgid

from domain.invites import Invite
from integrations.calendar_target import (
    CalendarError,
    CredentialsRejected,
    RequestRejected,
    TransientCalendarError,
)
from integrations.ics import invite_ics


@dataclass(frozen=True, slots=True)
class SmtpConfig:
    """Where and as whom confirmation emails are sent."""

    host: str
    port: int = 25
    sender: str = "scheduling@localhost"
    username: str | None = None
    password: str | None = None
    starttls: bool = False
    timeout_seconds: float = 30.0


ManageLink = Callable[[str], Awaitable[str | None]]
"""An appointment id → the customer's link to read, reschedule or cancel it (None: none can be made)."""


def confirmation_message(
    invite: Invite, sender: str, *, update: bool = False, manage_url: str | None = None
) -> EmailMessage:
    """The email for an invite: a short text (with the customer's link, if any) and the ``.ics``."""
    if not invite.customer_email:
        raise ValueError("the customer has no email address")
    local = invite.start.strftime("%A %d %B %Y, %H:%M")
    if invite.cancelled:
        subject, opening = f"Cancelled: {invite.summary}", "Your appointment has been cancelled."
    elif update:
        subject, opening = f"Rescheduled: {invite.summary}", "Your appointment has a new time."
    else:
        subject, opening = f"Confirmed: {invite.summary}", "Your appointment is booked."
    method = "CANCEL" if invite.cancelled else "REQUEST"
    message = EmailMessage()
    message["Subject"] = subject
    message["From"] = sender
    message["To"] = invite.customer_email
    message["Date"] = formatdate(localtime=False)
    message["Message-ID"] = make_msgid(domain=sender.rpartition("@")[2] or None)
    greeting = f"Hello {invite.customer_name}," if invite.customer_name else "Hello,"
    manage = f"To see, reschedule or cancel it: {manage_url}\n\n" if manage_url and not invite.cancelled else ""
    message.set_content(
        f"{greeting}\n\n{opening}\n\n{invite.summary}\n{local} ({invite.timezone})\n{invite.location}\n\n"
        f"{manage}The attached calendar file adds it to your calendar.\n"
    )
    message.add_attachment(
        invite_ics(invite, organizer_email=sender).decode(),
        subtype="calendar",
        params={"method": method},
        filename="appointment.ics",
    )
    return message


def _classify_smtp_error(exc: Exception) -> CalendarError | None:
    if isinstance(exc, smtplib.SMTPAuthenticationError):
        return CredentialsRejected(f"SMTP server refused the login: {exc.smtp_code} {exc.smtp_error!r}")
    if isinstance(exc, smtplib.SMTPRecipientsRefused):
        return RequestRejected(f"SMTP server refused the recipient: {exc.recipients}")
    if isinstance(exc, smtplib.SMTPResponseException):
        detail = f"SMTP server answered {exc.smtp_code} {exc.smtp_error!r}"
        # 4xx replies are temporary by definition (RFC 5321 §4.2.1).
        if 400 <= exc.smtp_code < 500:
            return TransientCalendarError(detail, status=exc.smtp_code)
        return RequestRejected(detail, status=exc.smtp_code)
    if isinstance(exc, smtplib.SMTPException | OSError):
        return TransientCalendarError(f"cannot send through the SMTP server: {exc}")
    return None


class ConfirmationEmailTarget:
    """Emails the customer the appointment's invite; the stored event id is the Message-ID."""

    provider = "email"

    def __init__(self, config: SmtpConfig, manage_link: ManageLink | None = None) -> None:
        self._config = config
        self._manage_link = manage_link

    def accepts(self, invite: Invite) -> bool:
        return bool(invite.customer_email)

    async def create(self, invite: Invite) -> str:
        link = await self._link(invite)
        return await self._send(confirmation_message(invite, self._config.sender, manage_url=link))

    async def update(self, invite: Invite, provider_event_id: str) -> str:
        link = await self._link(invite)
        return await self._send(confirmation_message(invite, self._config.sender, update=True, manage_url=link))

    async def _link(self, invite: Invite) -> str | None:
        """A fresh customer link for the email (a retried email gets another; each lives as long)."""
        return await self._manage_link(invite.appointment_id) if self._manage_link is not None else None

    async def cancel(self, invite: Invite, provider_event_id: str) -> None:
        await self._send(confirmation_message(invite, self._config.sender))

    async def _send(self, message: EmailMessage) -> str:
        return await send_email(self._config, message)


def send_now(config: SmtpConfig, message: EmailMessage) -> None:
    """Hand ``message`` to the SMTP server (blocking: call it from a worker thread)."""
    with smtplib.SMTP(config.host, config.port, timeout=config.timeout_seconds) as smtp:
        if config.starttls:
            smtp.starttls(context=ssl.create_default_context())
        if config.username:
            smtp.login(config.username, config.password or "")
        smtp.send_message(message)


async def send_email(config: SmtpConfig, message: EmailMessage) -> str:
    """Send from a worker thread; SMTP failures as the calendar errors (transient: retry; rejected: do not)."""
    try:
        await asyncio.to_thread(send_now, config, message)
    except Exception as exc:
        error = _classify_smtp_error(exc)
        if error is None:
            raise
        raise error from exc
    return str(message["Message-ID"])
