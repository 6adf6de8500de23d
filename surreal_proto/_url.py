"""Connection URLs: which transport, which host, which path (API.md §2).

Accepted schemes:

* ``ws://``, ``wss://``: WebSocket to ``<base>/rpc`` (``protocol.md`` §2.1); a ``/rpc``
  suffix or a trailing slash is accepted.
* ``http://``, ``https://``: ``POST <base>/rpc`` (§3.1); ``<base>`` also serves ``/health``,
  ``/version``, ``/import``, ``/export`` (§3.3).
* ``mem://``, ``memory``: the in-process engine (``surrealdb-embedded``), in memory.
* ``surrealkv://PATH``, ``surrealkv+versioned://PATH`` (versioned storage), ``file://PATH``:
  the in-process engine on disk at ``PATH``.

Decisions (for the README too):

* **Ports.** A URL without a port means the scheme's default port (80 for ``ws``/``http``,
  443 for ``wss``/``https``), as for every other URL. SurrealDB listens on 8000 by default,
  so write it: ``ws://localhost:8000``. Guessing 8000 would make ``wss://db.example.com``
  (behind a TLS proxy on 443) silently wrong.
* **Credentials in the URL** (``ws://user:pass@host``) are rejected: they would end up in logs
  and reprs, and SurrealDB does not read them from the URL anyway. Pass them to ``signin()``
  or the ``auth=`` option. Error messages never repeat the user-info part.
* **Embedded paths** are everything after ``://``, handed to the engine unchanged:
  ``file:///var/db`` is the absolute path ``/var/db``, ``surrealkv://data/db`` is relative to
  the working directory. An empty path is rejected (the engine would write into the working
  directory). These rules were checked against ``surrealdb-embedded`` 3.0.0b10 (engine
  3.2.4), which also accepts ``surrealkv+versioned://`` and rejects ``rocksdb://``,
  ``tikv://`` and upper-case schemes (schemes are normalised to lower case here).
* Query strings and fragments on network URLs are rejected (the server reads neither).
"""

from __future__ import annotations

import ipaddress
import re
from dataclasses import dataclass
from typing import Final, Literal
from urllib.parse import urlsplit

from ._errors import UnsupportedEngineError

__all__ = ["Endpoint", "TransportKind", "parse_url"]

#: The three ways of reaching an engine.
TransportKind = Literal["ws", "http", "embedded"]

_NETWORK: Final[dict[str, tuple[TransportKind, bool, int]]] = {
    # scheme: (transport, tls, default port)
    "ws": ("ws", False, 80),
    "wss": ("ws", True, 443),
    "http": ("http", False, 80),
    "https": ("http", True, 443),
}
_EMBEDDED_FILES: Final = ("surrealkv", "surrealkv+versioned", "file")
_SUPPORTED: Final = ("ws://, wss://, http://, https://, mem://, memory, surrealkv://PATH, "
                     "surrealkv+versioned://PATH, file://PATH")
# RFC 3986 path characters (pchar and "/"), percent escapes included.
_PATH_CHARS: Final = re.compile(r"[A-Za-z0-9\-._~!$&'()*+,;=:@%/]*")
_HOST_LABEL: Final = re.compile(r"(?!-)[A-Za-z0-9_-]{1,63}(?<!-)")


