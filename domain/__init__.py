"""The pure vocabulary and rules of shop scheduling.

Nothing here performs I/O or knows Ray, HTTP, SQL or Redis (a test keeps it
that way). All instants are timezone-aware; shop hours are wall-clock times in
the shop's IANA time zone and are turned into UTC instants per local date.
"""
