"""``minbert tokenizer train``: learn a byte-level BPE or WordPiece tokenizer from text files.

Every output path is checked before training, and no output may be a
training file. BPE writes into no folder that contains a model (config.json).
WordPiece writes only into a new or empty folder or an earlier WordPiece
output (see ``minbert.outputs``).
"""

import argparse
import json
import logging
from collections.abc import Iterator, Sequence
from pathlib import Path

from minbert.atomic import check_writable, write_text_atomic
from minbert.cli.options import naming_flags, path_value
from minbert.errors import ConfigError, DataError, OutputError
from minbert.outputs import WORDPIECE_FOLDER, check_not_input, check_output_folder, output_path
from minbert.tokenizers.bpe import PATTERNS, BPETokenizer
from minbert.tokenizers.hf_export import save_tokenizer_json
from minbert.tokenizers.wordpiece import WordPieceTokenizer

logger = logging.getLogger(__name__)

HF_TOKENIZER_FILE = "tokenizer.json"
# The options that set an argument of BPETokenizer.train or WordPieceTokenizer.train, by argument.
FLAGS = {"vocab_size": "--vocab-size", "pattern": "--pattern", "score": "--score"}


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "tokenizer", help="train a tokenizer on text files",
        description="Train and save tokenizers. Use `minbert tokenize` to see how a tokenizer splits text.",
    )
    actions = parser.add_subparsers(dest="action", metavar="ACTION", required=True)
    train = actions.add_parser(
        "train", help="learn a byte-level BPE or WordPiece vocabulary from UTF-8 text files",
        description="Learn a tokenizer from FILE..., read line by line as UTF-8. BPE writes minbert's JSON file "
                    f"at --output and a Hugging Face {HF_TOKENIZER_FILE} next to it, replacing both if they "
                    f"exist (a warning names an existing {HF_TOKENIZER_FILE} first), but never in a folder that "
                    "contains a model (config.json). WordPiece writes vocab.txt and tokenizer_config.json into "
                    "the folder --output, replacing those two files if they exist. That folder must be new, "
                    "empty or contain only those two files. No output "
                    "may be a training file, and every output is checked before training starts.",
    )
    train.add_argument("files", metavar="FILE", type=path_value, nargs="+", help="UTF-8 text file to train on")
    train.add_argument("--kind", choices=("bpe", "wordpiece"), required=True, help="tokenizer type")
    train.add_argument("--vocab-size", type=int, required=True, metavar="N",
                       help="number of tokens, special tokens included")
    train.add_argument("--output", metavar="PATH", type=path_value, required=True,
                       help=f"BPE: the JSON file to write. It and the {HF_TOKENIZER_FILE} beside it are "
                            "replaced if they exist. WordPiece: the folder to write vocab.txt and "
                            "tokenizer_config.json into. Existing copies of those two files are replaced, and "
                            "any other file in the folder is rejected before training")
    train.add_argument("--pattern", metavar="NAME",
                       help=f"BPE pre-tokenization regex: {', '.join(PATTERNS)} (default: gpt2)")
    train.add_argument("--special-token", metavar="TOKEN", action="append", default=[], dest="special_tokens",
                       help="BPE special token, given one id of its own; repeat for more")
    train.add_argument("--no-lowercase", action="store_true",
                       help="WordPiece: keep case and accents (a cased vocabulary)")
    train.add_argument("--score", choices=("likelihood", "count"), default=None,
                       help="WordPiece: rank pairs by count(a b) alone (count, the default, as the tokenizers "
                            "trainer does) or by the textbook count(a b) / (count(a) * count(b)) (likelihood)")
    train.add_argument("--no-progress", action="store_true", help="hide the progress bar over merges")
    train.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    if args.kind == "bpe":
        if args.no_lowercase:
            raise ConfigError("--no-lowercase applies to --kind wordpiece only; BPE never changes case")
        if args.score is not None:
            raise ConfigError("--score applies to --kind wordpiece only; BPE always merges the most frequent pair")
        return _train_bpe(args)
    if args.pattern is not None or args.special_tokens:
        raise ConfigError("--pattern and --special-token apply to --kind bpe only; WordPiece uses BERT's "
                          "pre-splitting and its five special tokens")
    return _train_wordpiece(args)


