"""Placeholder: the server commands are being written."""

from __future__ import annotations

import argparse


def configure_serve(parser: argparse.ArgumentParser) -> None:
    pass


def run_serve(args: argparse.Namespace) -> int:
    raise SystemExit("notes-kb serve: not implemented yet")


def configure_mcp(parser: argparse.ArgumentParser) -> None:
    pass


def run_mcp(args: argparse.Namespace) -> int:
    raise SystemExit("notes-kb mcp: not implemented yet")


def configure_call(parser: argparse.ArgumentParser) -> None:
    pass


def run_call(args: argparse.Namespace) -> int:
    raise SystemExit("notes-kb call: not implemented yet")


def configure_export(parser: argparse.ArgumentParser) -> None:
    pass


def run_export(args: argparse.Namespace) -> int:
    raise SystemExit("notes-kb export: not implemented yet")
