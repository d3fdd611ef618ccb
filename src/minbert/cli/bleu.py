"""``minbert bleu``: corpus BLEU of a hypothesis file against reference files, printed like sacrebleu."""

import argparse
import json
import sys
from pathlib import Path

from minbert.cli.options import naming_flags, path_value
from minbert.errors import ConfigError, DataError
from minbert.metrics.bleu import SMOOTH_METHODS, BleuConfig, BleuScore, corpus_bleu
from minbert.metrics.bleu_tokenizers import BLEU_TOKENIZERS

STDIN = "-"
# A float64 carries at most 17 significant decimal digits, so more decimal places would print only noise.
MAX_WIDTH = 17
# The options that set a BleuConfig field, by field.
FLAGS = {"tokenize": "--tokenize", "smooth_method": "--smooth-method", "smooth_value": "--smooth-value",
         "max_ngram_order": "--max-ngram-order"}


def read_lines(path: str) -> list[str]:
    """Read a UTF-8 text file, or standard input for ``-``, as lines without their newlines.

    Lines end only at ``\\n``, like sacrebleu's reader, so a form feed or
    U+2028 inside a line does not split it.
    """
    name = "<stdin>" if path == STDIN else path
    data = sys.stdin.buffer.read() if path == STDIN else read_file_bytes(Path(path))
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as error:
        line_start = data.rfind(b"\n", 0, error.start) + 1
        line = data.count(b"\n", 0, error.start) + 1
        bad_bytes = data[error.start:error.end]
        raise DataError(f"{name}:{line}: invalid UTF-8 bytes {bad_bytes!r} at byte offset {error.start - line_start} "
                        "of the line (expected UTF-8 text)") from None
    lines = text.split("\n")
    if lines[-1] == "":
        lines.pop()
    return lines


def read_file_bytes(path: Path) -> bytes:
    """Return the bytes of the text file ``path``, raising DataError when it is missing or unreadable."""
    expected = "expected a UTF-8 text file with one text per line"
    if path.is_dir():
        raise DataError(f"{path}: is a folder ({expected})")
    try:
        return path.read_bytes()
    except FileNotFoundError:
        raise DataError(f"{path}: file not found ({expected})") from None
    except OSError as error:
        raise DataError(f"{path}: failed to read: {error.strerror} ({expected})") from None


def check_same_length(hypotheses: list[str], hypothesis_name: str, references: list[str], reference_name: str) -> None:
    if len(references) != len(hypotheses):
        raise DataError(f"{reference_name} has {len(references)} lines but {hypothesis_name} has "
                        f"{len(hypotheses)}: give one reference line per hypothesis line")


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "bleu", help="corpus BLEU of a hypothesis file, with sacrebleu's numbers",
        description="Score one hypothesis per line (standard input, or --input) against one or more reference "
                    "files with the same number of lines, and print the score in sacrebleu's text format.",
    )
    parser.add_argument("--ref", "-r", metavar="REF", type=path_value, nargs="+", required=True,
                        help="reference files with one line per hypothesis, several files for several references")
    parser.add_argument("--input", "-i", metavar="HYP", type=path_value, default=STDIN,
                        help="hypothesis file (default: standard input)")
    parser.add_argument("--tokenize", "-tok", choices=sorted(BLEU_TOKENIZERS), default="13a",
                        help="tokenizer applied before counting n-grams (default: %(default)s)")
    parser.add_argument("--lowercase", "-lc", action="store_true", help="lowercase hypotheses and references")
    parser.add_argument("--smooth-method", "-s", choices=SMOOTH_METHODS, default="exp",
                        help="smoothing of zero n-gram precisions (default: %(default)s)")
    parser.add_argument("--smooth-value", "-sv", type=float, default=None,
                        help="value for the floor (default 0.1) and add-k (default 1) methods")
    parser.add_argument("--max-ngram-order", type=int, default=4,
                        help="largest n-gram order N in the geometric mean (default: %(default)s)")
    parser.add_argument("--effective-order", action="store_true",
                        help="leave out n-gram orders that the hypotheses are too short to have")
    parser.add_argument("--width", "-w", type=int, default=1,
                        help=f"decimal places of the printed score, 0 to {MAX_WIDTH} (default: %(default)s)")
    parser.add_argument("--json", action="store_true", help="print the score and its statistics as JSON")
    parser.set_defaults(run=run)


def format_text(score: BleuScore, width: int) -> str:
    """Return sacrebleu's one-line text format: signature, score, precisions, brevity penalty and lengths."""
    precisions = "/".join(f"{precision:.1f}" for precision in score.precisions)
    return (f"BLEU|{score.signature} = {score.score:.{width}f} {precisions} "
            f"(BP = {score.brevity_penalty:.3f} ratio = {score.ratio:.3f} "
            f"hyp_len = {score.hyp_len:d} ref_len = {score.ref_len:d})")


def format_json(score: BleuScore) -> str:
    fields = dict(field.split(":", 1) for field in score.signature.split("|"))
    result = {"name": "BLEU", "score": score.score, "signature": score.signature,
              "precisions": list(score.precisions), "brevity_penalty": score.brevity_penalty,
              "ratio": score.ratio, "hyp_len": score.hyp_len, "ref_len": score.ref_len,
              "matches": list(score.matches), "totals": list(score.totals), **fields}
    return json.dumps(result, indent=1, ensure_ascii=False)


def run(args: argparse.Namespace) -> int:
    if not 0 <= args.width <= MAX_WIDTH:
        raise ConfigError(f"--width {args.width} is invalid (expected 0 to {MAX_WIDTH} decimal places)")
    with naming_flags(FLAGS):
        config = BleuConfig(tokenize=args.tokenize, lowercase=args.lowercase, smooth_method=args.smooth_method,
                            smooth_value=args.smooth_value, max_ngram_order=args.max_ngram_order,
                            effective_order=args.effective_order)
    hypotheses = read_lines(args.input)
    hypothesis_name = "standard input" if args.input == STDIN else args.input
    if not hypotheses:
        raise DataError(f"{hypothesis_name} is empty: give one hypothesis per line")
    references = []
    for path in args.ref:
        lines = read_lines(path)
        check_same_length(hypotheses, hypothesis_name, lines, path)
        references.append(lines)

    score = corpus_bleu(hypotheses, references, config=config)
    print(format_json(score) if args.json else format_text(score, args.width))
    return 0