def read_lines(paths: Sequence[str]) -> Iterator[str]:
    """Yield the lines of each file, line ends included, raising DataError that names a missing or non-UTF-8 file."""
    for path in paths:
        try:
            with open(path, "rb") as file:
                for line_number, raw_line in enumerate(file, start=1):
                    try:
                        yield raw_line.decode("utf-8")
                    except UnicodeDecodeError as err:
                        raise DataError(
                            f"{path}, line {line_number}: not valid UTF-8 (byte {err.start} of the line)"
                        ) from None
        except FileNotFoundError:
            raise DataError(f"training file not found: {path}") from None
        except OSError as err:
            raise DataError(f"cannot read training file {path}: {err.strerror}") from None


def training_inputs(paths: Sequence[str]) -> list[tuple[Path, str]]:
    """Return the training files as (path, description) pairs for ``minbert.outputs`` checks."""
    return [(Path(path), f"the training file {path}") for path in paths]


def check_bpe_outputs(output: Path, hf_output: Path, files: Sequence[str]) -> None:
    """Raise OutputError or ConfigError, before training, when ``output`` or ``hf_output`` may not be written."""
    if output.name == HF_TOKENIZER_FILE:
        raise ConfigError(f"--output {output} would be overwritten by the Hugging Face {HF_TOKENIZER_FILE} "
                          "written next to it; choose another file name, such as bpe.json")
    inputs = training_inputs(files)
    check_not_input(output, inputs, name=f"--output {output}")
    check_not_input(hf_output, inputs, name=f"{hf_output}, written next to --output,")
    check_writable(output)
    check_writable(hf_output)
    # transformers loads a folder's tokenizer.json in preference to its vocab.txt, so one written into a model
    # folder would silently change the model's tokenization.
    if (output.parent / "config.json").is_file():
        raise OutputError(f"--output {output}: the folder {output.parent} contains a model (config.json), whose "
                          f"{HF_TOKENIZER_FILE} the BPE export would add or replace; choose another folder")
    if hf_output.exists():
        logger.warning("%s exists and will be replaced by the Hugging Face export of this tokenizer", hf_output)


def _train_bpe(args: argparse.Namespace) -> int:
    output = output_path(args.output, "--output")
    hf_output = output.with_name(HF_TOKENIZER_FILE)
    check_bpe_outputs(output, hf_output, args.files)

    with naming_flags(FLAGS):
        tokenizer = BPETokenizer.train(
            read_lines(args.files), vocab_size=args.vocab_size, pattern=args.pattern or "gpt2",
            special_tokens=args.special_tokens, show_progress=not args.no_progress,
        )
    output.parent.mkdir(parents=True, exist_ok=True)
    tokenizer.save(output)
    save_tokenizer_json(tokenizer, hf_output)
    print(f"wrote a BPE tokenizer with {tokenizer.vocab_size} tokens to {output} and {hf_output}")
    return 0


def _train_wordpiece(args: argparse.Namespace) -> int:
    folder = output_path(args.output, "--output")
    check_output_folder(folder, WORDPIECE_FOLDER, flag="--output", kind="WordPiece tokenizer folder",
                        inputs=training_inputs(args.files), replaced_whole=False)

    lowercase = not args.no_lowercase
    with naming_flags(FLAGS):
        tokenizer = WordPieceTokenizer.train(
            read_lines(args.files), vocab_size=args.vocab_size, lowercase=lowercase,
            score=args.score or "count", show_progress=not args.no_progress
        )
    folder.mkdir(parents=True, exist_ok=True)
    tokenizer.save_vocab(folder / "vocab.txt")
    # transformers and minbert.model.pretrained.load_tokenizer read do_lower_case from this file.
    write_text_atomic(folder / "tokenizer_config.json", json.dumps({"do_lower_case": lowercase}) + "\n")
    print(f"wrote a WordPiece vocabulary with {tokenizer.vocab_size} tokens to {folder / 'vocab.txt'}")
    return 0
