"""One error vocabulary: the domain apps raise only ``packages_app.exceptions`` errors, never Django's
``ValidationError`` or ``PermissionDenied`` (read from the source with ``ast``). Forms keep theirs:
validating a form's fields is the form's own job, and so are the two form hooks listed below."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest
from django.core.exceptions import PermissionDenied, ValidationError

from packages_app import exceptions as domain

ROOT = Path(__file__).resolve().parent.parent
DOMAIN_APPS = ("packages_app", "accounts", "tokens_app", "webhooks", "federation", "identity", "throttling")
DJANGO_NAMES = {"ValidationError", "PermissionDenied"}
# (module, function): form validation outside a forms.py, where Django expects forms.ValidationError.
FORM_HOOKS = {
    ("packages_app/admin.py", "clean"),  # the admin's retention-rule form
    ("accounts/adapter.py", "clean_username"),  # allauth's signup form asks its adapter
}


def _modules() -> list[Path]:
    found = []
    for app in DOMAIN_APPS:
        for path in sorted((ROOT / app).rglob("*.py")):
            relative = path.relative_to(ROOT)
            if path.name == "forms.py" or "migrations" in relative.parts or "tests" in relative.parts:
                continue
            found.append(path)
    return found


def _raised_name(node: ast.expr | None) -> str:
    """``X`` for ``raise X``, ``raise X(...)``, ``raise mod.X`` or ``raise mod.X(...)``."""
    if isinstance(node, ast.Call):
        node = node.func
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Attribute):
        return node.attr
    return ""


def _django_raises(path: Path, relative: str = "") -> list[str]:
    tree = ast.parse(path.read_text(), filename=str(path))
    relative = relative or path.relative_to(ROOT).as_posix()
    found: list[str] = []

    def visit(node: ast.AST, function: str) -> None:
        for child in ast.iter_child_nodes(node):
            inner = child.name if isinstance(child, ast.FunctionDef | ast.AsyncFunctionDef) else function
            name = _raised_name(child.exc) if isinstance(child, ast.Raise) else ""
            if name in DJANGO_NAMES and (relative, function) not in FORM_HOOKS:
                found.append(f"{relative}:{getattr(child, 'lineno', 0)} raises {name}")
            visit(child, inner)

    visit(tree, "")
    return found


def _django_imports(path: Path, relative: str = "") -> list[str]:
    """Django's two exceptions imported from ``django.core.exceptions`` under their own names (an
    import is only ever there to raise or catch them; the domain does neither)."""
    tree = ast.parse(path.read_text(), filename=str(path))
    relative = relative or path.relative_to(ROOT).as_posix()
    return [
        f"{relative}:{node.lineno} imports {alias.name}"
        for node in ast.walk(tree)
        if isinstance(node, ast.ImportFrom) and node.module == "django.core.exceptions"
        for alias in node.names
        if alias.name in DJANGO_NAMES and alias.asname is None
    ]


def test_the_scan_sees_the_domain() -> None:
    names = {p.relative_to(ROOT).as_posix() for p in _modules()}
    assert {"packages_app/services/packages.py", "accounts/services.py", "tokens_app/services.py"} <= names
    assert not any(n.endswith("forms.py") for n in names)


def test_the_scan_finds_a_django_raise(tmp_path: Path) -> None:
    """The check itself: every spelling of the raise is found."""
    module = tmp_path / "probe.py"
    source = (
        "from django.core import exceptions\n"
        "from django.core.exceptions import PermissionDenied, ValidationError\n"
        "def f():\n    raise ValidationError('x', code='y')\n"
        "def g():\n    raise exceptions.PermissionDenied\n"
        "def clean():\n    raise PermissionDenied('z')\n"
    )
    module.write_text(source)
    assert len(_django_raises(module, "packages_app/probe.py")) == 3
    assert len(_django_imports(module, "packages_app/probe.py")) == 2


@pytest.mark.parametrize("path", _modules(), ids=lambda p: p.relative_to(ROOT).as_posix())
def test_no_django_validation_error_or_permission_denied_raised(path: Path) -> None:
    assert _django_raises(path) == []


def _importing_modules() -> list[Path]:
    """The domain modules, but the form hooks (which raise Django's ValidationError by design)."""
    hooks = {relative for relative, _ in FORM_HOOKS}
    return [path for path in _modules() if path.relative_to(ROOT).as_posix() not in hooks]


@pytest.mark.parametrize("path", _importing_modules(), ids=lambda p: p.relative_to(ROOT).as_posix())
def test_no_django_validation_error_or_permission_denied_imported(path: Path) -> None:
    assert _django_imports(path) == []


def test_the_families() -> None:
    """NotFound covers the OCI "unknown" errors; PermissionRefused is a Denied; a Conflict is an
    InvalidInput; all are RegistryErrors. For forms and Django's 403, the two are also Django's."""
    for cls in (domain.NameUnknown, domain.ManifestUnknown, domain.BlobUnknown, domain.BlobUploadUnknown):
        assert issubclass(cls, domain.NotFound)
    assert issubclass(domain.PermissionRefused, domain.Denied)
    assert issubclass(domain.PermissionRefused, PermissionDenied)
    assert issubclass(domain.Conflict, domain.InvalidInput)
    assert issubclass(domain.InvalidInput, ValidationError)
    for family in (domain.NotFound, domain.InvalidInput, domain.Conflict, domain.PermissionRefused):
        assert issubclass(family, domain.RegistryError)
    refused = domain.InvalidInput("Choose private, internal or public.", code="visibility")
    assert (str(refused), refused.message, refused.code, refused.messages) == (
        "Choose private, internal or public.",
        "Choose private, internal or public.",
        "visibility",
        ["Choose private, internal or public."],
    )
