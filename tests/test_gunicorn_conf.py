"""gunicorn.conf.py sizes the server for the memory it is given."""

from __future__ import annotations

import importlib.util
from pathlib import Path
from types import ModuleType

REPO = Path(__file__).resolve().parent.parent


def _conf() -> ModuleType:
    spec = importlib.util.spec_from_file_location("gunicorn_conf", REPO / "gunicorn.conf.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_memory_budget_from_the_environment_then_the_cgroup(tmp_path: Path) -> None:
    conf = _conf()
    limited, unlimited = tmp_path / "memory.max", tmp_path / "unlimited"
    limited.write_text(f"{1024 * 2**20}\n")
    unlimited.write_text("max\n")
    assert conf.memory_budget_mb({"STYLE_ATLAS_MEMORY_MB": "2048"}, (limited,)) == 2048
    assert conf.memory_budget_mb({}, (unlimited, limited)) == 1024
    assert conf.memory_budget_mb({}, (unlimited, tmp_path / "absent")) == conf.DEFAULT_MEMORY_MB


def test_workers_fit_the_budget() -> None:
    conf = _conf()
    for budget in (256, 512, 1024, 4096):
        n = conf.workers_for(budget, cpus=8)
        assert n >= 1
        assert n == 1 or conf.MASTER_MB + n * conf.WORKER_MB <= budget * conf.HEADROOM
    assert conf.workers_for(512, cpus=8) == 1  # the full demo under load: one worker fits 450 MB, two do not
    assert conf.workers_for(1024, cpus=8) >= 2
    assert conf.workers_for(100_000, cpus=1) == 2  # two per CPU at most
    assert conf.preload_app is True
