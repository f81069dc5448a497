"""``POST /hooks/feed``: a signed request to refresh now (the WebSub / GitHub convention).

The body must be signed with ``NOTES_KB_WEBHOOK_SECRET`` as ``X-Hub-Signature-256:
sha256=<hex HMAC-SHA256 of the body>``, compared in constant time. The hook only asks for a
refresh (bursts coalesce into one); what is served still comes from the feed itself, so a replayed
request can at most cause one extra conditional GET.
"""

from __future__ import annotations

import hashlib
import hmac

SIGNATURE_HEADER = "X-Hub-Signature-256"
MAX_BODY_BYTES = 64 << 10


def sign(secret: str, body: bytes) -> str:
    """The header value a sender computes: ``sha256=<hex HMAC-SHA256 of body>``."""
    return "sha256=" + hmac.new(secret.encode("utf-8"), body, hashlib.sha256).hexdigest()


def signature_problem(secret: str, body: bytes, header: str | None) -> str | None:
    """None when ``header`` signs ``body`` with ``secret``; else what is wrong, for the error."""
    if not header:
        return f"{SIGNATURE_HEADER}: expected sha256=<hex HMAC-SHA256 of the body>, got nothing"
    scheme, _, digest = header.strip().partition("=")
    if scheme != "sha256" or len(digest) != 64:
        return f"{SIGNATURE_HEADER}: expected sha256=<64 hex digits>, got a value of another form"
    if not hmac.compare_digest(sign(secret, body).encode("ascii"), header.strip().encode("utf-8")):
        return f"{SIGNATURE_HEADER}: expected the HMAC-SHA256 of the body, got another signature"
    return None
