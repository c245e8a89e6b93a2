"""Rate limits of registry requests (``/v2/…`` and ``/token``): per credential, per user, per client address."""
