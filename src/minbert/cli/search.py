"""``minbert search``: the lines of a corpus closest in meaning to a query."""

import argparse
import sys
from pathlib import Path

from minbert.cli.options import (add_encoder_options, check_batch_size, check_not_blank, counted,
                                 load_sentence_encoder, path_value, warn_tokenless)
from minbert.embeddings.index import default_index_path, load_or_build, search
from minbert.errors import ConfigError


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "search", help="find the lines of a corpus closest in meaning to a query",
        description="Embed QUERY and print the --top-k texts of --corpus with the highest cosine similarity: "
                    "score, line number and text, tab-separated. The corpus embeddings are stored beside the "
                    "corpus in FILE.minbert-index.npz and reused while the texts read from the corpus and the "
                    "model files are unchanged; a stale index is rebuilt.",
    )
    parser.add_argument("query", metavar="QUERY", help="text to search for")
    parser.add_argument("--corpus", metavar="FILE", type=path_value, required=True,
                        help="text file with one text per line, or a table file with --column")
    parser.add_argument("--column", metavar="NAME", help="column of a table corpus holding the texts")
    parser.add_argument("--top-k", type=int, default=5, metavar="K", help="number of results (default: %(default)s)")
    parser.add_argument("--index", metavar="FILE", type=path_value, help="index file (default: beside the corpus)")
    add_encoder_options(parser)
    parser.set_defaults(run=run)


def printable(text: str) -> str:
    """Return ``text`` on one line for a terminal: whitespace runs as one space, other control characters escaped.

    A table cell may hold tabs and line breaks, and a corpus may hold escape
    sequences that would recolour or retitle the terminal.
    """
    text = " ".join(text.split())
    return "".join(character if character.isprintable() else character.encode("unicode_escape").decode("ascii")
                   for character in text)


def run(args: argparse.Namespace) -> int:
    check_not_blank(args.query, "the query")
    check_batch_size(args.batch_size)
    if args.top_k < 1:
        raise ConfigError(f"--top-k {args.top_k} is invalid (expected 1 or more)")
    encoder, folder = load_sentence_encoder(args.model)
    check_not_blank(args.query, "the query", encoder)
    index_path = Path(args.index) if args.index else default_index_path(args.corpus)
    index = load_or_build(args.corpus, encoder, model_folder=folder, column=args.column, index_path=index_path,
                          batch_size=args.batch_size, show_progress=None if args.progress else False)
    if index.rebuilt:
        warn_tokenless(index.texts, encoder.tokenizer, args.corpus)
        print(f"indexed {counted(len(index.texts), 'text')} into {index_path}", file=sys.stderr)
    for hit in search(index, encoder.encode(args.query, normalize=True), top_k=args.top_k):
        print(f"{hit.score:.4f}\t{hit.text.line}\t{printable(hit.text.text)}")
    return 0
