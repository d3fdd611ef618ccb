"""A search index: the embeddings of a corpus, stored beside it and rebuilt when stale.

The index is one .npz file holding the (M, C) float32 embeddings and a JSON
record of what they were computed from:

- the text column and the SHA-256 of the texts that were read, with their
  line numbers. Hashing the texts that were embedded, not the file read a
  second time, also covers a corpus read from a pipe (``/dev/stdin``,
  ``<(...)``);
- a fingerprint of the model: the SHA-256 of every file of the model folder
  that can change an embedding (weights, config, vocabulary, pooling), and
  the encoder's pooling, normalisation and maximum length.

``load_or_build`` reuses the stored embeddings only when that record equals
the current one, so an edited corpus or a retrained model always rebuilds
the index, and a stale index is never used. A file that cannot be read as
an index, or whose embeddings are not finite float32 numbers, is rebuilt
as well. To keep that from replacing a user's file, an
index file's name must end in ``.minbert-index.npz`` and must not be the
corpus, and the target is checked for writing before any text is embedded.
Scores are cosine similarities.
"""

import hashlib
import io
import json
import logging
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from minbert.atomic import atomic_path, check_writable
from minbert.data.texts import TextLine, read_texts
from minbert.embeddings.encoder import SentenceEncoder
from minbert.errors import OutputError
from minbert.outputs import resolve_output

logger = logging.getLogger(__name__)

INDEX_SUFFIX = ".minbert-index.npz"
# Format 2 fingerprints the texts read; format 1 hashed the corpus file a second time.
INDEX_FORMAT = 2
# Files of a model folder whose content changes the embeddings.
MODEL_FILES = ("config.json", "model.safetensors", "pytorch_model.bin", "vocab.txt", "tokenizer_config.json",
               "modules.json", "sentence_bert_config.json", "1_Pooling/config.json")


@dataclass(frozen=True)
class SearchIndex:
    texts: list[TextLine]
    embeddings: np.ndarray      # (M, C) float32, one row per text
    rebuilt: bool               # True when this call computed the embeddings


@dataclass(frozen=True)
class Hit:
    text: TextLine
    score: float


def default_index_path(corpus: str | Path) -> Path:
    corpus = Path(corpus)
    return corpus.with_name(corpus.name + INDEX_SUFFIX)


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as data:
        for chunk in iter(lambda: data.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def texts_sha256(texts: list[TextLine]) -> str:
    """Hash the texts and their line numbers: equal hashes mean the same embeddings and the same hits."""
    digest = hashlib.sha256()
    for text in texts:
        # JSON escapes line breaks, so the newline after each record cannot occur inside one.
        digest.update(json.dumps([text.line, text.text]).encode("utf-8") + b"\n")
    return digest.hexdigest()


def model_fingerprint(folder: Path, encoder: SentenceEncoder) -> dict[str, object]:
    """Describe the model by the hashes of its files and the encoder's settings."""
    files = {name: file_sha256(folder / name) for name in MODEL_FILES if (folder / name).is_file()}
    return {"files": files, "pooling": encoder.pooling, "normalize": encoder.normalize,
            "max_length": encoder.max_length}


def load_or_build(corpus: str | Path, encoder: SentenceEncoder, *, model_folder: str | Path,
                  column: str | None = None, index_path: str | Path | None = None,
                  batch_size: int = 32, show_progress: bool | None = None) -> SearchIndex:
    """Return the corpus embeddings from a current index file, or compute them and write the file."""
    corpus = Path(corpus)
    index_path = default_index_path(corpus) if index_path is None else Path(index_path)
    texts = read_texts(corpus, column=column)
    check_index_path(index_path, corpus=corpus)
    record = {"format": INDEX_FORMAT, "texts_sha256": texts_sha256(texts), "column": column,
              "texts": len(texts), "model": model_fingerprint(Path(model_folder), encoder)}

    stored = _read_index(index_path)
    if stored is not None:
        stored_record, embeddings = stored
        if stored_record == record and embeddings.shape == (len(texts), encoder.dimension):
            return SearchIndex(texts=texts, embeddings=embeddings, rebuilt=False)
        logger.warning("%s: index is stale (%s changed); rebuilding it", index_path,
                       _what_changed(stored_record, record))

    embeddings = encoder.encode([text.text for text in texts], batch_size=batch_size, normalize=True,
                                show_progress=show_progress)
    with atomic_path(index_path) as temporary:
        buffer = io.BytesIO()
        np.savez(buffer, embeddings=embeddings, record=np.array(json.dumps(record, sort_keys=True)))
        temporary.write_bytes(buffer.getvalue())
    return SearchIndex(texts=texts, embeddings=embeddings, rebuilt=True)


def search(index: SearchIndex, query_embedding: np.ndarray, *, top_k: int) -> list[Hit]:
    """Return the ``top_k`` texts by cosine similarity to the query, best first (ties by file order)."""
    query = query_embedding / max(float(np.linalg.norm(query_embedding)), 1e-12)
    scores = index.embeddings @ query                                     # (M,)
    order = np.argsort(-scores, kind="stable")[:top_k]
    return [Hit(text=index.texts[position], score=float(scores[position])) for position in order]


def check_index_path(index_path: Path, *, corpus: Path) -> None:
    """Raise OutputError unless ``index_path`` is an index file name that can be written, other than the corpus."""
    if not index_path.name.endswith(INDEX_SUFFIX):
        raise OutputError(f"--index {index_path}: an index file name must end in {INDEX_SUFFIX}, "
                          "so that no other file is replaced")
    resolve_output(index_path, flag="--index")
    try:
        target = check_writable(index_path)
    except OutputError as error:
        raise OutputError(f"{error}; pass --index PATH in a writable folder") from None
    if not target.name.endswith(INDEX_SUFFIX):
        raise OutputError(f"--index {index_path} is a link to {target}, whose name does not end in "
                          f"{INDEX_SUFFIX}; choose another index file")
    if target.exists() and target.resolve() == corpus.resolve():
        raise OutputError(f"--index {index_path} is the corpus file; choose another index file")


def _read_index(path: Path) -> tuple[dict, np.ndarray] | None:
    """Return the stored record and embeddings, or None when the file is missing or is not an index."""
    if not path.is_file():
        return None
    try:
        with np.load(path, allow_pickle=False) as stored:
            record, embeddings = json.loads(str(stored["record"])), stored["embeddings"]
        if (isinstance(record, dict) and embeddings.ndim == 2 and embeddings.dtype == np.float32
                and np.isfinite(embeddings).all()):
            return record, embeddings
    # A damaged file can fail in many ways inside numpy and zipfile; any of them means "rebuild".
    except Exception:  # noqa: BLE001
        pass
    logger.warning("%s: not a readable minbert index; rebuilding it", path)
    return None


def _what_changed(old: dict, new: dict) -> str:
    if old.get("format") != new.get("format"):
        return "index format"
    changed = [name for name in ("texts_sha256", "column", "model") if old.get(name) != new.get(name)]
    names = {"texts_sha256": "corpus", "column": "column", "model": "model"}
    return ", ".join(names[name] for name in changed) or "shape"
