"""Link targets: which URL schemes survive, Markdown link destinations and titles, and embedded
media as links to their pages (a YouTube embed → ``https://www.youtube.com/watch?v=…``)."""

from __future__ import annotations

import re
from urllib.parse import parse_qs, urlsplit

from server.ingest.markdown.elements import WS

__all__ = ["SAFE_SCHEMES", "link_dest", "link_title", "media_link"]

SAFE_SCHEMES = frozenset({"http", "https", "mailto", "ftp", "ftps", "tel", "xmpp", "irc", ""})


def media_link(url: str, tag: str) -> tuple[str, str]:
    parts = urlsplit(url)
    host = parts.netloc.lower()
    if host.startswith("www."):
        host = host[4:]
    if host in ("youtube.com", "youtube-nocookie.com", "m.youtube.com"):
        m = re.match(r"/embed/([A-Za-z0-9_-]+)", parts.path)
        if m:
            return f"https://www.youtube.com/watch?v={m.group(1)}", "YouTube video"
        vid = parse_qs(parts.query).get("v")
        if vid:
            return f"https://www.youtube.com/watch?v={vid[0]}", "YouTube video"
        return url, "YouTube video"
    if host == "player.vimeo.com":
        m = re.match(r"/video/(\d+)", parts.path)
        if m:
            return f"https://vimeo.com/{m.group(1)}", "Vimeo video"
    label = {"video": "Video", "audio": "Audio"}.get(tag, "Embedded media")
    return url, label


def link_dest(url: str) -> str:
    if re.search(r"[\s<>]", url) or url.count("(") != url.count(")"):
        return "<" + url.replace("<", "%3C").replace(">", "%3E").replace("\n", "") + ">"
    return url


def link_title(title: str) -> str:
    title = WS.sub(" ", title).strip()
    if not title:
        return ""
    return ' "' + title.replace("\\", "\\\\").replace('"', '\\"') + '"'