@dataclass(frozen=True, slots=True, kw_only=True)
class Endpoint:
    """Where and how to connect, parsed from a URL by :func:`parse_url`.

    Attributes:
        url: the URL as given.
        scheme: the scheme in lower case (``"ws"``, ``"https"``, ``"mem"``, ``"memory"``,
            ``"surrealkv"``, ``"surrealkv+versioned"``, ``"file"``).
        transport: ``"ws"``, ``"http"`` or ``"embedded"``.
        tls: True for ``wss`` and ``https``.
        host: the host name or IP address, without IPv6 brackets, lower case (``""`` for
            the embedded engine).
        port: the TCP port: the URL's, or the scheme's default (``None`` when embedded).
        host_header: the ``Host`` header value: ``host`` (IPv6 in brackets) plus ``:port``
            unless the port is the scheme default.
        base_path: the path prefix the server lives under, ``""`` or e.g. ``"/surreal"``
            (never ending with ``/``).
        rpc_path: ``base_path + "/rpc"``: the WebSocket upgrade path and the HTTP RPC path.
        embedded_url: the URL to hand to ``surrealdb_embedded`` (``None`` for network URLs).
        path: the storage path of ``surrealkv``/``file`` URLs (``None`` otherwise).
    """

    url: str
    scheme: str
    transport: TransportKind
    tls: bool = False
    host: str = ""
    port: int | None = None
    host_header: str = ""
    base_path: str = ""
    rpc_path: str = "/rpc"
    embedded_url: str | None = None
    path: str | None = None

    @property
    def is_embedded(self) -> bool:
        """True for the in-process engine."""
        return self.transport == "embedded"

    @property
    def authority(self) -> str:
        """``host:port`` with the port always present (IPv6 in brackets)."""
        return f"{_bracket(self.host)}:{self.port}"

    @property
    def rpc_url(self) -> str:
        """The full RPC URL, e.g. ``ws://localhost:8000/rpc`` (embedded: the engine URL)."""
        if self.embedded_url is not None:
            return self.embedded_url
        return f"{self.scheme}://{self.host_header}{self.rpc_path}"

    @property
    def http_base_url(self) -> str | None:
        """The HTTP base for ``/health``, ``/import``, ``/export``...: ``http(s)://host[:port]
        [prefix]``, also for a ``ws(s)`` URL (the same server serves both; ``protocol.md``
        §3.3). ``None`` for the embedded engine."""
        if self.transport == "embedded":
            return None
        return f"{'https' if self.tls else 'http'}://{self.host_header}{self.base_path}"

    @property
    def is_loopback(self) -> bool:
        """True when traffic never leaves the machine: the embedded engine, ``localhost``
        (and ``*.localhost``, RFC 6761), or a loopback IP address (``127.0.0.0/8``,
        ``::1``). Used to warn about unencrypted ``ws://``/``http://`` to other hosts."""
        if self.transport == "embedded":
            return True
        host = self.host.rstrip(".")
        if host == "localhost" or host.endswith(".localhost"):
            return True
        try:
            address = ipaddress.ip_address(host.split("%", 1)[0])
        except ValueError:
            return False
        if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
            return address.ipv4_mapped.is_loopback
        return address.is_loopback


def _bracket(host: str) -> str:
    return f"[{host}]" if ":" in host else host


def _redact(url: str) -> str:
    """``url`` with any user-info replaced by ``***``, safe to put in an error message."""
    scheme, sep, rest = url.partition("://")
    if not sep:
        scheme, rest = "", url
    end = len(rest)
    for stop in "/?#":
        found = rest.find(stop)
        if found != -1:
            end = min(end, found)
    at = rest.rfind("@", 0, end)
    if at == -1:
        return url
    return f"{scheme}{sep}***{rest[at:]}"


