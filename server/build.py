"""Placeholder: the content build is being written."""

from __future__ import annotations

import argparse


def configure_build(parser: argparse.ArgumentParser) -> None:
    pass


def run_build(args: argparse.Namespace) -> int:
    raise SystemExit("notes-kb build: not implemented yet")


def configure_check(parser: argparse.ArgumentParser) -> None:
    pass


def run_check(args: argparse.Namespace) -> int:
    raise SystemExit("notes-kb check: not implemented yet")
