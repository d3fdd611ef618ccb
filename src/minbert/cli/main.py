"""The ``minbert`` command: argument parsing, and the one place errors become exit codes.

Each subcommand lives in its own module with ``add_parser(subparsers)`` and
``run(args)``. Bad input raised below as a ``MinbertError`` is printed as one
line and exits with status 2; Ctrl-C exits with status 130.
"""

import argparse
import logging
import os
import sys
from typing import NoReturn

from minbert import __version__
from minbert.cli import (bleu, embed, evaluate, finetune, perplexity, predict, rouge, sbert, search, similarity,
                         tokenize, tokenizer)
from minbert.errors import MinbertError

SUBCOMMANDS = (finetune, evaluate, predict, embed, similarity, search, sbert, bleu, rouge, perplexity, tokenizer,
               tokenize)


class OneLineErrorParser(argparse.ArgumentParser):
    """An ArgumentParser whose usage errors are one line on stderr, exit status 2."""

    def error(self, message: str) -> NoReturn:
        self.exit(2, f"{self.prog}: error: {message} (see {self.prog} --help)\n")


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
    for module in SUBCOMMANDS:
        module.add_parser(subparsers)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO if args.verbose else logging.WARNING,
                        format="%(levelname)s %(name)s: %(message)s")
    try:
        return args.run(args) or 0
    except MinbertError as error:
        print(f"minbert {args.command}: error: {error}", file=sys.stderr)
        return 2
    except BrokenPipeError:
        # The reader of our output went away (`minbert rouge ... | head`): stop quietly, as Unix tools do.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0
    except OSError as error:
        # Files the command writes: a missing permission, a full disk, a path that is a folder.
        print(f"minbert {args.command}: error: {error}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(f"minbert {args.command}: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
