"""The forward pass in ONNX Runtime: a network exported once to an ONNX file on disk, run by an InferenceSession.

The export (TorchScript exporter, dynamic batch) is written atomically to
``$STYLE_ATLAS_ONNX_CACHE`` (default ``~/.cache/style-atlas/onnx``), named by network, input
size and torch version, and reused by every later process. The session gives the last feature
map; pooling and the ImageNet head stay in torch (float32), as with the torch runtimes.
"""

from __future__ import annotations

import importlib.util
import os
import tempfile
import warnings
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import torch

ONNX_CACHE_ENV = "STYLE_ATLAS_ONNX_CACHE"


def onnx_available() -> bool:
    """Whether ONNX Runtime is installed (``pip install -r requirements.txt``)."""
    return importlib.util.find_spec("onnxruntime") is not None


def onnx_cache() -> Path:
    return Path(os.environ.get(ONNX_CACHE_ENV) or Path.home() / ".cache" / "style-atlas" / "onnx")


def _feature_map_module(model: Any) -> torch.nn.Module:
    """``model.extract_features`` as a module, for the exporter."""
    import torch

    class FeatureMap(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.model = model

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return self.model.extract_features(x)

    return FeatureMap()


def export(model: Any, network: str, input_size: int) -> Path:
    """The ONNX file of ``model``'s feature map (exported now unless the cache holds it)."""
    import torch

    path = onnx_cache() / f"{network}-{input_size}-torch{torch.__version__.split('+')[0]}.onnx"
    if path.is_file():
        return path
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".tmp-", suffix=".onnx")
    os.close(fd)
    try:
        x = torch.zeros(2, 3, input_size, input_size)
        with torch.inference_mode(False), torch.no_grad(), warnings.catch_warnings():
            warnings.simplefilter("ignore")  # the exporter's tracer and constant-folding notes
            torch.onnx.export(_feature_map_module(model), (x,), tmp, input_names=["x"], output_names=["fmap"],
                              dynamic_axes={"x": {0: "b"}, "fmap": {0: "b"}}, opset_version=17, dynamo=False)
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)
    return path


class OnnxNetwork:
    """A network whose feature map runs in ONNX Runtime: ``extract_features(x)`` (B, 3, S, S)
    → (B, C, h, w) float32 torch tensor; ``_fc`` is the torch network's ImageNet head."""

    def __init__(self, model: Any, network: str, input_size: int) -> None:
        import onnxruntime as ort
        import torch

        opts = ort.SessionOptions()
        opts.intra_op_num_threads, opts.inter_op_num_threads = torch.get_num_threads(), 1
        opts.add_session_config_entry("session.intra_op.allow_spinning", "0")  # idle threads would steal cores
        self.session = ort.InferenceSession(str(export(model, network, input_size)), opts,
                                            providers=["CPUExecutionProvider"])
        self._fc = model._fc
        self.training = False

    def extract_features(self, x: torch.Tensor) -> torch.Tensor:
        import torch

        return torch.from_numpy(self.session.run(None, {"x": x.float().contiguous().numpy()})[0])

    def parameters(self) -> Any:
        return self._fc.parameters()
