"""Personal access tokens and their scopes (filled in by the accounts and tokens issue)."""
