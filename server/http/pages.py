"""The few HTML pages the unsubscribe link shows (plain, no script, nothing fetched)."""

from __future__ import annotations

from html import escape

_PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="robots" content="noindex">
<title>{title}</title></head>
<body style="font-family: sans-serif; max-width: 32em; margin: 4em auto;">
<h1>{title}</h1>
{body}
</body></html>
"""


def masked(address: str) -> str:
    """`u***@example.com`: enough for its owner to recognise, little for whoever the email was
    forwarded to."""
    local, at, domain = address.partition("@")
    return f"{local[:1]}***{at}{domain}" if at else f"{address[:1]}***"


def confirm_page(address: str) -> str:
    """GET of an unsubscribe link: a form that POSTs to the same URL (RFC 8058's body)."""
    body = (
        f"<p>Stop receiving these messages at <strong>{escape(masked(address))}</strong>?</p>\n"
        '<form method="post">\n'
        '<input type="hidden" name="List-Unsubscribe" value="One-Click">\n'
        '<button type="submit">Unsubscribe</button>\n'
        "</form>"
    )
    return _PAGE.format(title="Unsubscribe", body=body)


def done_page() -> str:
    return _PAGE.format(
        title="You are unsubscribed", body="<p>You will not receive these emails any more.</p>"
    )


def not_found_page() -> str:
    return _PAGE.format(title="Not found", body="<p>This link is not valid.</p>")


def unavailable_page() -> str:
    return _PAGE.format(
        title="Please try again shortly",
        body="<p>We could not record this just now. Please try again in a minute.</p>",
    )
