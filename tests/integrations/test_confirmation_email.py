"""The confirmation email reaches a local SMTP server (aiosmtpd) with the .ics attached."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from email import message_from_bytes, policy
from email.message import EmailMessage
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, Envelope, Session
from icalendar import Calendar

from domain.invites import DeliveryState
from integrations.confirmation_email import ConfirmationEmailTarget, SmtpConfig
from integrations.dispatcher import InviteDispatcher
from tests.integrations import builders
from tests.integrations.fakes import FakeClock, InMemoryInviteRepository, credentials_rejected


class Inbox:
    """An aiosmtpd handler that keeps what it receives."""

    def __init__(self) -> None:
        self.messages: list[tuple[Envelope, EmailMessage]] = []

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        content: Any = envelope.content
        self.messages.append((envelope, message_from_bytes(content, policy=policy.default)))  # type: ignore[arg-type]
        return "250 Message accepted for delivery"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
def smtp_server() -> Iterator[tuple[Inbox, int]]:
    inbox = Inbox()
    port = _free_port()
    controller = Controller(inbox, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield inbox, port
    finally:
        controller.stop()


def _ics_part(message: EmailMessage) -> Any:
    [part] = [p for p in message.iter_attachments() if p.get_content_type() == "text/calendar"]
    return part


async def test_confirmation_arrives_with_ics_attached(smtp_server: tuple[Inbox, int]) -> None:
    inbox, port = smtp_server
    target = ConfirmationEmailTarget(SmtpConfig(host="127.0.0.1", port=port, sender="bookings@shop.example"))
    dispatcher = InviteDispatcher([target], InMemoryInviteRepository(), clock=FakeClock())
    inv = builders.invite()

    [delivery] = await dispatcher.dispatch(inv)

    assert delivery.state is DeliveryState.SENT
    [(envelope, message)] = inbox.messages
    assert envelope.rcpt_tos == ["jo@customer.example"]
    assert envelope.mail_from == "bookings@shop.example"
    assert message["Subject"] == "Confirmed: Engine repair — vehicle V001"
    assert delivery.provider_event_id == message["Message-ID"]
    part = _ics_part(message)
    assert part.get_param("method") == "REQUEST"
    assert part.get_filename() == "appointment.ics"
    cal = Calendar.from_ical(part.get_content())
    assert cal["METHOD"] == "REQUEST"
    [event] = cal.events
    assert event["UID"] == inv.uid and event.start == inv.start and event.end == inv.end
    assert "Monday 02 February 2026, 09:00" in message.get_body(("plain",)).get_content()  # type: ignore[union-attr]


async def test_confirmation_carries_the_customers_link(smtp_server: tuple[Inbox, int]) -> None:
    inbox, port = smtp_server
    asked: list[str] = []

    async def manage_link(appointment_id: str) -> str:
        asked.append(appointment_id)
        return f"https://shop.example/api/v1/appointments/{appointment_id}?token=ml_1.secret"

    target = ConfirmationEmailTarget(SmtpConfig(host="127.0.0.1", port=port), manage_link)
    dispatcher = InviteDispatcher([target], InMemoryInviteRepository(), clock=FakeClock())
    inv = builders.invite()

    await dispatcher.dispatch(inv)
    await dispatcher.dispatch(builders.cancelled(inv))

    confirmed, cancelled = (m.get_body(("plain",)).get_content() for _, m in inbox.messages)  # type: ignore[union-attr]
    assert f"/api/v1/appointments/{inv.appointment_id}?token=ml_1.secret" in confirmed
    assert "token=" not in cancelled
    assert asked == [inv.appointment_id]


async def test_cancellation_email_carries_method_cancel(smtp_server: tuple[Inbox, int]) -> None:
    inbox, port = smtp_server
    target = ConfirmationEmailTarget(SmtpConfig(host="127.0.0.1", port=port))
    dispatcher = InviteDispatcher([target], InMemoryInviteRepository(), clock=FakeClock())
    inv = builders.invite()
    await dispatcher.dispatch(inv)
    await dispatcher.dispatch(inv)  # a duplicate event sends nothing more

    await dispatcher.dispatch(builders.cancelled(inv))

    assert [m["Subject"].split(":")[0] for _, m in inbox.messages] == ["Confirmed", "Cancelled"]
    part = _ics_part(inbox.messages[-1][1])
    assert part.get_param("method") == "CANCEL"
    assert Calendar.from_ical(part.get_content()).events[0]["STATUS"] == "CANCELLED"


async def test_no_email_when_customer_has_no_address(smtp_server: tuple[Inbox, int]) -> None:
    inbox, port = smtp_server
    target = ConfirmationEmailTarget(SmtpConfig(host="127.0.0.1", port=port))
    dispatcher = InviteDispatcher([target], InMemoryInviteRepository(), clock=FakeClock())

    assert await dispatcher.dispatch(builders.invite(customer_email=None)) == []
    assert inbox.messages == []


async def test_unreachable_smtp_server_is_a_retried_failure() -> None:
    target = ConfirmationEmailTarget(SmtpConfig(host="127.0.0.1", port=_free_port(), timeout_seconds=5))
    clock = FakeClock()
    dispatcher = InviteDispatcher([target], InMemoryInviteRepository(), clock=clock)

    [delivery] = await dispatcher.dispatch(builders.invite())

    assert delivery.state is DeliveryState.FAILED and not credentials_rejected(delivery)
    assert delivery.next_attempt_at is not None and delivery.next_attempt_at > clock.now
