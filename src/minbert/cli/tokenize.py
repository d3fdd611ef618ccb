"""``minbert tokenize``: show how a tokenizer splits a text, as pieces or as ids."""

import argparse
from pathlib import Path

from minbert.cli.options import path_value
from minbert.errors import ConfigError, DataError, TokenizerError
from minbert.model.pretrained import default_model_dir, load_tokenizer
from minbert.tokenizers.bpe import BPETokenizer
from minbert.tokenizers.wordpiece import WordPieceTokenizer

PIECE_SEPARATOR = "|"
# Line breaks and tabs inside a BPE piece are escaped, so each piece stays visible on one line.
_ESCAPES = str.maketrans({"\n": "\\n", "\r": "\\r", "\t": "\\t"})


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "tokenize", help="show the tokens of a text",
        description=f"Split TEXT into tokens and print them separated by '{PIECE_SEPARATOR}' "
                    "(WordPiece continuations keep their ##), or print the ids with --ids. "
                    "No [CLS] or [SEP] is added.",
    )
    parser.add_argument("text", metavar="TEXT", help="text to tokenize")
    parser.add_argument(
        "--tokenizer", metavar="PATH", type=path_value, required=True,
        help="a folder with vocab.txt, a vocab.txt file, a BPE JSON file written by `minbert tokenizer train`, "
             "or 'default' for the vocabulary of all-MiniLM-L6-v2",
    )
    parser.add_argument("--ids", action="store_true", help="print the token ids instead of the pieces")
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    if not args.text:
        raise DataError("TEXT is empty (expected some text)")
    tokenizer = load_any_tokenizer(args.tokenizer)
    if isinstance(tokenizer, BPETokenizer):
        try:
            ids = tokenizer.encode(args.text, allowed_special="all")
        except ValueError as err:
            raise ConfigError(f"cannot tokenize TEXT: {err}") from None
        # A piece can end inside a UTF-8 sequence, so undecodable bytes are shown as \xNN escapes.
        pieces = [tokenizer.token_bytes[index].decode("utf-8", errors="backslashreplace").translate(_ESCAPES)
                  for index in ids]
    else:
        ids = tokenizer.text_to_ids(args.text)
        if not ids:
            raise DataError(f"TEXT {args.text!r} has no token after normalisation (expected some text)")
        pieces = tokenizer.convert_ids_to_tokens(ids)

    if args.ids:
        print(" ".join(map(str, ids)))
    else:
        print(PIECE_SEPARATOR.join(pieces))
    return 0


def load_any_tokenizer(location: str) -> WordPieceTokenizer | BPETokenizer:
    """Load the tokenizer at ``location``: 'default', a folder with vocab.txt, a vocab.txt file or a BPE JSON file."""
    if location == "default":
        return load_tokenizer(default_model_dir())
    path = Path(location)
    if path.is_dir():
        if not (path / "vocab.txt").is_file():
            raise TokenizerError(f"tokenizer folder {path} has no vocab.txt")
        return load_tokenizer(path)
    if path.suffix == ".json":
        return BPETokenizer.load(path)
    if not path.is_file():
        raise TokenizerError(
            f"tokenizer not found: {path}. Pass a folder with vocab.txt, a vocab.txt file, a BPE JSON file or 'default'"
        )
    # A vocab.txt inside a model folder uses that folder's tokenizer_config.json for casing.
    if path.name == "vocab.txt":
        return load_tokenizer(path.parent)
    return WordPieceTokenizer.from_vocab(path)
