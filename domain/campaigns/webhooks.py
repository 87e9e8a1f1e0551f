"""Where a webhook may point and which headers it may carry (docs/webhooks.md).

A webhook makes the notification service send an HTTP request chosen by a tenant, so its URL is a
request-forgery vector: it must not reach the service's own network (loopback, private ranges,
link-local cloud metadata at 169.254.169.254, ...). The policy is checked three times:

1. when the campaign is written (`check_webhook`, from domain.campaigns.rules): https only, no
   user:password@, the scheme and host written literally (templating only in path and query, so
   a contact's data can never choose the host), no IP literal or special name that is not public,
   headers well-formed and limited;
2. before a run fans out or a transactional message is composed (`check_destinations`): the same
   static checks on the content actually used (a creative-service template included), and every
   address the host resolves to, through the HostResolver port, must be public;
3. the configured headers travel with each message (`with_headers`, `delivery_content`), so what
   was validated is what is delivered.

Pure: addresses are parsed with the standard library's `ipaddress`, names are resolved by the
adapter behind HostResolver (tests stub it and never connect anywhere).
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Iterable, Mapping, Sequence
from urllib.parse import urlsplit

from domain.campaigns.model import ChannelContent
from domain.campaigns.ports import HostResolver
from domain.kernel.channels import Channel
from domain.kernel.errors import FailedPreconditionError, PreconditionViolation, ViolationCollector

MAX_URL = 2048  # what browsers, proxies and most HTTP servers accept
MAX_HEADERS = 20
MAX_HEADER_NAME = 64
MAX_HEADER_VALUE = 1024
MAX_HEADERS_TOTAL = 8 * 1024  # names and values together
# Set by the HTTP client from the request itself, or hop-by-hop: a configured value would be
# ignored at best and smuggle a second request at worst. Authorization is allowed (a webhook's
# shared secret is a legitimate use); it is stored with the campaign like any other content.
FORBIDDEN_HEADERS = frozenset(
    {
        "host",
        "content-length",
        "transfer-encoding",
        "connection",
        "keep-alive",
        "proxy-connection",
        "proxy-authorization",
        "proxy-authenticate",
        "te",
        "trailer",
        "upgrade",
        "expect",
        "http2-settings",
    }
)
# Names that only resolve inside a network, or are reserved (RFC 6761, 6762, 8375), and the
# metadata services' names; any name under them is refused as well.
BLOCKED_DOMAINS = (
    "localhost",
    "localdomain",
    "local",
    "internal",
    "intranet",
    "lan",
    "home.arpa",
    "arpa",
    "invalid",
    "test",
    "metadata.goog",
)
# Prefix of a header's key in a rendered content (`header:X-Signature`): header names are RFC
# 7230 tokens, which never contain `:`, and no text field's name does either.
HEADER_KEY_PREFIX = "header:"

_TOKEN = re.compile(r"^[!#$%&'*+.^_`|~0-9A-Za-z-]+$")
_BAD_VALUE = re.compile(r"[\x00-\x08\x0a-\x1f\x7f]")  # controls but tab: CR, LF, NUL, ...
_BAD_URL_CHAR = re.compile(r"[\x00-\x20\x7f\\]")
_TEMPLATE_START = re.compile(r"\{[{%#]")
_TAGS = re.compile(r"\{\{.*?\}\}|\{%.*?%\}|\{#.*?#\}", re.DOTALL)
_LABEL = re.compile(r"^[a-z0-9_](?:[a-z0-9_-]{0,61}[a-z0-9_])?$")
_NUMERIC_LABEL = re.compile(r"^(?:0x[0-9a-f]*|[0-9]+)$")
_NAT64 = ipaddress.IPv6Network("64:ff9b::/96")


def check_webhook(v: ViolationCollector, where: str, content: ChannelContent) -> None:
    """Add a violation for each policy breach of a webhook content's URL and headers
    (`where` is e.g. `channels[0].webhook`)."""
    if content.url:
        problem = url_problem(content.url)
        if problem:
            v.add(f"{where}.url", problem)
    for field, problem in header_problems(content.headers):
        v.add(f"{where}.{field}", problem)


def url_problem(url: str) -> str | None:
    """Why `url` may not be a webhook destination, or None. The part before the first template
    tag must hold the whole scheme and host and end the host with `/`, `?` or `#`."""
    if len(url) > MAX_URL:
        return f"must be at most {MAX_URL} characters (got {len(url)})"
    if _BAD_URL_CHAR.search(_TAGS.sub("", url)):
        return "must not contain spaces, control characters or backslashes"
    tag = _TEMPLATE_START.search(url)
    literal = url[: tag.start()] if tag else url
    try:
        parts = urlsplit(literal)
    except ValueError:  # e.g. an unclosed or invalid [IPv6] host
        return "not a valid URL"
    if parts.scheme != "https" or not literal.lower().startswith("https://"):
        return "must be an absolute https:// URL"
    if tag and not re.search(r"[/?#]", literal[len("https://") :]):
        return "the scheme and host must be written out; templates may only fill path and query"
    if "@" in parts.netloc:
        return "must not carry a user name or password (user:password@)"
    try:
        parts.port  # noqa: B018 - raises ValueError on a malformed port
    except ValueError:
        return "has an invalid port"
    host = parts.hostname or ""
    if not host:
        return "must be an absolute https:// URL"
    problem = host_problem(host)
    return f"must not target {host!r}: {problem}" if problem else None


def webhook_host(url: str) -> str:
    """The host of a URL that passed `url_problem`, as it is resolved."""
    tag = _TEMPLATE_START.search(url)
    return (urlsplit(url[: tag.start()] if tag else url).hostname or "").rstrip(".")


def host_problem(host: str) -> str | None:
    """Why a host (a name or an IP literal, lower-case, IPv6 without brackets) is not public."""
    host = host.rstrip(".")
    address = _literal_address(host)
    if address is not None:
        return address_problem(address)
    labels = host.split(".")
    if _NUMERIC_LABEL.match(labels[-1]):
        # 2130706433, 0177.0.0.1, 0x7f.1, 127.1: resolvers read these as IPv4 addresses.
        return "an IP address must be written as four decimal numbers (a.b.c.d)"
    if len(host) > 253 or not all(_LABEL.match(label) for label in labels):
        return "not a valid host name (use the xn-- form for international names)"
    if len(labels) < 2:
        return "not a fully qualified public domain name"
    for blocked in BLOCKED_DOMAINS:
        if host == blocked or host.endswith("." + blocked):
            return f"names under .{blocked} are not public"
    return None


def address_problem(address: ipaddress.IPv4Address | ipaddress.IPv6Address | str) -> str | None:
    """Why an IP address is not a public unicast destination, or None. An IPv6 address that
    embeds an IPv4 one (mapped, 6to4, Teredo, NAT64) is judged by the IPv4 address too."""
    ip = ipaddress.ip_address(address) if isinstance(address, str) else address
    for embedded in _embedded_ipv4(ip):
        problem = address_problem(embedded)
        if problem:
            return problem
    for flag, name in (
        (ip.is_unspecified, "unspecified"),
        (ip.is_loopback, "loopback"),
        (ip.is_link_local, "link-local (cloud metadata)"),
        (ip.is_multicast, "multicast"),
        (ip.is_reserved, "reserved"),
        (ip.is_private, "private"),
    ):
        if flag:
            return f"{ip} is a {name} address"
    if not ip.is_global:  # e.g. 100.64.0.0/10 (carrier-grade NAT), 192.0.0.0/24
        return f"{ip} is not a public address"
    return None


def _embedded_ipv4(
    ip: ipaddress.IPv4Address | ipaddress.IPv6Address,
) -> Iterable[ipaddress.IPv4Address]:
    if not isinstance(ip, ipaddress.IPv6Address):
        return ()
    found = [ip.ipv4_mapped, ip.sixtofour, *(ip.teredo or ())]
    if ip in _NAT64:
        found.append(ipaddress.IPv4Address(int(ip) & 0xFFFF_FFFF))
    return [a for a in found if a is not None]


def header_problems(headers: Sequence[tuple[str, str]]) -> list[tuple[str, str]]:
    """(field path, problem) for each breach of the header policy."""
    problems: list[tuple[str, str]] = []
    if len(headers) > MAX_HEADERS:
        problems.append(("headers", f"at most {MAX_HEADERS} headers (got {len(headers)})"))
        return problems
    total = sum(len(name) + len(value) for name, value in headers)
    if total > MAX_HEADERS_TOTAL:
        problems.append(("headers", f"at most {MAX_HEADERS_TOTAL} characters in all"))
    seen: set[str] = set()
    for name, value in headers:
        shown = name[:MAX_HEADER_NAME]
        field = f"headers[{shown!r}]"
        if not 0 < len(name) <= MAX_HEADER_NAME or not _TOKEN.match(name):
            problems.append(
                (field, f"a header name is 1-{MAX_HEADER_NAME} letters, digits or !#$%&'*+.^_`|~-")
            )
            continue
        lower = name.lower()
        if lower in FORBIDDEN_HEADERS:
            problems.append((field, f"{name} is set by the HTTP client and may not be configured"))
        elif lower in seen:
            problems.append((field, f"{name} appears more than once (names ignore case)"))
        seen.add(lower)
        if len(value) > MAX_HEADER_VALUE:
            problems.append((field, f"a header value is at most {MAX_HEADER_VALUE} characters"))
        elif _BAD_VALUE.search(value):
            problems.append((field, "a header value must not contain CR, LF, NUL or controls"))
    return problems


async def check_destinations(
    contents: Iterable[ChannelContent], resolver: HostResolver | None
) -> None:
    """FailedPreconditionError if a webhook content breaks the policy now: its URL or headers
    (a template's content is checked here first), or an address its host resolves to. Each
    host is resolved once; without a resolver only the static checks run."""
    problems: list[PreconditionViolation] = []
    hosts: dict[str, str] = {}
    for content in contents:
        if content.channel is not Channel.WEBHOOK or not content.url:
            continue
        v = ViolationCollector()
        check_webhook(v, "webhook", content)
        problems += [_destination(x.field, x.description) for x in v.violations]
        if not v.violations:
            hosts.setdefault(webhook_host(content.url), content.url)
    if resolver is not None:
        for host in hosts:
            problem = await resolved_problem(host, resolver)
            if problem:
                problems.append(_destination("webhook.url", f"{host}: {problem}"))
    if problems:
        raise FailedPreconditionError(
            "webhook destination refused: " + "; ".join(p.description for p in problems[:5]),
            violations=problems,
        )


async def resolved_problem(host: str, resolver: HostResolver) -> str | None:
    """Why a host that passed the static checks is not a destination once resolved."""
    address = _literal_address(host)
    if address is not None:
        return address_problem(address)
    addresses = await resolver.resolve(host)
    if not addresses:
        return "does not resolve"
    for text in addresses:
        try:
            problem = address_problem(text)
        except ValueError:
            problem = f"resolves to an unreadable address {text[:64]!r}"
        if problem:
            return f"resolves to {problem}"
    return None


def _destination(subject: str, description: str) -> PreconditionViolation:
    return PreconditionViolation("WEBHOOK_DESTINATION", subject, description)


def with_headers(texts: dict[str, str], headers: Sequence[tuple[str, str]]) -> dict[str, str]:
    """A rendered content with its headers, each under `header:<Name>`, so they are stored and
    delivered with the message."""
    for name, value in headers:
        texts[HEADER_KEY_PREFIX + name] = value
    return texts


def split_headers(content: Mapping[str, str]) -> tuple[dict[str, str], dict[str, str]]:
    """(texts, headers) of a rendered content made by `with_headers`."""
    texts: dict[str, str] = {}
    headers: dict[str, str] = {}
    for key, value in content.items():
        if key.startswith(HEADER_KEY_PREFIX):
            headers[key[len(HEADER_KEY_PREFIX) :]] = value
        else:
            texts[key] = value
    return texts, headers


def delivery_content(content: Mapping[str, str]) -> dict[str, object]:
    """A message's content as the notification service reads it: the texts, and the headers
    (if any) as one `headers` object."""
    texts, headers = split_headers(content)
    return {**texts, "headers": headers} if headers else dict(texts)


def _literal_address(host: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    """The address a host names literally (`10.0.0.1`, `::1`), or None for a name."""
    try:
        return ipaddress.ip_address(host)
    except ValueError:
        return None
