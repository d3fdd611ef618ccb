"""``minbert predict``: write a fine-tuned checkpoint's predictions to CSV."""

import argparse
import csv
import io
from pathlib import Path

from minbert.atomic import check_writable, write_text_atomic
from minbert.cli.options import add_column_options, check_batch_size, counted, path_value, warn_tokenless
from minbert.data.readers import read_labelled
from minbert.outputs import check_not_input, folder_files, output_path
from minbert.training.batches import encode_texts
from minbert.training.checkpoint import load_classifier
from minbert.training.evaluate import predict_logits


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "predict", help="write predictions of a fine-tuned checkpoint to CSV",
        description="Classify every text of --input and write one CSV row per text: its line in the input, "
                    "the predicted label index and name, and the probability of each class.",
    )
    parser.add_argument("--checkpoint", metavar="DIR", type=path_value, required=True,
                        help="folder written by minbert finetune")
    parser.add_argument("--input", metavar="FILE", type=path_value, required=True,
                        help="CSV, TSV or JSONL file with a text column")
    parser.add_argument("--output", metavar="FILE", type=path_value, required=True,
                        help="CSV file to write; it may not be the --input file or a file of the --checkpoint folder")
    add_column_options(parser, label=False)
    parser.add_argument("--batch-size", type=int, metavar="N", default=64,
                        help="texts per batch (default: %(default)s)")
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    check_batch_size(args.batch_size)
    output = output_path(args.output, "--output")
    inputs = [(Path(args.input), "the --input file"), *folder_files(Path(args.checkpoint), "the --checkpoint folder")]
    check_not_input(output, inputs, name=f"--output {output}")
    check_writable(output)
    model, tokenizer, info = load_classifier(args.checkpoint)
    rows = read_labelled(args.input, text_column=args.text_column, label_column=None)
    warn_tokenless(rows, tokenizer, args.input)
    encoded = encode_texts(tokenizer, [row.text for row in rows], None, max_length=info.max_length)
    probabilities = predict_logits(model, encoded, batch_size=args.batch_size,
                                   pad_id=tokenizer.pad_token_id).softmax(dim=1)

    # Build the CSV in memory, then write it atomically.
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(["line", "label", "label_name", *(f"p_{name}" for name in info.label_names)])
    for row, row_probabilities in zip(rows, probabilities.tolist()):
        label = max(range(len(row_probabilities)), key=row_probabilities.__getitem__)
        writer.writerow([row.line, label, info.label_names[label], *(f"{p:.6f}" for p in row_probabilities)])
    write_text_atomic(output, buffer.getvalue())
    print(f"wrote {counted(len(rows), 'prediction')} to {output}")
    return 0
