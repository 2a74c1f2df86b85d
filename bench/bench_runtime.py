"""Forward-pass runtimes on real demo photos: throughput and quality against torch fp32.

    .venv/bin/python bench/bench_runtime.py [--backbones efficientnet-lite0:34,efficientnet-lite2:12]
        [--runtimes fp32,channels_last,bf16,...] [--chunk 64]

``NAME:N`` takes N photos of each labelled class (34: 601 photos; fewer photos keep lite2's
share of the run short on a shared machine).

Measures in ONE process, interleaved (each chunk of images goes through every runtime in turn,
so drifting load on a shared machine hits them all alike), on a labelled demo subset:

- throughput: images/s of the feature map + pooling (pre-decoded, pre-processed tensors,
  batches of 32) and its ratio to ``fp32`` (torch fp32, contiguous tensors);
- quality against ``fp32``: mean / min cosine of the pooled features and of the 2x2-grid
  features (the clustering step's);
- quality gates on the same images: NMI of plain k-means (k = classes, seed 0) on the 2x2-grid
  features and label precision@10 on the pooled features, with their difference to fp32.

Runtimes: the embedder's own (``fp32``; ``channels_last`` with batch norms folded; ``bf16`` =
channels_last + bf16 autocast; ``onnx`` = ONNX Runtime fp32), ``today`` (channels_last fp32, the
embedder before this choice), and on the embedder's ONNX export: ONNX Runtime int8 (static QDQ,
per-channel, calibrated on other demo photos) and OpenVINO fp32 / bf16 (where installed:
``pip install -r requirements-runtime.txt``). Prints figures; asserts nothing.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

import numpy as np
import torch
from PIL import Image
from torch.nn import functional as F

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from core.cluster.baseline import plain_kmeans  # noqa: E402
from core.embed import RUNTIMES, Runtime, get_spec, runtime_of  # noqa: E402
from core.embed.extractor import load_network  # noqa: E402
from core.embed.onnx import export  # noqa: E402
from core.embed.preprocess import preprocess  # noqa: E402
from core.similarity.retrieval import label_precision_at_k  # noqa: E402
from tests.conftest import DEMO, demo_rows  # noqa: E402

BATCH = 32
FeatureMap = Callable[[torch.Tensor], torch.Tensor]  # (B, 3, S, S) -> (B, C, h, w) float32


def demo_subset(per_class: int, skip: int = 0) -> tuple[list[Path], np.ndarray]:
    """Paths and labels of demo photos ``skip .. skip + per_class`` of each labelled class."""
    seen: dict[str, int] = {}
    paths, labels = [], []
    for row in demo_rows():
        label = row["label"]
        if not label:
            continue
        seen[label] = seen.get(label, 0) + 1
        if skip < seen[label] <= skip + per_class:
            paths.append(DEMO / row["path"])
            labels.append(label)
    return paths, np.asarray(labels)


def load_tensors(paths: list[Path], backbone: str) -> torch.Tensor:
    spec = get_spec(backbone)
    arrays = []
    for p in paths:
        with Image.open(p) as im:
            arrays.append(preprocess(spec, im.convert("RGB")))
    return torch.from_numpy(np.stack(arrays))


def embedder_runtimes(backbone: str) -> dict[str, FeatureMap]:
    """The embedder's runtimes (core.embed.runtime), and ``today``: channels_last fp32 without folded batch norms
    (the embedder before runtimes were chosen)."""
    spec = get_spec(backbone)
    today = replace(runtime_of("channels_last"), name="today", fold_bn=False)
    runtimes = [runtime_of("fp32"), today, *(runtime_of(n) for n in RUNTIMES if n != "fp32")]

    def run(rt: Runtime) -> FeatureMap:
        model = load_network(spec, runtime=rt)
        return lambda x: rt.feature_map(model, x)

    return {rt.name: run(rt) for rt in runtimes}


def other_runtimes(backbone: str, calib: torch.Tensor, threads: int) -> dict[str, FeatureMap]:
    """ONNX Runtime int8 and OpenVINO fp32 and bf16 on the embedder's ONNX export, where installed."""
    out: dict[str, FeatureMap] = {}
    spec = get_spec(backbone)
    path = export(load_network(spec, runtime=runtime_of("fp32")), spec.model_name, spec.input_size)
    import onnxruntime as ort

    opts = ort.SessionOptions()
    opts.intra_op_num_threads, opts.inter_op_num_threads = threads, 1
    opts.add_session_config_entry("session.intra_op.allow_spinning", "0")  # idle threads would steal the CPU
    sess = ort.InferenceSession(str(quantize_int8(path, calib)), opts, providers=["CPUExecutionProvider"])
    out["onnx-int8"] = lambda x: torch.from_numpy(sess.run(None, {"x": x.numpy()})[0])
    try:
        import openvino as ov
    except ImportError:
        print("openvino not installed (pip install -r requirements-runtime.txt): OpenVINO skipped")
        return out
    core = ov.Core()
    def compiled(precision: str) -> FeatureMap:
        model = core.compile_model(core.read_model(str(path)), "CPU", {
            "INFERENCE_PRECISION_HINT": precision, "INFERENCE_NUM_THREADS": threads, "PERFORMANCE_HINT": "LATENCY"})
        return lambda x: torch.from_numpy(np.asarray(model(x.numpy())[0]))

    out["openvino-fp32"], out["openvino-bf16"] = compiled("f32"), compiled("bf16")
    return out


