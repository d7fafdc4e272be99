"""Single HTTP requests to the servers under test (the load itself comes from wrk)."""

from __future__ import annotations

import urllib.error
import urllib.request


def post(url: str, body: bytes, headers: dict[str, str] | None = None) -> bytes:
    """The response body of a JSON POST, also for an HTTP error status."""
    request = urllib.request.Request(
        url, data=body, headers={"content-type": "application/json", **(headers or {})}
    )
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return bytes(response.read())
    except urllib.error.HTTPError as error:
        return bytes(error.read())


def get(url: str) -> bytes | None:
    """The body of a GET that answers 200, else None."""
    try:
        with urllib.request.urlopen(url, timeout=10) as response:
            return bytes(response.read()) if response.status == 200 else None
    except (urllib.error.URLError, OSError):
        return None
