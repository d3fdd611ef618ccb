"""``minbert embed``: write the sentence embeddings of a file to .npy."""

import argparse
import io
from pathlib import Path

import numpy as np

from minbert.atomic import atomic_path, check_writable
from minbert.cli.options import (add_encoder_options, check_batch_size, load_sentence_encoder, path_value,
                                 warn_tokenless)
from minbert.data.texts import read_texts
from minbert.outputs import check_not_input, folder_files, model_input, output_path


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "embed", help="write the sentence embeddings of a file to .npy",
        description="Embed every non-blank line of FILE (or every cell of --column in a CSV, TSV or JSONL "
                    "file) and write an (M, C) float32 array in NumPy's .npy format. Row i is the i-th "
                    "non-blank line of a text file, or the i-th row of a table, where a blank cell is an error. "
                    "Pooling, normalisation and maximum length come from the model folder.",
    )
    parser.add_argument("file", metavar="FILE", type=path_value,
                        help="text file with one text per line, or a table file")
    parser.add_argument("--column", metavar="NAME", help="column of a CSV, TSV or JSONL file holding the texts")
    parser.add_argument("--output", metavar="FILE.npy", type=path_value,
                        help="output file (default: FILE with the suffix .npy); it may not be FILE or a file "
                             "of the --model folder")
    add_encoder_options(parser)
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    check_batch_size(args.batch_size)
    output = Path(args.file).with_suffix(".npy") if args.output is None else output_path(args.output, "--output")
    check_not_input(output, [(Path(args.file), "the input file"), *folder_files(*model_input(args.model))],
                    name=f"--output {output}")
    check_writable(output)
    # Row i of the array is row i of a table, so a blank cell is an error rather than skipped.
    texts = read_texts(args.file, column=args.column, skip_blank_cells=False)
    encoder, _ = load_sentence_encoder(args.model)
    warn_tokenless(texts, encoder.tokenizer, args.file)
    embeddings = encoder.encode([text.text for text in texts], batch_size=args.batch_size,
                                show_progress=None if args.progress else False)
    with atomic_path(output) as temporary:
        buffer = io.BytesIO()
        np.save(buffer, embeddings)
        temporary.write_bytes(buffer.getvalue())
    print(f"wrote {embeddings.shape[0]} x {embeddings.shape[1]} embeddings to {output}")
    return 0
