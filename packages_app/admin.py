from __future__ import annotations

from django.contrib import admin

from .models import Blob, Manifest, Package, PackagePermission, Tag, Upload


class PackagePermissionInline(admin.TabularInline):
    model = PackagePermission
    extra = 0


@admin.register(Package)
class PackageAdmin(admin.ModelAdmin):
    """Visibility and roles are edited here until the package settings pages exist."""

    inlines = [PackagePermissionInline]
    list_display = ("name", "namespace", "visibility", "updated_at")
    list_filter = ("visibility",)
    search_fields = ("name",)


@admin.register(Blob)
class BlobAdmin(admin.ModelAdmin):
    list_display = ("digest", "size", "created_at")
    search_fields = ("digest",)


@admin.register(Manifest)
class ManifestAdmin(admin.ModelAdmin):
    list_display = ("digest", "package", "media_type", "size", "created_at")
    search_fields = ("digest", "package__name")
    exclude = ("content", "blobs", "children")


@admin.register(Tag)
class TagAdmin(admin.ModelAdmin):
    list_display = ("name", "package", "manifest", "updated_at")


@admin.register(Upload)
class UploadAdmin(admin.ModelAdmin):
    list_display = ("id", "package", "offset", "updated_at")
    exclude = ("hash_state",)
