"""``minbert rouge``: ROUGE of a hypothesis file against a reference file, printed like rouge-score."""

import argparse
import json

from minbert.cli.bleu import STDIN, check_same_length, read_lines
from minbert.cli.options import naming_flags, path_value
from minbert.errors import DataError
from minbert.metrics.rouge import RougeConfig, bootstrap_interval, check_bootstrap_settings, corpus_rouge

FIELDS = (("R", "recall"), ("P", "precision"), ("F", "fmeasure"))
# The options that set a RougeConfig field or a bootstrap_interval argument, by name.
FLAGS = {"rouge_types": "--rouge-types", "confidence": "--confidence", "num_samples": "--bootstrap-samples",
         "seed": "--seed"}


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "rouge", help="ROUGE of a hypothesis file, with rouge-score's numbers",
        description="Score one hypothesis per line (standard input, or --input) against the reference on the "
                    "same line of --ref. Prints the corpus mean of each ROUGE type with a bootstrap confidence "
                    "interval, in the CSV layout of rouge-score's command line (score_type,low,mid,high), "
                    "where mid is the mean.",
    )
    parser.add_argument("--ref", "-r", metavar="REF", type=path_value, required=True,
                        help="reference file, one line per hypothesis")
    parser.add_argument("--input", "-i", metavar="HYP", type=path_value, default=STDIN,
                        help="hypothesis file (default: standard input)")
    parser.add_argument("--rouge-types", metavar="TYPE", nargs="+", default=["rouge1", "rouge2", "rougeL"],
                        help="rouge1 to rouge9, rougeL or rougeLsum (default: %(default)s). rougeLsum splits "
                             "texts at newlines, so with one text per line it equals rougeL")
    parser.add_argument("--use-stemmer", action="store_true", help="Porter-stem tokens longer than 3 characters")
    parser.add_argument("--confidence", type=float, default=0.95,
                        help="coverage of the bootstrap interval (default: %(default)s)")
    parser.add_argument("--bootstrap-samples", type=int, default=1000,
                        help="number of bootstrap resamples (default: %(default)s)")
    parser.add_argument("--seed", type=int, default=0, help="seed of the bootstrap resampling (default: %(default)s)")
    parser.add_argument("--json", action="store_true", help="print the intervals and settings as JSON")
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    # Every option is checked before the files are read and scored.
    with naming_flags(FLAGS):
        config = RougeConfig(rouge_types=tuple(args.rouge_types), use_stemmer=args.use_stemmer)
        check_bootstrap_settings(confidence=args.confidence, num_samples=args.bootstrap_samples, seed=args.seed)
    hypotheses = read_lines(args.input)
    hypothesis_name = "standard input" if args.input == STDIN else args.input
    if not hypotheses:
        raise DataError(f"{hypothesis_name} is empty: give one hypothesis per line")
    references = read_lines(args.ref)
    check_same_length(hypotheses, hypothesis_name, references, args.ref)

    scores = corpus_rouge(hypotheses=hypotheses, references=references, config=config)
    with naming_flags(FLAGS):
        intervals = bootstrap_interval(scores, confidence=args.confidence, num_samples=args.bootstrap_samples,
                                       seed=args.seed)
    if args.json:
        result = {rouge_type: {field: {bound: getattr(getattr(interval, bound), field)
                                       for bound in ("low", "mid", "high")} for _, field in FIELDS}
                  for rouge_type, interval in intervals.items()}
        print(json.dumps({"scores": result, "num_pairs": len(scores), "use_stemmer": args.use_stemmer,
                          "confidence": args.confidence, "bootstrap_samples": args.bootstrap_samples,
                          "seed": args.seed}, indent=1))
        return 0

    print("score_type,low,mid,high")
    for rouge_type, interval in sorted(intervals.items()):
        for letter, field in FIELDS:
            low, mid, high = (getattr(bound, field) for bound in (interval.low, interval.mid, interval.high))
            print(f"{rouge_type}-{letter},{low:f},{mid:f},{high:f}")
    return 0
