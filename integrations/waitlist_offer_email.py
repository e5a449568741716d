"""The waitlist offer by email: the held time and the two links (accept, decline), over SMTP.

Built from the ``appointment.waitlist.offered`` event alone (it carries the
customer's address, the held time and the token), so the bridge sends it
without reading the database.
"""

from __future__ import annotations

from datetime import datetime
from email.message import EmailMessage
from email.utils import formatdate, make_msgid
from typing import Any
from zoneinfo import ZoneInfo

from integrations.confirmation_email import SmtpConfig, send_email


def offer_message(data: dict[str, Any], sender: str, base_url: str, timezone: str = "UTC") -> EmailMessage:
    """The email for an offer event's ``data``; ``ValueError`` when the customer has no address."""
    email = (data.get("customer") or {}).get("email")
    if not email:
        raise ValueError("the customer has no email address")
    tz = ZoneInfo(timezone)
    start = datetime.fromisoformat(data["start"]).astimezone(tz)
    expires = datetime.fromisoformat(data["offer_expires_at"]).astimezone(tz)
    token = data["offer_token"]
    links = f"{base_url.rstrip('/')}/api/v1/waitlist/offers/{token}"
    name = (data.get("customer") or {}).get("name")
    message = EmailMessage()
    message["Subject"] = f"An earlier slot is free: {start:%A %d %B, %H:%M}"
    message["From"] = sender
    message["To"] = email
    message["Date"] = formatdate(localtime=False)
    message["Message-ID"] = make_msgid(domain=sender.rpartition("@")[2] or None)
    message.set_content(
        f"{'Hello ' + name + ',' if name else 'Hello,'}\n\n"
        f"You are on the waitlist for {data['service_type']} (vehicle {data['vehicle_id']}), and time has freed up:\n"
        f"{start:%A %d %B %Y, %H:%M} ({timezone}) with {data['technician_name']}, {data['bay_name']}.\n\n"
        f"We hold it for you until {expires:%H:%M} ({timezone}).\n"
        f"To book it, send a POST to:   {links}/accept\n"
        f"To pass it on, send a POST to: {links}/decline\n\n"
        "If you do nothing, the offer lapses and the next customer on the list gets it; you stay on the list.\n"
    )
    return message


async def send_offer(config: SmtpConfig, data: dict[str, Any], base_url: str, timezone: str = "UTC") -> str:
    """Email the offer; the Message-ID (SMTP failures as ``integrations.calendar_target`` errors)."""
    return await send_email(config, offer_message(data, config.sender, base_url, timezone))
