"""Who is calling, and the one gate every registry view passes through.

Until accounts and tokens arrive every caller is anonymous; the decision itself lives in
``packages_app.access``. Views only call ``require`` / ``allowed`` and never need to change when
real credentials (Basic with a personal access token, Bearer registry tokens) are added here.
"""

from __future__ import annotations

from typing import Any

from packages_app.access import ANONYMOUS, Action, Actor, authorize, can


def actor_for(request: Any) -> Actor:
    return ANONYMOUS


def require(request: Any, name: str, action: Action) -> Actor:
    actor = actor_for(request)
    authorize(actor, name, action)
    return actor


def allowed(request: Any, name: str, action: Action) -> bool:
    return can(actor_for(request), name, action)


def challenge(request: Any) -> str:
    return 'Basic realm="Wharf"'
