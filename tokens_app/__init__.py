"""Personal access tokens (scopes, expiry, revocation) and the registry's signed bearer tokens."""
