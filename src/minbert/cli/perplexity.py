"""``minbert perplexity``: train an n-gram language model on one file and report its perplexity on another."""

import argparse
import json

from minbert.cli.bleu import read_lines
from minbert.cli.options import naming_flags, path_value
from minbert.errors import DataError
from minbert.lm import NGramConfig, NGramLM
from minbert.metrics.perplexity import perplexity

# The options that set an NGramConfig field, by field.
FLAGS = {"order": "--order", "smoothing": "--smoothing", "k": "--k", "discount": "--discount",
         "min_count": "--min-count"}


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "perplexity", help="perplexity of an n-gram language model on a text file",
        description="Train an n-gram model on --train and print its perplexity on --eval. Both files have one "
                    "sentence per line, split into words at whitespace, and blank lines are skipped. Perplexity "
                    "counts every word and every end of sentence.",
    )
    parser.add_argument("--train", metavar="FILE", type=path_value, required=True, help="UTF-8 text to train on")
    parser.add_argument("--eval", metavar="FILE", type=path_value, required=True, help="UTF-8 text to evaluate")
    parser.add_argument("--order", type=int, default=3, help="n-gram order n, at least 1 (default: %(default)s)")
    parser.add_argument("--smoothing", choices=("kneser-ney", "add-k"), default="kneser-ney",
                        help="interpolated Kneser-Ney or add-k (default: %(default)s)")
    parser.add_argument("--k", type=float, default=1.0, help="pseudo-count of add-k smoothing (default: %(default)s)")
    parser.add_argument("--discount", type=float, default=0.75,
                        help="Kneser-Ney discount, in (0, 1] (default: %(default)s)")
    parser.add_argument("--min-count", type=int, default=1,
                        help="training words seen fewer times become <unk> (default: %(default)s)")
    parser.add_argument("--lowercase", action="store_true", help="lowercase both files before splitting")
    parser.add_argument("--json", action="store_true", help="print the result as JSON")
    parser.set_defaults(run=run)


def read_sentences(path: str, *, lowercase: bool) -> list[list[str]]:
    sentences = []
    for line in read_lines(path):
        words = (line.lower() if lowercase else line).split()
        if words:
            sentences.append(words)
    if not sentences:
        raise DataError(f"{path} has no sentences: give one sentence per line")
    return sentences


def run(args: argparse.Namespace) -> int:
    with naming_flags(FLAGS):
        config = NGramConfig(order=args.order, smoothing=args.smoothing, k=args.k, discount=args.discount,
                             min_count=args.min_count)
    model = NGramLM.train(read_sentences(args.train, lowercase=args.lowercase), config=config)
    evaluation = read_sentences(args.eval, lowercase=args.lowercase)

    result = perplexity(model.log_probs(evaluation), unit="bits")
    num_words = sum(map(len, evaluation))
    unknown = sum(word not in model.vocabulary for sentence in evaluation for word in sentence)
    if args.json:
        print(json.dumps({"file": args.eval, "perplexity": result.perplexity, "cross_entropy_bits": result.cross_entropy,
                          "tokens": result.num_tokens, "sentences": len(evaluation), "words": num_words,
                          "unknown_words": unknown, "order": config.order, "smoothing": config.smoothing,
                          "vocabulary_size": len(model.vocabulary)}))
    else:
        print(f"{args.eval}: perplexity {result.perplexity:.2f}, cross-entropy {result.cross_entropy:.4f} bits per token")
        print(f"{result.num_tokens} tokens ({num_words} words and {len(evaluation)} ends of sentence), "
              f"{unknown / num_words:.2%} of words unknown")
        print(f"model: order {config.order}, {config.smoothing}, vocabulary of {len(model.vocabulary)} tokens")
    return 0
