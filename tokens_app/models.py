"""Token models arrive with the accounts issue; the app is registered so its migrations have a home."""
