"""gunicorn's logger, quiet about bytes that are not HTTP at all.

Docker treats a registry on 127.0.0.0/8 (or one in ``insecure-registries``) as plain HTTP but tries
HTTPS first, so its TLS ClientHello reaches the HTTP port: gunicorn answers 400 and logged a warning
(``Invalid HTTP request line: 'bare LF as line terminator'``) for every push and pull. Port scanners
send the same kind of noise. A request line that is not HTTP is logged at debug level; everything else
(malformed headers, oversized requests, every server error) is logged as gunicorn logs it.
"""

from __future__ import annotations

from typing import Any

from gunicorn import glogging

INVALID_REQUEST = "Invalid request from ip="
NOT_HTTP = ("Invalid HTTP request line: ", "Invalid HTTP method: ", "Invalid HTTP Version: ")


def is_not_http(message: object) -> bool:
    """Whether a gunicorn warning is about a request line that is not HTTP (see the module docstring)."""
    if not isinstance(message, str) or not message.startswith(INVALID_REQUEST):
        return False
    error = message.split(": ", 1)[1] if ": " in message else ""
    return error.startswith(NOT_HTTP)


class Logger(glogging.Logger):
    def warning(self, msg: Any, *args: Any, **kwargs: Any) -> None:
        if is_not_http(msg):
            self.debug(msg, *args, **kwargs)
        else:
            super().warning(msg, *args, **kwargs)
