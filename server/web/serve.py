"""``notes-kb serve``: uvicorn with the app factory bound to one ``Settings``, any number of
workers, and the request-receipt deadlines of :mod:`server.web.deadlines`.

The settings reach every worker as the factory's argument (``partial(create_app, settings)``,
pickled into each spawned worker by uvicorn's supervisor), not through environment variables.
"""

from __future__ import annotations

from contextlib import suppress
from functools import partial

from server.config import Settings
from server.web.deadlines import protocol_factory


def serve(
    settings: Settings,
    *,
    host: str = "127.0.0.1",
    port: int = 8000,
    workers: int = 1,
    log_level: str = "info",
    access_log: bool = True,
) -> bool:
    """Serve until SIGINT/SIGTERM (graceful shutdown); False when the server failed to start."""
    import uvicorn
    from uvicorn.supervisors import Multiprocess

    from server.web.app import create_app

    config = uvicorn.Config(
        partial(create_app, settings),
        factory=True,
        host=host,
        port=port,
        workers=workers,
        http=protocol_factory(settings.limits),
        log_level=log_level,
        access_log=access_log,
        proxy_headers=True,
    )
    server = uvicorn.Server(config)
    if workers > 1:
        Multiprocess(config, sockets=[config.bind_socket()]).run()
        return True
    with suppress(KeyboardInterrupt):
        server.run()
    return server.started
