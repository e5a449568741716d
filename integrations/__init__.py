"""Calendar invites (Google Calendar, Microsoft Graph, iCalendar, email) and the neighbouring services' clients.

Every appointment change (scheduled, rescheduled, cancelled) becomes an
:class:`~domain.invites.Invite` through one mapping,
:func:`~integrations.invite.invite_for`, and the
:class:`~integrations.dispatcher.InviteDispatcher` brings every enabled
provider in line with it, storing each delivery's state (pending / sent /
failed, provider event id, attempts, last error, next retry) in the
``calendar_invites`` table. A provider that fails never affects the booking:
the delivery is marked failed and retried with exponential backoff.

Configuration (environment variables, read by ``config.settings``); every
provider is optional and is on when its settings are complete:

Google Calendar
    ``GOOGLE_CALENDAR_CREDENTIALS_FILE`` (path of a service-account JSON key)
    or ``GOOGLE_CALENDAR_CREDENTIALS_JSON`` (the key's JSON text). Only the
    scope ``https://www.googleapis.com/auth/calendar.events`` is requested.
    Events go on the calendar whose id is the technician's email, so share
    each technician's calendar with the service account's ``client_email``
    ("Make changes to events"). ``GOOGLE_CALENDAR_API_KEY`` cannot write
    calendars and is not used for invites.

Microsoft Graph (Outlook)
    ``MICROSOFT_GRAPH_TENANT_ID``, ``MICROSOFT_GRAPH_CLIENT_ID`` and
    ``MICROSOFT_GRAPH_CLIENT_SECRET`` of an Entra ID app registration with the
    *application* permission ``Calendars.ReadWrite`` (admin consent). Events go
    to ``/users/{technician email}/events``. Restrict the app to the
    technicians' mailboxes with an Exchange application access policy.

Confirmation email
    ``SEND_CONFIRMATION_EMAIL=true`` (the default) and ``SMTP_HOST`` (plus
    ``SMTP_PORT``, ``SMTP_USERNAME``, ``SMTP_PASSWORD``, ``SMTP_FROM``,
    ``SMTP_STARTTLS``). The customer, when the booking has their email,
    receives the appointment's ``.ics`` (``text/calendar; method=REQUEST``, or
    ``CANCEL`` once cancelled).

iCalendar
    Needs no configuration: :func:`~integrations.ics.invite_ics` renders one
    appointment (stable UID ``<appointment id>@scheduling-service``, SEQUENCE
    growing with each reschedule, times in the shop's zone with a VTIMEZONE)
    and :func:`~integrations.ics.technician_feed` a technician's feed.

A technician without an email gets no Google or Outlook event; a customer
without one gets no email. Rejected credentials (HTTP 401/403, an expired or
revoked key or secret, a refused SMTP login) are logged at ERROR and stored as
``failed`` with ``last_error`` beginning ``credentials rejected``; the invite is
retried on the backoff schedule, so it goes out once the credentials are fixed.

The neighbouring services (README, "Neighbouring services") have their clients
here too: ``alert_service``, ``health_service`` and ``inventory_service``, each
over ``neighbour_http.NeighbourHttp`` (a timeout per attempt, a bounded retry,
``circuit_breaker.CircuitBreaker``), each on when its URL is set
(``from_settings``).
"""

from integrations.calendar_target import (
    CalendarError,
    CalendarTarget,
    CredentialsRejected,
    EventGone,
    RequestRejected,
    TransientCalendarError,
)
from integrations.delivery import InviteDeliveryRepository
from integrations.dispatcher import InviteDispatcher, RetryPolicy
from integrations.ics import invite_ics, technician_feed
from integrations.invite import invite_for, invite_uid

__all__ = [
    "CalendarError",
    "CalendarTarget",
    "CredentialsRejected",
    "EventGone",
    "InviteDeliveryRepository",
    "InviteDispatcher",
    "RequestRejected",
    "RetryPolicy",
    "TransientCalendarError",
    "invite_for",
    "invite_ics",
    "invite_uid",
    "technician_feed",
]
