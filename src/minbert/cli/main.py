"""The ``minbert`` command: argument parsing, and the one place errors become exit codes.

Each subcommand lives in its own module with ``add_parser(subparsers)`` and
``run(args)``. Bad input raised below as a ``MinbertError`` is printed as one
line and exits with status 2; Ctrl-C exits with status 130.
"""

import argparse
import logging
import os
import signal
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from importlib import import_module
from typing import NoReturn

from minbert import __version__
from minbert.errors import MinbertError

# The modules of minbert.cli that define a subcommand, in the order of `minbert --help`. Most of them
# import torch, which takes a second or more, so main imports them under exit_on_interrupt.
SUBCOMMANDS = ("finetune", "evaluate", "predict", "embed", "similarity", "search", "sbert", "bleu", "rouge",
               "perplexity", "tokenizer", "tokenize")


class OneLineErrorParser(argparse.ArgumentParser):
    """An ArgumentParser whose usage errors are one line on stderr, exit status 2."""

    def error(self, message: str) -> NoReturn:
        self.exit(2, f"{self.prog}: error: {message} (see {self.prog} --help)\n")


@contextmanager
def exit_on_interrupt() -> Iterator[None]:
    """Make Ctrl-C inside the block print one line and exit with status 130 at once, raising nothing.

    Importing torch runs C++ code that calls back into Python. A KeyboardInterrupt raised in such a
    callback does not reach main, because the C++ runtime aborts with "terminate called" and status 134.
    The block runs unchanged outside the main thread, where no signal handler can be set, and when
    Ctrl-C is ignored or already handled by other code.
    """
    if (threading.current_thread() is not threading.main_thread()
            or signal.getsignal(signal.SIGINT) is not signal.default_int_handler):
        yield
        return

    def exit_now(signum: int, frame: object) -> None:
        # Nothing has been written yet, so exiting without cleanup loses nothing.
        os.write(2, b"minbert: interrupted\n")
        os._exit(130)

    previous = signal.signal(signal.SIGINT, exit_now)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)


def build_parser() -> argparse.ArgumentParser:
    parser = OneLineErrorParser(
        prog="minbert",
        description="BERT and the NLP around it, from scratch: fine-tune and evaluate BERT classifiers, "
                    "embed, compare and search sentences, train sentence encoders and tokenizers, and score "
                    "text with BLEU, ROUGE and perplexity.",
    )
    parser.add_argument("--version", action="version", version=f"minbert {__version__}")
    parser.add_argument("-v", "--verbose", action="store_true", help="log progress details (INFO level)")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for name in SUBCOMMANDS:
        import_module(f"minbert.cli.{name}").add_parser(subparsers)
    return parser


def parse_arguments(parser: argparse.ArgumentParser, argv: list[str] | None) -> argparse.Namespace:
    """Parse ``argv``; an unknown argument is reported by the innermost subcommand, which points to its --help."""
    args, unknown = parser.parse_known_args(argv)
    if not unknown:
        return args
    # Descend through the chosen subcommands: `minbert sbert train` has two levels.
    while True:
        commands = next((action for action in parser._actions if isinstance(action, argparse._SubParsersAction)),
                        None)
        if commands is None:
            break
        parser = commands.choices[getattr(args, commands.dest)]
    parser.error(f"unrecognized arguments: {' '.join(unknown)}")


def main(argv: list[str] | None = None) -> int:
    # Named "minbert" until the arguments name the subcommand.
    prog = "minbert"
    try:
        with exit_on_interrupt():
            parser = build_parser()
        args = parse_arguments(parser, argv)
        prog = f"minbert {args.command}"
        logging.basicConfig(level=logging.INFO if args.verbose else logging.WARNING,
                            format="%(levelname)s %(name)s: %(message)s")
        return args.run(args) or 0
    except MinbertError as error:
        print(f"{prog}: error: {error}", file=sys.stderr)
        return 2
    except BrokenPipeError:
        # The reader of our output went away (`minbert rouge ... | head`): stop quietly, as Unix tools do.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0
    except OSError as error:
        # Files the command writes: a missing permission, a full disk, a path that is a folder.
        print(f"{prog}: error: {error}", file=sys.stderr)
        return 2
    except MemoryError:
        # NumPy raises it for arrays that do not fit, e.g. from a huge --bootstrap-samples.
        print(f"{prog}: error: out of memory (expected smaller inputs or option values)", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(f"{prog}: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
