"""``notes-kb serve``: uvicorn with the app factory bound to one ``Settings``, any number of
workers, and the request-receipt deadlines of :mod:`server.web.deadlines`.

The settings reach every worker as the factory's argument (``partial(create_app, settings)``,
pickled into each spawned worker by uvicorn's supervisor), not through environment variables.
"""

from __future__ import annotations

from contextlib import suppress
from functools import partial
from typing import TYPE_CHECKING

from server.config import Settings
from server.web.deadlines import protocol_factory

if TYPE_CHECKING:
    from starlette.applications import Starlette


def limit_blas_threads(settings: Settings) -> None:
    """Cap this process's BLAS pool at ``Limits.blas_threads`` (threadpoolctl, for whichever BLAS
    numpy and scipy load): a heavy tool's matrix products then use one core per worker. The
    libraries are loaded first, since a limit applies only to the pools already loaded."""
    import numpy  # noqa: F401
    import scipy.linalg  # noqa: F401
    from threadpoolctl import threadpool_limits

    threadpool_limits(limits=settings.limits.blas_threads, user_api="blas")


def worker_app(settings: Settings) -> Starlette:
    """The app of one uvicorn worker: BLAS threads capped first, then ``create_app``."""
    from server.web.app import create_app

    limit_blas_threads(settings)
    return create_app(settings)


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

    config = uvicorn.Config(
        partial(worker_app, settings),
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
