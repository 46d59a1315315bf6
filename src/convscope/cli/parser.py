"""The argument parser: every command, from its declaration beside its handler (``Command``):
its arguments, the flags of its spec and the shared flag groups it takes."""
from __future__ import annotations

import argparse

from convscope import __version__
from convscope.cli import (
    circuit_command,
    concept_commands,
    info,
    labels_command,
    layer_commands,
    photo_commands,
    pictures,
    serve_command,
    trust_command,
)
from convscope.cli.flags import Command
from convscope.cli.spec_flags import add_spec_flags

COMMANDS: list[Command] = [
    *[c for c in pictures.COMMANDS if c.name == "demo"],
    *info.COMMANDS,
    *[c for c in pictures.COMMANDS if c.name in ("filter", "grid", "render")],
    *[c for c in photo_commands.COMMANDS if c.name in ("dream", "classviz", "accentuate", "caricature", "explain",
                                                       "spectrum", "saliency")],
    *[c for c in layer_commands.COMMANDS if c.name in ("atlas", "exemplars", "activation-atlas")],
    *concept_commands.COMMANDS,
    *[c for c in layer_commands.COMMANDS if c.name == "twins"],
    *[c for c in pictures.COMMANDS if c.name == "stats"],
    *trust_command.COMMANDS,
    *circuit_command.COMMANDS,
    *labels_command.COMMANDS,
    *serve_command.COMMANDS,
]
"""Every command, in the order ``convscope`` and ``--help`` list them."""


class Parser(argparse.ArgumentParser):
    """An argument parser whose errors are one line, exit status 2, like every other error.
    ``commands`` lists (name, one-line help) of its subcommands, in order."""

    commands: list[tuple[str, str]]

    def error(self, message: str) -> None:  # type: ignore[override]
        self.exit(2, f"convscope: error: {message} (see {self.prog} --help)\n")


class HelpFormatter(argparse.ArgumentDefaultsHelpFormatter):
    """Shows every option's default, unless it has none."""

    def _get_help_string(self, action: argparse.Action) -> str:
        if action.default in (None, False) or "(default" in (action.help or ""):
            return action.help or ""
        return super()._get_help_string(action) or ""


def build_parser() -> Parser:
    """The parser of every command in ``COMMANDS``."""
    parser = Parser(prog="convscope", description="See what a convolutional network has learned.",
                    formatter_class=HelpFormatter)
    parser.add_argument("--version", action="version", version=f"convscope {__version__}")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND", parser_class=Parser)
    parser.commands = []
    for command in COMMANDS:
        parser.commands.append((command.name, command.brief or command.help))
        p = sub.add_parser(command.name, formatter_class=HelpFormatter, help=command.help)
        p.add_argument("--quiet", action="store_true", help="print nothing but errors and warnings: no progress "
                       "bars, no summary")
        command.arguments(p)
        if command.spec is not None:
            add_spec_flags(p, command.spec)
        for group in command.groups:
            group(p)
        p.set_defaults(run=command.run)
    return parser


def overview(parser: Parser) -> str:
    """What ``convscope`` alone prints: every command with its one line, and where to start."""
    width = max(len(name) for name, _ in parser.commands) + 2
    lines = ["convscope: see what a convolutional network has learned, by optimizing input images.", "",
             "Start with `convscope demo`: the article's three results (a filter grid, a DeepDream, a fooling",
             "image) in out/, in about a minute. Then `convscope COMMAND --help` for a command's options.", "",
             "Commands:"]
    lines += [f"  {name:<{width}}{help}" for name, help in parser.commands]
    return "\n".join(lines)
