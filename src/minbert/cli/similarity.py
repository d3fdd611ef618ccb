"""``minbert similarity``: the cosine similarity of two texts' embeddings."""

import argparse

import numpy as np

from minbert.cli.options import add_model_option, check_not_blank, load_sentence_encoder


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "similarity", help="print the cosine similarity of two texts",
        description="Embed two texts and print the cosine similarity of their embeddings, from -1 to 1.",
    )
    parser.add_argument("first", metavar="TEXT_A", help="first text")
    parser.add_argument("second", metavar="TEXT_B", help="second text")
    add_model_option(parser)
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    check_not_blank(args.first, "TEXT_A")
    check_not_blank(args.second, "TEXT_B")
    encoder, _ = load_sentence_encoder(args.model)
    check_not_blank(args.first, "TEXT_A", encoder)
    check_not_blank(args.second, "TEXT_B", encoder)
    first, second = encoder.encode([args.first, args.second], normalize=True)
    print(f"{float(np.dot(first, second)):.4f}")
    return 0
