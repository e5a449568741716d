"""The waitlist offer email reaches a local SMTP server (aiosmtpd) with the accept and decline links."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from aiosmtpd.controller import Controller

from integrations.confirmation_email import SmtpConfig
from integrations.waitlist_offer_email import offer_message, send_offer
from tests.integrations.test_confirmation_email import Inbox, _free_port

DATA: dict[str, Any] = {
    "appointment_id": "a-1",
    "shop_id": "shop_nyc",
    "vehicle_id": "V777",
    "service_type": "routine",
    "technician_name": "Tom",
    "bay_name": "Bay 1",
    "start": "2030-03-02T14:00:00+00:00",
    "customer": {"name": "Ada", "email": "ada@example.com"},
    "offer_id": "o-1",
    "offer_token": "wo_0123456789abcdef.s3cret",
    "offer_expires_at": "2030-03-01T13:45:00+00:00",
}


@pytest.fixture
def mailbox() -> Iterator[tuple[Inbox, int]]:
    inbox, port = Inbox(), _free_port()
    controller = Controller(inbox, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield inbox, port
    finally:
        controller.stop()


async def test_the_offer_arrives_with_both_links_in_the_shops_time(mailbox: tuple[Inbox, int]) -> None:
    inbox, port = mailbox
    config = SmtpConfig(host="127.0.0.1", port=port, sender="bookings@shop.example")

    await send_offer(config, DATA, "https://sched.example", "America/New_York")

    [(envelope, message)] = inbox.messages
    assert envelope.rcpt_tos == ["ada@example.com"]
    body = message.get_body(preferencelist=("plain",))
    assert body is not None
    text = body.get_content()
    assert "https://sched.example/api/v1/waitlist/offers/wo_0123456789abcdef.s3cret/accept" in text
    assert "https://sched.example/api/v1/waitlist/offers/wo_0123456789abcdef.s3cret/decline" in text
    assert "09:00 (America/New_York)" in text and "until 08:45" in text


def test_an_offer_to_a_customer_without_an_address_is_not_an_email() -> None:
    with pytest.raises(ValueError, match="no email"):
        offer_message({**DATA, "customer": {"name": "Ada", "email": None}}, "b@shop.example", "https://x")
