"""The package page: what it shows, built from selectors' reads.

REGISTRY.md "Package pages": the install box pulls ``latest`` when that tag exists, else the newest
tag of an image (``install_tag`` with ``kinds``: never a referrer's or a fallback tag);
Source is the linked repository's page when the package is linked, else the source label's URL as
given (with its own scheme); the description label is plain text, the README is sanitized markdown.
"""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import urlsplit

from django.db.models import Sum
from django.urls import reverse
from django.utils.html import urlize
from django.utils.safestring import SafeString, mark_safe

from accounts.roles import Viewer

from ..kinds import speaking_tags
from ..models import DownloadCount, Package, Role, Tag
from ..readme import render_readme, sanitize_html
from ..selectors import package_for_page
from .charts import DownloadChart, download_chart
from .versions import Platform, Version, VersionView, _version_rows, _versions, version_platforms

LATEST_TAG = "latest"


def install_tag(*, package: Package) -> str | None:
    """The tag the pull command shows: ``latest`` when it is one of them, else the most recently pushed
    tag of an image (``kinds``); never a referrer's or a ``sha256-…`` fallback tag."""
    tags = speaking_tags(Tag.objects.filter(package=package))
    if tags.filter(name=LATEST_TAG).exists():
        return LATEST_TAG
    return tags.order_by("-updated_at", "-id").values_list("name", flat=True).first()


def safe_source_url(url: str) -> str | None:
    """The source label as a link only when it is an http(s) URL (never javascript:, data:, ...)."""
    parts = urlsplit(url.strip())
    return url.strip() if parts.scheme in {"http", "https"} and parts.netloc else None


@dataclass(frozen=True)
class PackagePage:
    package: Package
    role: Role
    install_tag: str | None
    recent: list[Version]
    platforms: list[Platform]  # of the version the install tag points at
    version_count: int
    downloads: int
    chart: DownloadChart
    source_url: str | None

    @property
    def is_admin(self) -> bool:
        return self.role >= Role.ADMIN


def package_page(*, name: str, user: Viewer | None) -> PackagePage:
    """Everything the package page shows; NameUnknown for a package the viewer cannot read."""
    package, role = package_for_page(name=name, user=user)
    tag = install_tag(package=package)
    recent = _versions(package, list(_version_rows(package, VersionView.TAGGED)[:5]))
    installed = Tag.objects.select_related("manifest").filter(package=package, name=tag).first() if tag else None
    downloads = DownloadCount.objects.filter(manifest__package=package).aggregate(n=Sum("count"))["n"] or 0
    return PackagePage(
        package=package,
        role=role,
        install_tag=tag,
        recent=recent,
        platforms=version_platforms(installed.manifest) if installed else [],
        version_count=_version_rows(package).count(),
        downloads=int(downloads),
        chart=download_chart(package=package),
        source_url=safe_source_url(package.source_url),
    )


@dataclass(frozen=True)
class SourceLink:
    url: str
    label: str
    internal: bool  # the linked repository's page on this site


def source_link(package: Package) -> SourceLink | None:
    """The linked repository's page when linked; else the source label's http(s) URL as it is."""
    repository = package.repository
    if repository is not None:
        url = reverse("repository", args=[repository.owner, repository.name])
        return SourceLink(url, repository.full_name, True)
    label_url = safe_source_url(package.source_url)
    if label_url is None:
        return None
    return SourceLink(label_url, label_url.split("://", 1)[-1].rstrip("/"), False)


def description_html(text: str) -> SafeString:
    """The description label: plain text whose URLs become links (nofollow noopener)."""
    if not text:
        return mark_safe("")
    return mark_safe(sanitize_html(urlize(text, nofollow=True, autoescape=True)))  # noqa: S308 - sanitized


@dataclass(frozen=True)
class PackageOverview:
    page: PackagePage
    install_tag: str | None
    platforms: list[Platform]
    description: SafeString
    readme: SafeString
    source: SourceLink | None

    @property
    def package(self) -> Package:
        return self.page.package

    @property
    def is_admin(self) -> bool:
        return self.page.is_admin


def package_overview(*, name: str, user: Viewer | None) -> PackageOverview:
    """The package page; NameUnknown for a package the viewer cannot read."""
    page = package_page(name=name, user=user)
    package = page.package
    return PackageOverview(
        page=page,
        install_tag=page.install_tag,
        platforms=page.platforms,
        description=description_html(package.description),
        readme=render_readme(package.readme),
        source=source_link(package),
    )
