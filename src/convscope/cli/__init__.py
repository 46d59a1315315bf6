"""The command line: parse, call the library, show progress, print results."""
from __future__ import annotations

import os
import sys
import warnings
from typing import Sequence

from convscope import api
from convscope.cli.common import configure_terminal
from convscope.cli.parser import build_parser, overview
from convscope.cli.spec_flags import flag
from convscope.errors import ConvscopeError


def _note(message, category, *_rest, **_kw) -> None:
    """The library's notes (a render that could not compile) as one line on stderr."""
    print(f"convscope: note: {message}", file=sys.stderr)


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    bare = not (sys.argv[1:] if argv is None else argv)
    args = None if bare else parser.parse_args(argv)
    try:
        if args is None:
            print(overview(parser))
            return 0
        configure_terminal(args)
        with warnings.catch_warnings():
            warnings.simplefilter("always", api.CompileFallback)
            shown = warnings.showwarning
            warnings.showwarning = lambda m, c, *a, **k: (_note(m, c) if issubclass(c, api.CompileFallback)
                                                         else shown(m, c, *a, **k))
            with api.compiling(getattr(args, "compile", "auto")):
                args.run(args)
    except ConvscopeError as e:
        print(f"convscope: error: {e.worded(flag)}", file=sys.stderr)
        return 2
    except OSError as e:
        if isinstance(e, BrokenPipeError):  # the reader went away (| head): not an error
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
            return 0
        print(f"convscope: error: {e.strerror or e}: {e.filename or ''}".rstrip(": "), file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("convscope: interrupted", file=sys.stderr)
        return 130
    return 0

