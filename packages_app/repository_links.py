"""A package's link to a source repository of its owner, and whether it inherits that repository's
access (REGISTRY.md "Packages, visibility and access"): the repositories a package may link to, the
link set by an admin, by a source label (``metadata``) or by an automation token's first push
(``services.packages.package_for_write``), and the inheritance switch."""

from __future__ import annotations

from django.contrib.auth.models import User

from accounts.roles import Role
from errors import InvalidInput
from repositories.models import SourceRepository
from repositories.selectors import repository_role
from repositories.services import repository_for_source_url, require_repository_admin

from .access import require_package_admin
from .audit import audit_record
from .models import AuditEvent, Package


def repositories_linkable(*, package: Package, user: User | None) -> list[SourceRepository]:
    """Repositories of the package's owner that ``user`` administers (a package links only to those)."""
    candidates = SourceRepository.objects.filter(owner=package.namespace).order_by("name")
    return [r for r in candidates if repository_role(user, r.id) == Role.ADMIN]


def package_link_repository(
    *, package: Package, repository: SourceRepository | None, user: User | None = None, actor: str = ""
) -> Package:
    """Link ``package`` to a repository of its own namespace (None: unlink). ``user`` None is the system
    (a source label, an automation token's push); a person must administer the package and the repository."""
    if user is not None:
        require_package_admin(package, user, "change its repository")
        if repository is not None:
            require_repository_admin(repository, user)
    if repository is not None and repository.owner != package.namespace:
        raise InvalidInput("A package can only be linked to a repository of its own owner.", code="owner")
    if package.repository_id == (repository.id if repository else None):
        return package
    package.repository = repository
    Package.all_objects.filter(id=package.id).update(repository=repository)
    detail = f"linked to {repository.full_name}" if repository else "unlinked"
    audit_record(
        package=package,
        user=user,
        actor=actor or ("system" if user is None else ""),
        action=AuditEvent.Action.LINK,
        detail=detail,
    )
    return package


def package_link_from_source_label(*, package: Package, source_url: str) -> None:
    """Called by ``metadata.package_link_source_repository``: an unlinked package whose source label
    names a repository of its owner this site knows is linked to it."""
    if package.repository_id is not None or not source_url:
        return
    repository = repository_for_source_url(source_url)
    if repository is not None and repository.owner == package.namespace:
        package_link_repository(package=package, repository=repository, actor=f"source label {source_url[:200]}")


def package_set_inheritance(*, package: Package, user: User, inherit: bool) -> Package:
    """Turn inheriting the repository's access on or off; takes effect at once (``access.package_role``)."""
    require_package_admin(package, user, "change how it inherits access")
    package.inherit_access = inherit
    Package.all_objects.filter(id=package.id).update(inherit_access=inherit)
    state = "on" if inherit else "off"
    audit_record(
        package=package, user=user, action=AuditEvent.Action.ACCESS, detail=f"inherit repository access: {state}"
    )
    return package
