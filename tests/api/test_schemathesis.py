"""schemathesis against the REST API's OpenAPI schema: generated requests, with alice's token that has
every scope, on a registry holding her packages; no answer may be a server error. Examples are
limited so the run stays well under a minute."""

from __future__ import annotations

from typing import Any

import pytest
import schemathesis
from django.core import signals
from django.core.wsgi import get_wsgi_application
from django.db import close_old_connections
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error

from packages_app import uploads
from packages_app.services.manifests import manifest_put
from packages_app.services.packages import package_for_write
from packages_app.uploads import Chunk
from tests.conftest import make_pat
from tests.oci import make_image

schema = schemathesis.openapi.from_wsgi("/api/schema?format=json", get_wsgi_application())


@pytest.fixture
def keep_connection() -> Any:
    """The WSGI handler closes the database connection after each request; Django's test client stops
    it from doing so, and so must we (the test database lives in this connection's transaction)."""
    signals.request_started.disconnect(close_old_connections)
    signals.request_finished.disconnect(close_old_connections)
    yield
    signals.request_started.connect(close_old_connections)
    signals.request_finished.connect(close_old_connections)


@pytest.fixture
def alices_token(owner: Any, member: Any, keep_connection: None) -> str:
    image = make_image(seed="schemathesis")
    package_for_write(name="acme/app", user=owner)
    for digest, data in image.blobs.items():
        uploads.blob_upload_monolithic(
            name="acme/app", digest=digest, chunk=Chunk([data], length=len(data)), user=owner
        )
    manifest_put(name="acme/app", reference="v1", body=image.manifest, content_type=image.media_type, user=owner)
    return make_pat(owner, "read:packages", "write:packages", "delete:packages")


@pytest.mark.django_db
@schema.parametrize()
@settings(max_examples=8, deadline=None, suppress_health_check=list(HealthCheck))
def test_no_generated_request_is_a_server_error(case: Any, alices_token: str) -> None:
    response = case.call(headers={"Authorization": f"Bearer {alices_token}"})
    case.validate_response(response, checks=(not_a_server_error,))
