"""Which accounts belong to the LDAP directory: a local account and an LDAP account of the same name are
never merged (identity.ldap refuses an LDAP sign-in onto an account it did not create)."""

from __future__ import annotations

from django.conf import settings
from django.db import models


class LDAPAccount(models.Model):
    user = models.OneToOneField(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="ldap_account")
    dn = models.CharField(max_length=500)
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return self.dn
