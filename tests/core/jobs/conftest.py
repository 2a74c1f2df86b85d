"""Every job test gets its own job table; worker processes find the test kinds."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.core.jobs import job_kinds


@pytest.fixture(autouse=True)
def job_table(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    db = tmp_path / "jobs.sqlite"
    monkeypatch.setenv("STYLE_ATLAS_JOBS_DB", str(db))
    monkeypatch.setenv("STYLE_ATLAS_JOB_KINDS", job_kinds.MODULE)
    monkeypatch.delenv("REDIS_URL", raising=False)
    return db
