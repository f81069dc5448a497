"""``notes-kb``: a thin command line over the build, the server and the tools.

Each command lives in its own module, which provides ``configure_<name>(parser)`` and
``run_<name>(args) -> int`` (the exit status); modules are imported only when their command runs.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Mapping, Sequence
from types import MappingProxyType

COMMANDS: Mapping[str, tuple[str, str]] = MappingProxyType(
    {
        "build": (
            "server.content",
            "build posts, llms.txt and llms-full.txt from an RSS/Atom feed",
        ),
        "check": ("server.content", "check that the built content is current and well formed"),
        "serve": (
            "server.commands",
            "run the HTTP service (JSON API, Markdown, llms.txt, MCP at /mcp)",
        ),
        "mcp": ("server.commands", "run the MCP server over stdio"),
        "call": ("server.commands", "run one tool in-process and print its JSON result"),
        "export": ("server.commands", "write a static copy for any file host or CDN"),
    }
)


def make_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="notes-kb", description=__doc__.splitlines()[0])
    parser.add_argument(
        "--root",
        default=None,
        help="knowledge base root holding llms.txt and content/ (default: the repository)",
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for name, (module_name, help_text) in COMMANDS.items():
        command = sub.add_parser(name, help=help_text, description=help_text)
        module = importlib.import_module(module_name)
        getattr(module, f"configure_{name}")(command)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = make_parser().parse_args(argv)
    module = importlib.import_module(COMMANDS[args.command][0])
    status: int = getattr(module, f"run_{args.command}")(args)
    return status


if __name__ == "__main__":
    sys.exit(main())
