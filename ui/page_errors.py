"""The pages' one translator of domain errors (``packages_app.exceptions``).

- ``PageErrorsMiddleware``: a ``NotFound`` a page view lets out is the site's 404 page (the same page
  for a private package as for a missing one: REGISTRY.md "Packages, visibility and access"); a
  ``PermissionRefused`` is the 403 page, naming the refusal; any other domain error is a 400 page
  naming it (a page should have caught it in one of the two blocks below).
- ``as_message(request)``: a block whose refusal (``InvalidInput``, ``Conflict``, ``Denied`` and so
  ``PermissionRefused``) becomes an error message on the next page; the rest of the block is skipped.
- ``onto(form)``: a block whose ``InvalidInput`` (or a ``ValidationError`` of the form's own, such as
  ``TokenForm.reach_arguments``) becomes the form's error, so ``form.is_valid()`` is False after it and
  the page shows the form again with what was typed.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager

from django import forms
from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.template.loader import render_to_string

from errors import Denied, InvalidInput, NotFound, PermissionRefused, RegistryError

NOT_ALLOWED = "Not allowed."


def page_message(exc: RegistryError) -> str:
    """What a page says about ``exc``."""
    return exc.message or NOT_ALLOWED


class PageErrorsMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        return self.get_response(request)

    def process_exception(self, request: HttpRequest, exception: Exception) -> HttpResponse | None:
        if isinstance(exception, NotFound):
            raise Http404("Not found") from exception  # the message never says what exists
        if isinstance(exception, PermissionRefused):
            raise PermissionDenied(exception.message) from exception  # none: the 403 page's own words
        if isinstance(exception, RegistryError):
            body = render_to_string("400.html", {"message": page_message(exception)}, request=request)
            return HttpResponse(body, status=400)
        return None


@contextmanager
def as_message(request: HttpRequest) -> Iterator[None]:
    try:
        yield
    except (InvalidInput, Denied) as exc:
        messages.error(request, page_message(exc))


@contextmanager
def onto(form: forms.Form) -> Iterator[None]:
    try:
        yield
    except ValidationError as exc:  # InvalidInput is one
        form.add_error(None, exc)
