"""Routes of the tag rule pages, included before the packages' catch-all routes."""

from __future__ import annotations

from django.urls import re_path

from . import tag_rule_views
from .urls import NAME

RULE = r"(?P<rule_id>[0-9]{1,18})"

urlpatterns = [
    re_path(r"^orgs/(?P<org>[^/]+)/tag-rules$", tag_rule_views.rules, name="organization-tag-rules"),
    re_path(
        rf"^orgs/(?P<org>[^/]+)/tag-rules/{RULE}/delete$",
        tag_rule_views.rule_delete,
        name="organization-tag-rule-delete",
    ),
    re_path(rf"^{NAME}/-/settings/tag-rules$", tag_rule_views.rules, name="package-tag-rules"),
    re_path(
        rf"^{NAME}/-/settings/tag-rules/{RULE}/delete$", tag_rule_views.rule_delete, name="package-tag-rule-delete"
    ),
]
