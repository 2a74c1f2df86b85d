"""Embedding on Ray (core.embed_ray) against the local path, on a local Ray instance the tests start.

The address tests come first: they need no Ray connection in this process, and the module's
Ray instance (started by the first test that asks for it) lives until the module ends.
"""

import shutil
import socket
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np
import pytest

from core import pipeline
from core.cli import build_parser, main
from core.cli.common import ray_config
from core.embed.artifact import load_features
from core.embed.cache import FeatureCache
from core.embed.step import EmbedConfig
from core.errors import InvalidInputError
from core.ray_config import RayConfig
from core.workspace import Workspace
from tests.conftest import REPO, write_subset_csv

BACKBONES = ("efficientnet-lite0", "efficientnet-lite0-2x2")


@pytest.fixture(scope="module")
def photos_ws(tmp_path_factory: pytest.TempPathFactory) -> Workspace:
    """18 real demo photos (one per labelled class), ingested, not embedded (copy it to change it)."""
    root = tmp_path_factory.mktemp("ray_photos")
    ws = Workspace(root / "ws")
    pipeline.ingest(ws, write_subset_csv(root / "catalog.csv", per_class=1, unlabelled=0))
    return ws


def _copy(ws: Workspace, dest: Path) -> Workspace:
    shutil.copytree(ws.root, dest)
    return Workspace(dest)


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.mark.parametrize("address, message", [
    ("127.0.0.1:{port}", "no Ray cluster answers at '127.0.0.1:"),
    ("ray://127.0.0.1:{port}", "no Ray cluster answers at 'ray://127.0.0.1:"),
    ("head-node", "bad Ray address 'head-node'"),
])
def test_a_bad_ray_address_is_one_clear_error_and_writes_nothing(photos_ws, tmp_path, capsys, address, message):
    ws = _copy(photos_ws, tmp_path / "ws")
    rc = main(["embed", "-w", str(ws.root), "--backbone", "colour-histogram", "--views", "0", "-q",
               "--ray", address.format(port=_closed_port())])
    err = capsys.readouterr().err.strip()
    assert rc == 2
    assert err.startswith("error: ") and message in err and "\n" not in err
    assert not ws.has("features/colour-histogram")


def test_ray_options_parse_into_a_ray_config():
    # building the parser resolves EmbedConfig's type hints, RayConfig's included
    parse = build_parser().parse_args
    assert ray_config(parse(["embed", "-w", "ws", "--ray", "auto", "--ray-workers", "3"])) == RayConfig("auto", 3)
    assert ray_config(parse(["embed", "-w", "ws", "--ray"])) == RayConfig()
    assert ray_config(parse(["run", "-w", "ws"])) is None


def test_ray_workers_must_be_positive():
    with pytest.raises(InvalidInputError, match="Ray workers must be >= 1"):
        RayConfig(workers=0)


def test_without_ray_installed_the_cli_says_how_to_install_it(photos_ws, tmp_path):
    ws = _copy(photos_ws, tmp_path / "ws")
    code = ("import sys; sys.modules['ray'] = None; from core.cli import main; "
            f"sys.exit(main(['embed', '-w', {str(ws.root)!r}, '--backbone', 'colour-histogram', '-q', '--ray']))")
    proc = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 2
    assert proc.stderr.strip() == "error: --ray needs Ray, which is not installed: pip install -r requirements-ray.txt"


@pytest.fixture(scope="module")
def local_ray():
    """A local Ray instance of 2 CPUs for this module's tests, in its own temporary folder."""
    import ray

    temp = tempfile.mkdtemp(prefix="ray-", dir="/tmp")  # short: Ray's socket paths must fit 107 bytes
    ray.init(num_cpus=2, include_dashboard=False, _temp_dir=temp, logging_level="warning", log_to_driver=False)
    yield ray
    ray.shutdown()
    shutil.rmtree(temp, ignore_errors=True)


@pytest.fixture(scope="module")
def local_features(photos_ws, tmp_path_factory) -> Workspace:
    """The photos embedded by the local path."""
    ws = _copy(photos_ws, tmp_path_factory.mktemp("ray_local") / "ws")
    pipeline.embed(ws, config=EmbedConfig(workers=0, batch_size=4))
    return ws


def _assert_same_features(expected: Workspace, got: Workspace) -> None:
    for backbone in BACKBONES:
        a, b = load_features(expected, backbone), load_features(got, backbone)
        assert a.ids.tolist() == b.ids.tolist()
        for x, y in ((a.features, b.features), (a.views, b.views)):
            x, y = np.asarray(x).reshape(-1, x.shape[-1]), np.asarray(y).reshape(-1, y.shape[-1])
            cos = (x * y).sum(1) / (np.linalg.norm(x, axis=1) * np.linalg.norm(y, axis=1))
            assert cos.min() >= 0.9999, backbone
        if a.topk_idx is not None:
            assert np.array_equal(a.topk_idx, b.topk_idx)


@pytest.mark.backbone
@pytest.mark.slow
def test_ray_features_equal_the_local_path(photos_ws, local_features, local_ray, tmp_path):
    ws = _copy(photos_ws, tmp_path / "ws")
    rep = pipeline.embed(ws, config=EmbedConfig(workers=0, batch_size=4, ray=RayConfig(workers=2)))
    assert (rep.computed, rep.cached, rep.siblings) == (18, 0, ["efficientnet-lite0-2x2"])
    _assert_same_features(local_features, ws)
    assert ws.record("features/efficientnet-lite0")["config"]["ray"]["workers"] == 2
    assert not list(ws.cache_dir.rglob("*.npz"))  # the shards are cleared, as on the local path


@pytest.mark.backbone
@pytest.mark.slow
def test_a_restarted_ray_job_computes_only_what_the_cache_lacks(photos_ws, local_features, local_ray, tmp_path):
    ws = _copy(photos_ws, tmp_path / "ws")
    cfg = EmbedConfig(workers=0, batch_size=4, ray=RayConfig(workers=1))

    def stop_after_first_batch(done: int, total: int) -> None:
        if done:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        pipeline.embed(ws, config=cfg, progress=stop_after_first_batch)
    held = FeatureCache(ws.cache_dir, cfg.cache_key()).load()
    assert 0 < len(held) < 18 and not ws.has("features/efficientnet-lite0")
    rep = pipeline.embed(ws, config=cfg)
    assert (rep.computed, rep.cached) == (18 - len(held), len(held))
    _assert_same_features(local_features, ws)
