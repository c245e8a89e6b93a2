"""The admin site: packages with their roles and retention rules (with a preview), blobs, manifests,
uploads, and tags read-only (the package settings pages are the users' way to change these)."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin
from django.http import HttpRequest

from . import quotas
from .models import Blob, Manifest, Package, PackagePermission, RetentionRule, StorageQuota, Tag, Upload
from .retention import retention_preview


class PackagePermissionInline(admin.TabularInline[PackagePermission, Package]):
    model = PackagePermission
    extra = 0


class RetentionRuleForm(forms.ModelForm[RetentionRule]):
    """``preview``: instead of saving, show what the rule would delete right now (issue 6)."""

    preview = forms.BooleanField(
        required=False, help_text="Tick to list what this rule would delete, without saving it."
    )

    class Meta:
        model = RetentionRule
        fields = ("package", "keep_newest", "untagged_older_than_days", "protected_tags", "enabled")

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        if cleaned.get("preview") and not self.errors:
            rule = RetentionRule(**{k: v for k, v in cleaned.items() if k != "preview"})
            raise forms.ValidationError(preview_lines(rule))
        return cleaned


def preview_lines(rule: RetentionRule) -> list[str]:
    planned = retention_preview(rule=rule)
    if not planned:
        return ["Preview: this rule would delete nothing now."]
    head = [f"Preview: this rule would delete {len(planned)} manifest(s) now (untick preview to save):"]
    return head + [f"{p.digest} {', '.join(p.tags) or '(untagged)'}: {p.reason}" for p in planned]


class RetentionRuleInline(admin.TabularInline[RetentionRule, Package]):
    model = RetentionRule
    extra = 0
    fields = ("keep_newest", "untagged_older_than_days", "protected_tags", "enabled")


@admin.register(RetentionRule)
class RetentionRuleAdmin(admin.ModelAdmin[RetentionRule]):
    """Retention rules with a preview; garbage collection applies the enabled ones."""

    form = RetentionRuleForm
    list_display = ("package", "keep_newest", "untagged_older_than_days", "protected_tags", "enabled")
    list_filter = ("enabled",)
    search_fields = ("package__name",)
    autocomplete_fields = ("package",)


@admin.register(Package)
class PackageAdmin(admin.ModelAdmin[Package]):
    inlines = [PackagePermissionInline, RetentionRuleInline]
    list_display = ("name", "namespace", "visibility", "updated_at")
    list_filter = ("visibility",)
    search_fields = ("name",)


@admin.register(Blob)
class BlobAdmin(admin.ModelAdmin[Blob]):
    list_display = ("digest", "size", "created_at")
    search_fields = ("digest",)


@admin.register(Manifest)
class ManifestAdmin(admin.ModelAdmin[Manifest]):
    list_display = ("digest", "package", "media_type", "size", "created_at")
    search_fields = ("digest", "package__name")
    exclude = ("content", "blobs", "children")


@admin.register(Tag)
class TagAdmin(admin.ModelAdmin[Tag]):
    """Read-only: tags are written only by ``packages_app.tagging`` (where tag rules are checked)."""

    list_display = ("name", "package", "manifest", "updated_at")

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Tag | None = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Tag | None = None) -> bool:
        return False


@admin.register(Upload)
class UploadAdmin(admin.ModelAdmin[Upload]):
    list_display = ("id", "package", "offset", "updated_at")
    exclude = ("hash_state",)


@admin.register(StorageQuota)
class StorageQuotaAdmin(admin.ModelAdmin[StorageQuota]):
    """A namespace's storage quota, overriding WHARF_QUOTA_DEFAULT_BYTES (0: no limit for it)."""

    list_display = ("namespace", "limit", "used", "updated_at")
    search_fields = ("namespace",)

    @admin.display(description="limit")
    def limit(self, quota: StorageQuota) -> str:
        return quotas.human_bytes(quota.limit_bytes) if quota.limit_bytes else "no limit"

    @admin.display(description="used")
    def used(self, quota: StorageQuota) -> str:
        return quotas.human_bytes(quotas.usage_of(quota.namespace).used_bytes)
