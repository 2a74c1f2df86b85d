import json

import numpy as np
import pytest

from core.errors import MissingArtifactError, WorkspaceError
from core.workspace import Workspace


def test_new_workspace_has_manifest_with_schema(tmp_path):
    ws = Workspace(tmp_path / "ws")
    manifest = json.loads((ws.root / "manifest.json").read_text())
    assert manifest == {"schema": 1, "artifacts": {}}


def test_workspace_path_that_is_a_file_is_refused(tmp_path):
    f = tmp_path / "not-a-folder"
    f.write_text("x")
    with pytest.raises(WorkspaceError, match="is a file"):
        Workspace(f)


def test_open_missing_workspace_names_the_command(tmp_path):
    with pytest.raises(WorkspaceError, match="python -m core ingest"):
        Workspace.open(tmp_path / "nothing")


def test_artifact_round_trip_records_config_parents_and_version(tmp_path):
    ws = Workspace(tmp_path)
    x = np.arange(12, dtype=np.float32).reshape(3, 4)
    with ws.write_artifact("features/test", config={"a": 1}, parents={"items": 3}) as tmp:
        np.save(tmp / "x.npy", x)
    rec = ws.record("features/test")
    assert rec["version"] == 1 and rec["config"] == {"a": 1} and rec["parents"] == {"items": 3}
    np.testing.assert_array_equal(np.load(ws.artifact_dir("features/test") / "x.npy"), x)
    with ws.write_artifact("features/test", config={"a": 2}) as tmp:
        np.save(tmp / "x.npy", x * 2)
    assert ws.version("features/test") == 2
    np.testing.assert_array_equal(np.load(ws.artifact_dir("features/test") / "x.npy"), x * 2)
    assert ws.names("features/") == ["features/test"]


def test_crash_mid_write_leaves_previous_version_readable(tmp_path):
    ws = Workspace(tmp_path)
    with ws.write_artifact("clusters/a", config={}) as tmp:
        (tmp / "data.txt").write_text("good")
    with pytest.raises(RuntimeError):
        with ws.write_artifact("clusters/a", config={}) as tmp:
            (tmp / "data.txt").write_text("half")
            raise RuntimeError("crash")
    assert ws.version("clusters/a") == 1
    assert (ws.artifact_dir("clusters/a") / "data.txt").read_text() == "good"
    assert not list((ws.root / "clusters" / "a").glob(".tmp-*"))


def test_old_versions_are_pruned_but_the_previous_one_is_kept(tmp_path):
    ws = Workspace(tmp_path)
    for i in range(4):
        with ws.write_artifact("projection/p", config={"i": i}) as tmp:
            (tmp / "f").write_text(str(i))
    kept = sorted(p.name for p in (ws.root / "projection" / "p").iterdir())
    assert kept == ["v3", "v4"]


def test_missing_artifact_error_names_the_build_command(tmp_path):
    ws = Workspace(tmp_path)
    with pytest.raises(MissingArtifactError, match="python -m core cluster"):
        ws.artifact_dir("clusters/default")


def test_config_must_be_json(tmp_path):
    ws = Workspace(tmp_path)
    with pytest.raises(TypeError):
        with ws.write_artifact("items", config={"bad": object()}):
            pass
    assert not ws.has("items")


def test_manifest_of_another_schema_is_refused(tmp_path):
    ws = Workspace(tmp_path)
    (ws.root / "manifest.json").write_text(json.dumps({"schema": 99, "artifacts": {}}))
    with pytest.raises(WorkspaceError, match="schema 99"):
        ws.manifest()
