"""Routes of distribution-spec "Endpoints". ``<name>`` may contain slashes, so each route anchors on
the suffix that follows it; a name that breaks the grammar is refused by the view (NAME_INVALID)."""

from __future__ import annotations

from django.urls import path, re_path

from .views.base import ApiVersionView, UnknownEndpointView
from .views.blobs import BlobView
from .views.catalog import CatalogView
from .views.manifests import ManifestView
from .views.referrers import ReferrersView
from .views.tags import TagsListView
from .views.uploads import UploadStartView, UploadView

NAME = r"(?P<name>[^?#]+?)"

urlpatterns = [
    path("", ApiVersionView.as_view(), name="v2-base"),
    path("_catalog", CatalogView.as_view(), name="v2-catalog"),
    re_path(rf"^{NAME}/blobs/uploads/?$", UploadStartView.as_view(), name="v2-upload-start"),
    re_path(rf"^{NAME}/blobs/uploads/(?P<upload_id>[^/]+)$", UploadView.as_view(), name="v2-upload"),
    re_path(rf"^{NAME}/blobs/(?P<digest>[^/]+)$", BlobView.as_view(), name="v2-blob"),
    re_path(rf"^{NAME}/manifests/(?P<reference>[^/]+)$", ManifestView.as_view(), name="v2-manifest"),
    re_path(rf"^{NAME}/tags/list$", TagsListView.as_view(), name="v2-tags"),
    re_path(rf"^{NAME}/referrers/(?P<digest>[^/]+)$", ReferrersView.as_view(), name="v2-referrers"),
    re_path(r"^.*$", UnknownEndpointView.as_view(), name="v2-unknown"),
]
