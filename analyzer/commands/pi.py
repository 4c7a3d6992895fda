"""pgqa pi: not available yet."""

from __future__ import annotations

import argparse

from analyzer.commands.common import not_available


def add_arguments(p: argparse.ArgumentParser) -> None:
    pass


def run(args: argparse.Namespace) -> int:
    return not_available("pi")
