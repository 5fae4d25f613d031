"""Text embedders behind one small interface.

`OnnxMiniLMEmbedder` is the offline default (all-MiniLM-L6-v2 int8 via onnxruntime);
`OpenAIEmbedder` is used when configured; `HashingEmbedder` is a deterministic stand-in that
only unit tests may use, because it knows nothing of meaning.
"""

from __future__ import annotations

import hashlib
import os
import threading
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, Protocol

import numpy as np

from retrieval.errors import KnowledgeBaseError


class Embedder(Protocol):
    """Turns texts into L2-normalised vectors of a fixed dimension."""

    name: str
    dimension: int

    def embed(self, texts: Sequence[str]) -> np.ndarray: ...


def _normalise(vectors: np.ndarray) -> np.ndarray:
    norms = np.linalg.norm(vectors, axis=1, keepdims=True)
    return (vectors / np.maximum(norms, 1e-12)).astype(np.float32)


class OnnxMiniLMEmbedder:
    """all-MiniLM-L6-v2 (int8 ONNX): mean pooling over tokens, then L2 normalisation.

    A query or a chart's few mentions run on one session whose operators use every thread
    (lowest latency); many texts at once (a KB build) run as small batches side by side, one
    single-threaded session call per thread: at ~13 tokens a text the model's operators are
    too small to split across threads, and this embeds ~30 % more texts per CPU second."""

    dimension = 384
    max_tokens = 128
    batch_rows = 16  # texts per model call, grouped by length
    bulk_texts = 256  # from this many texts, embed batches in parallel...
    bulk_batch_rows = 8  # ...of this many texts (measured fastest on 2 cores)

    def __init__(self, model_dir: Path, threads: int = 2) -> None:
        from tokenizers import Tokenizer

        model_path, tokenizer_path = model_dir / "model.onnx", model_dir / "tokenizer.json"
        for required in (model_path, tokenizer_path):
            if not required.is_file():
                raise KnowledgeBaseError(
                    f"embedding model file missing: {required} "
                    "(set MEDCODER_EMBEDDING_MODEL_DIR to a folder with model.onnx and "
                    "tokenizer.json)"
                )
        self.name = f"onnx:{model_dir.name}"
        self.model_dir = model_dir.resolve()
        self._threads = threads
        self._tokenizer = Tokenizer.from_file(str(tokenizer_path))
        # The shipped tokenizer pads every text to 128 tokens; padding per batch is 8x faster.
        self._tokenizer.no_padding()
        self._tokenizer.enable_truncation(self.max_tokens)
        self._session = self._open_session(threads)
        self._bulk: tuple[Any, ThreadPoolExecutor, int] | None = None
        self._bulk_lock = threading.Lock()

    def _open_session(self, threads: int) -> Any:
        import onnxruntime as ort

        options = ort.SessionOptions()
        options.intra_op_num_threads = threads
        options.inter_op_num_threads = 1
        options.log_severity_level = 3
        return ort.InferenceSession(
            str(self.model_dir / "model.onnx"), options, providers=["CPUExecutionProvider"]
        )

    def _bulk_runner(self) -> tuple[Any, ThreadPoolExecutor]:
        """A single-threaded session (safe to run from several threads) and the threads;
        opened on the first large call only."""
        with self._bulk_lock:
            # Threads do not survive a fork: a child process opens its own.
            if self._bulk is None or self._bulk[2] != os.getpid():
                self._bulk = (
                    self._open_session(1),
                    ThreadPoolExecutor(self._threads, thread_name_prefix="embed"),
                    os.getpid(),
                )
            return self._bulk[0], self._bulk[1]

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dimension), dtype=np.float32)
        encodings = self._tokenizer.encode_batch(list(texts))
        # Texts of similar length share a batch: a batch is padded to its longest text, and
        # one long sentence would make every short mention in its batch as costly as itself.
        order = sorted(range(len(encodings)), key=lambda i: len(encodings[i].ids))
        bulk = len(texts) >= self.bulk_texts and self._threads > 1
        rows_per_batch = self.bulk_batch_rows if bulk else self.batch_rows
        batches = [
            order[first : first + rows_per_batch] for first in range(0, len(order), rows_per_batch)
        ]
        pooled = np.zeros((len(encodings), self.dimension), dtype=np.float32)
        if not bulk:
            for rows in batches:
                pooled[rows] = self._pool(self._session, [encodings[i].ids for i in rows])
        else:
            session, pool = self._bulk_runner()
            done = pool.map(
                lambda rows: self._pool(session, [encodings[i].ids for i in rows]), batches
            )
            for rows, vectors in zip(batches, done, strict=True):
                pooled[rows] = vectors
        return _normalise(pooled)

    @staticmethod
    def _pool(session: Any, token_ids: list[list[int]]) -> np.ndarray:
        width = max(len(ids) for ids in token_ids)
        ids = np.zeros((len(token_ids), width), dtype=np.int64)
        mask = np.zeros((len(token_ids), width), dtype=np.int64)
        for row, tokens in enumerate(token_ids):
            ids[row, : len(tokens)] = tokens
            mask[row, : len(tokens)] = 1
        feeds = {"input_ids": ids, "attention_mask": mask, "token_type_ids": np.zeros_like(ids)}
        hidden = session.run(None, feeds)[0]
        weights = mask[:, :, None].astype(np.float32)
        return (hidden * weights).sum(axis=1) / np.maximum(weights.sum(axis=1), 1e-9)


class OpenAIEmbedder:
    """Embeddings from an OpenAI-compatible /v1/embeddings endpoint."""

    def __init__(self, model: str, dimension: int, base_url: str | None = None) -> None:
        from openai import OpenAI

        self.name = f"openai:{model}"
        self.dimension = dimension
        self._model = model
        self._client = OpenAI(base_url=base_url) if base_url else OpenAI()

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dimension), dtype=np.float32)
        response = self._client.embeddings.create(model=self._model, input=list(texts))
        return _normalise(np.array([item.embedding for item in response.data], dtype=np.float32))


class HashingEmbedder:
    """Deterministic bag-of-words hashing; for unit tests only (it has no notion of meaning)."""

    def __init__(self, dimension: int = 64) -> None:
        self.name = f"hashing:{dimension}"
        self.dimension = dimension

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        vectors = np.zeros((len(texts), self.dimension), dtype=np.float32)
        for row, text in enumerate(texts):
            for word in text.lower().split():
                digest = hashlib.blake2b(word.encode(), digest_size=4).digest()
                vectors[row, int.from_bytes(digest, "little") % self.dimension] += 1.0
        return _normalise(vectors + 1e-6)
