"""The scripts a shared page may run, and its Content-Security-Policy.

report.html is sent to colleagues, so it carries a policy that lets only its own inline scripts run: each
is allowed by the SHA-256 of its text, and nothing else (no 'unsafe-inline'), so a tag or an `onerror=`
that slipped into the page through a string cannot run. The report's own scripts are those of the page
template and those the report notebook declares next to its outputs (itables' tables) under
SCRIPT_HASHES in the output's metadata; a payload is a string in an output, never metadata.
"""

from __future__ import annotations

import base64
import hashlib
import re

SCRIPT_HASHES = "sweeplab_script_sha256"  # output metadata: the hashes of the scripts an output legitimately holds
# An inline script: a <script> without src, its text up to the closing tag (the HTML parser ends it there too).
_INLINE_SCRIPT = re.compile(r"<script\b(?![^>]*\bsrc\s*=)[^>]*>(.*?)</script\s*>", re.S | re.I)


def script_hashes(page: str) -> list[str]:
    """The base64 SHA-256 of each inline script's text in `page`, as a Content-Security-Policy names them."""
    return [base64.b64encode(hashlib.sha256(body.encode()).digest()).decode()
            for body in _INLINE_SCRIPT.findall(page)]


def content_security_policy(allowed: set[str] | list[str]) -> str:
    """A policy that runs only the inline scripts hashed in `allowed` and the modules they load from blob: URLs
    (itables unpacks its bundled DataTables that way); no plugin, no <base>, no form posting anywhere.
    Styles and images (data: URIs) are not restricted: they cannot run code."""
    sources = " ".join(f"'sha256-{h}'" for h in sorted(set(allowed)))
    return f"script-src {sources} blob:; object-src 'none'; base-uri 'none'; form-action 'none'"


def with_policy(page: str, allowed: set[str] | list[str]) -> str:
    """`page` with its Content-Security-Policy as the first element of <head>, before any script."""
    meta = f'<meta http-equiv="Content-Security-Policy" content="{content_security_policy(allowed)}">'
    head = re.search(r"<head\b[^>]*>", page, re.I)
    if head is None:
        raise ValueError("the page has no <head> to carry its Content-Security-Policy")
    return page[:head.end()] + "\n" + meta + page[head.end():]
