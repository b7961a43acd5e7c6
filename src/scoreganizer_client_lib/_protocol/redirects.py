"""Where a redirect may lead: only to the configured origin, where the
credentials go."""

from __future__ import annotations

from urllib.parse import quote, urlsplit, urlunsplit

#: What stays as it is in the path and query of a followed redirect (RFC 3986:
#: reserved and unreserved characters, and escapes already made).
_URL_SAFE = "/%:@!$&'()*+,;=?~"


def _moved_within(base_url: str, target: str) -> str:
    """``target``'s path and query on ``base_url``'s scheme, host and port,
    every other character escaped: what is sent is what was checked, however
    another URL parser would read ``target`` (``http://a\\@b/``: host ``b`` here,
    ``a`` for urllib3)."""
    base, moved = urlsplit(base_url), urlsplit(target)
    path, query = quote(moved.path, safe=_URL_SAFE), quote(moved.query, safe=_URL_SAFE)
    return urlunsplit((base.scheme, base.netloc, path or "/", query, ""))


def _origin(url: str) -> tuple[str, str, int | None]:
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    try:
        port = parts.port or {"http": 80, "https": 443}.get(scheme)
    except ValueError:
        port = -1  # not a port: never the configured origin
    return scheme, (parts.hostname or ""), port


def same_origin(url: str, base_url: str) -> bool:
    """Whether ``url`` is on the origin (scheme, host, port) of ``base_url``:
    the only place the client's credentials go."""
    return _origin(url) == _origin(base_url)
