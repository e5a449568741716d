"""Calendar invites (docstring filled in below)."""
