"""The use cases: search, book, hold, reschedule, cancel, and what they read.

No Ray and no HTTP here: calendars are reached through the ports of
``application.ports`` (``actors/`` implements them on Ray, tests fake them),
and this layer owns its transactions.
"""