def quantize_int8(path: Path, calib: torch.Tensor) -> Path:
    """Static int8 (QDQ, per-channel weights, u8 activations: the VNNI path), calibrated on
    ``calib`` (n, 3, S, S)."""
    from onnxruntime.quantization import CalibrationDataReader, QuantFormat, QuantType, quantize_static
    from onnxruntime.quantization.shape_inference import quant_pre_process

    class Reader(CalibrationDataReader):
        def __init__(self) -> None:
            self.batches = iter([{"x": calib[s:s + 8].numpy()} for s in range(0, len(calib), 8)])

        def get_next(self):  # type: ignore[no-untyped-def]
            return next(self.batches, None)

    folder = Path(tempfile.mkdtemp(prefix="bench-runtime-"))
    prepared = folder / "pre.onnx"
    quant_pre_process(str(path), str(prepared))
    out = folder / "int8.onnx"
    quantize_static(str(prepared), str(out), Reader(), quant_format=QuantFormat.QDQ, per_channel=True,
                    activation_type=QuantType.QUInt8, weight_type=QuantType.QInt8)
    return out


def pooled_and_grid(fmap: torch.Tensor) -> tuple[np.ndarray, np.ndarray]:
    fmap = fmap.float()
    return fmap.mean(dim=(2, 3)).numpy(), F.adaptive_avg_pool2d(fmap, 2).flatten(1).numpy()


def cosines(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    return np.sum(a * b, axis=1) / (np.linalg.norm(a, axis=1) * np.linalg.norm(b, axis=1) + 1e-12)


def measure(x: torch.Tensor, runtimes: dict[str, FeatureMap], chunk: int) -> tuple[dict[str, float], dict[str, tuple]]:
    """Seconds per runtime over all of ``x`` (interleaved by chunk) and its (pooled, grid) features."""
    seconds = dict.fromkeys(runtimes, 0.0)
    parts: dict[str, list[tuple[np.ndarray, np.ndarray]]] = {n: [] for n in runtimes}
    for fm in runtimes.values():
        fm(x[:BATCH])  # warm-up (one-time compilation, allocator)
    for c in range(0, len(x), chunk):
        for name, fm in runtimes.items():
            t0 = time.perf_counter()
            maps = [fm(x[s:s + BATCH]) for s in range(c, min(c + chunk, len(x)), BATCH)]
            pooled = [pooled_and_grid(m) for m in maps]
            seconds[name] += time.perf_counter() - t0
            parts[name].extend(pooled)
    return seconds, {n: (np.concatenate([p[0] for p in ps]), np.concatenate([p[1] for p in ps]))
                     for n, ps in parts.items()}


def gates(pooled: np.ndarray, grid: np.ndarray, labels: np.ndarray) -> tuple[float, float]:
    """(NMI of plain k-means on the grid features, label precision@10 on the pooled features)."""
    k = len(set(labels.tolist()))
    nmi = plain_kmeans(grid, k, labels.astype(object), seed=0)["nmi"]
    unit = pooled / np.linalg.norm(pooled, axis=1, keepdims=True)
    return float(nmi), label_precision_at_k(unit, labels, np.arange(len(labels)), 10)


def bench_backbone(backbone: str, per_class: int, wanted: list[str] | None, chunk: int) -> None:
    paths, labels = demo_subset(per_class)
    calib_paths, _ = demo_subset(4, skip=per_class)  # other photos than the measured ones
    x = load_tensors(paths, backbone)
    calib = load_tensors(calib_paths, backbone)
    threads = torch.get_num_threads()
    runtimes = {**embedder_runtimes(backbone), **other_runtimes(backbone, calib, threads)}
    if wanted:
        runtimes = {n: f for n, f in runtimes.items() if n in wanted or n == "fp32"}
    print(f"\n{backbone}: {len(x)} labelled demo photos ({len(set(labels.tolist()))} classes), batch {BATCH}, "
          f"{threads} threads, cpu capability {torch.backends.cpu.get_cpu_capability()}")
    seconds, feats = measure(x, runtimes, chunk)
    ref_pooled, ref_grid = feats["fp32"]
    ref_nmi, ref_p10 = gates(ref_pooled, ref_grid, labels)
    base = len(x) / seconds["fp32"]
    print(f"{'runtime':<15} {'img/s':>7} {'x fp32':>7} {'cos mean':>9} {'cos min':>8} {'grid mean':>9} "
          f"{'grid min':>8} {'NMI':>7} {'dNMI':>7} {'P@10':>7} {'dP@10':>7}")
    for name in runtimes:
        pooled, grid = feats[name]
        c, cg = cosines(pooled, ref_pooled), cosines(grid, ref_grid)
        nmi, p10 = gates(pooled, grid, labels)
        ips = len(x) / seconds[name]
        print(f"{name:<15} {ips:7.1f} {ips / base:7.2f} {c.mean():9.5f} {c.min():8.5f} {cg.mean():9.5f} "
              f"{cg.min():8.5f} {nmi:7.4f} {nmi - ref_nmi:+7.4f} {p10:7.4f} {p10 - ref_p10:+7.4f}")
        sys.stdout.flush()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--backbones", default="efficientnet-lite0:34,efficientnet-lite2:12",
                        help="NAME:PHOTOS_PER_CLASS, comma-separated")
    parser.add_argument("--runtimes", default="", help="comma-separated subset (default: all available)")
    parser.add_argument("--chunk", type=int, default=64, help="images per interleaving turn")
    args = parser.parse_args()
    wanted = [r for r in args.runtimes.split(",") if r] or None
    for one in args.backbones.split(","):
        backbone, _, per_class = one.partition(":")
        bench_backbone(backbone, int(per_class or 34), wanted, args.chunk)


if __name__ == "__main__":
    main()
