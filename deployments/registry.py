"""Where the HTTP handlers find the application services of their process.

The Serve replica registers them at start-up; a plain ASGI app may set
``app.state.services`` instead, so the same routes run behind Ray Serve and uvicorn.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from fastapi import Request

if TYPE_CHECKING:
    from deployments.services import Services

_registered: list[Services] = []


def register_services(svc: Services) -> None:
    """Make ``svc`` the process's services.

    Serve pickles the ingress's FastAPI app into the replica by value, so the
    replica's copy is not the module's ``app`` object; this module, imported
    by reference, is shared, and so is what is registered here.
    """
    _registered[:] = [svc]


def registered_services() -> Services | None:
    return _registered[0] if _registered else None


def services(request: Request) -> Services:
    found: Services | None = getattr(request.app.state, "services", None) or registered_services()
    if found is None:
        raise RuntimeError("the API's services are not initialized")
    return found
