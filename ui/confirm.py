"""Confirm steps for destructive page actions that work without JavaScript.

A destructive form (delete a version, remove a member or a grant, revoke a token) carries
``confirm=yes``; the button that shows it only opens a ``<details>`` panel (templates/_ui/confirm.html).
A POST without it changes nothing: the view answers with ``confirm_page``, a page that repeats the
request's fields with ``confirm=yes`` and a Cancel link, so a scripted or stale form cannot act at once.
"""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

CONFIRM_FIELD = "confirm"
CONFIRM_VALUE = "yes"


def confirmed(request: HttpRequest) -> bool:
    return request.method == "POST" and request.POST.get(CONFIRM_FIELD) == CONFIRM_VALUE


def confirm_page(request: HttpRequest, *, title: str, question: str, button: str, cancel: str) -> HttpResponse:
    """The confirmation step of ``request``'s action: the same POST, with ``confirm=yes``."""
    source = request.POST if request.method == "POST" else request.GET
    fields = [
        (key, value)
        for key in source
        if key not in {"csrfmiddlewaretoken", CONFIRM_FIELD}
        for value in source.getlist(key)
    ]
    context = {
        "title": title,
        "question": question,
        "button": button,
        "cancel": cancel,
        "action": request.path,
        "fields": fields,
    }
    return render(request, "confirm.html", context)