def parse_url(url: str) -> Endpoint:
    """Parse a connection URL (API.md §2).

    Args:
        url: e.g. ``"ws://localhost:8000"``, ``"wss://db.example.com/rpc"``,
            ``"http://[::1]:8000/surreal"``, ``"mem://"``, ``"surrealkv:///var/lib/db"``.

    Returns:
        The :class:`Endpoint`.

    Raises:
        TypeError: ``url`` is not a ``str``.
        UnsupportedEngineError: the scheme is unknown or missing, or the URL cannot be used
            (bad host or port, credentials in the URL, a query string, an empty storage
            path). The message says what to write instead and never contains a password.
    """
    if not isinstance(url, str):
        raise TypeError(f"the URL must be a str, not {type(url).__name__}")
    text = url.strip()
    if text.lower() == "memory":
        return Endpoint(url=url, scheme="memory", transport="embedded", embedded_url="mem://")
    scheme, sep, rest = text.partition("://")
    if not sep:
        if not text:
            raise UnsupportedEngineError(f"empty URL; use one of {_SUPPORTED}")
        raise UnsupportedEngineError(
            f"{_redact(text)!r} has no scheme; write e.g. 'ws://{_redact(text)}' "
            f"(supported: {_SUPPORTED})")
    scheme = scheme.lower()
    if scheme in _NETWORK:
        return _network(url, text, scheme)
    if scheme in ("mem", "memory"):
        if rest:
            raise UnsupportedEngineError(
                f"{_redact(text)!r}: the in-memory engine takes no path; use 'mem://'")
        return Endpoint(url=url, scheme=scheme, transport="embedded", embedded_url="mem://")
    if scheme in _EMBEDDED_FILES:
        if not rest:
            raise UnsupportedEngineError(
                f"{scheme}:// needs a storage path, e.g. '{scheme}:///var/lib/surreal' "
                f"(absolute) or '{scheme}://data/db' (relative to the working directory)")
        return Endpoint(url=url, scheme=scheme, transport="embedded",
                        embedded_url=f"{scheme}://{rest}", path=rest)
    hint = (" (that engine is not in surrealdb-embedded; use surrealkv:// or file://)"
            if scheme in ("rocksdb", "tikv", "indxdb", "fdb") else "")
    raise UnsupportedEngineError(
        f"unsupported URL scheme {scheme!r} in {_redact(text)!r}{hint}; "
        f"use one of {_SUPPORTED}")


def _network(url: str, text: str, scheme: str) -> Endpoint:
    transport, tls, default_port = _NETWORK[scheme]
    safe = _redact(text)
    try:
        parts = urlsplit(text)
    except ValueError:
        raise UnsupportedEngineError(f"{safe!r}: malformed host") from None
    if "@" in parts.netloc:
        raise UnsupportedEngineError(
            f"credentials in the URL are not supported ({safe!r}); pass them to signin() "
            "or the auth= option instead")
    if parts.query or parts.fragment or text.endswith(("?", "#")):
        raise UnsupportedEngineError(
            f"{safe!r}: query strings and fragments are not supported in the URL; select "
            "the namespace and database with use() or the namespace=/database= options")
    host = _host(parts.netloc, safe)
    try:
        explicit = parts.port
    except ValueError:
        explicit = -1
    if explicit is not None and not 0 < explicit < 65536:
        raise UnsupportedEngineError(f"{safe!r}: the port must be a number from 1 to 65535")
    port = default_port if explicit is None else explicit
    path = parts.path
    if not _PATH_CHARS.fullmatch(path):
        raise UnsupportedEngineError(
            f"{safe!r}: the path has characters that must be percent-encoded")
    path = path.rstrip("/")
    if path.endswith("/rpc"):
        path = path[:-4]
    host_header = _bracket(host) + ("" if port == default_port else f":{port}")
    return Endpoint(url=url, scheme=scheme, transport=transport, tls=tls, host=host,
                    port=port, host_header=host_header, base_path=path,
                    rpc_path=f"{path}/rpc")


def _host(netloc: str, safe: str) -> str:
    if netloc.startswith("["):
        # urlsplit() of Python 3.11.4+ already refuses a bad bracketed host; older ones do not.
        literal, bracket, _ = netloc[1:].partition("]")
        try:
            if not bracket:
                raise ValueError(literal)
            return str(ipaddress.IPv6Address(literal))
        except ValueError:
            raise UnsupportedEngineError(f"{safe!r}: invalid IPv6 address") from None
    host = netloc.rsplit(":", 1)[0] if netloc.count(":") == 1 else netloc
    if not host:
        raise UnsupportedEngineError(f"{safe!r} has no host; write e.g. 'ws://localhost:8000'")
    if ":" in host:
        raise UnsupportedEngineError(
            f"{safe!r}: put an IPv6 address in brackets, e.g. 'ws://[::1]:8000'")
    try:
        ascii_host = host.encode("idna").decode("ascii").lower()
    except UnicodeError:
        raise UnsupportedEngineError(f"{safe!r}: invalid host name") from None
    labels = ascii_host.rstrip(".").split(".")
    if not all(_HOST_LABEL.fullmatch(label) for label in labels):
        raise UnsupportedEngineError(f"{safe!r}: invalid host name {host!r}")
    return ascii_host
