"""The loaded similarity artifact (``similarity/<run_id>``) and the search it owns.

Like FiftyOne Brain's results objects, the object a load returns answers queries itself:
:meth:`SimilarityArtifact.search` shifts a query vector along named directions, asks the
annoy index and leaves out the excluded items. ``core.similarity.query``, the CLI and the
Search page all search through it.

Loaded artifacts are cached per process, keyed by (workspace path, run id, artifact version):
a rebuilt artifact gets a new version and therefore a fresh load. Nothing is loaded at import.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Collection, Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any, NamedTuple

import numpy as np

from core.errors import InvalidInputError
from core.similarity.config import SimilarityConfig
from core.similarity.directions import Direction, ViewsOf, check_weights, from_examples, load_directions
from core.similarity.example_views import ServedViews
from core.similarity.index import AnnIndex
from core.similarity.served import FrozenEmbedder
from core.similarity.steering import CANDIDATES_PER_RESULT, steered_rows
from core.workspace import Workspace

if TYPE_CHECKING:
    from core.similarity.estimator import TripletEmbedder

__all__ = ["Hit", "SimilarityArtifact", "artifact_name", "item_labels", "load_similarity", "loaded"]


def artifact_name(run_id: str) -> str:
    """``similarity/<run_id>``."""
    return f"similarity/{run_id}"


class Hit(NamedTuple):
    """One search result: an item and its cosine similarity to the (shifted) query."""

    item_id: str
    score: float


@dataclass(frozen=True)
class SimilarityArtifact:
    """A loaded ``similarity/<run_id>``; row i of ``embeddings`` is item ``ids[i]``.

    ``annotations_path`` is the workspace's annotations database, where the example sets
    people saved as directions live (None: only the artifact's own directions).
    """

    name: str
    version: int
    path: Path
    config: dict[str, Any]
    ids: np.ndarray  # (N,) str
    embeddings: np.ndarray  # (N, d) float32, memory-mapped
    index: AnnIndex
    directions: dict[str, Direction]
    evaluation: dict[str, Any]
    annotations_path: Path | None = None
    # views(rows): the rows' augmented views in the served space, which directions from examples
    # add to their examples (None: examples alone; see SimilarityConfig.direction_views)
    views_of: ViewsOf | None = field(default=None, compare=False, repr=False)
    # saved directions built from the annotations, by their directions version (latest only)
    _saved: dict[tuple[str, int], tuple[dict[str, Direction], tuple[str, ...]]] = field(
        default_factory=dict, compare=False, repr=False)

    @property
    def backbone(self) -> str:
        """The backbone whose features the head was trained on (a query is embedded with it)."""
        return str(self.config.get("backbone", SimilarityConfig().backbone))

    @property
    def space(self) -> str:
        """``"tuned"`` or ``"frozen"``: the space of ``embeddings`` and the index (an artifact from
        before the served-space choice is tuned)."""
        return str((self.evaluation.get("served") or {}).get("space", "tuned"))

    def embedder(self) -> TripletEmbedder | FrozenEmbedder:
        """What maps frozen features to the served space: the trained head, or L2 normalisation
        where the frozen features are served (loaded on call; :func:`loaded` caches it). The
        trained head runs in torch: the web process serves queries through :mod:`core.serving`."""
        if self.space != "tuned":
            return FrozenEmbedder()
        from core.similarity.estimator import TripletEmbedder

        return TripletEmbedder.load(self.path / "head.pt")

    def row_of(self, item_id: str) -> int:
        """Row of ``item_id``; InvalidInputError if it is not in the catalog."""
        hits = np.flatnonzero(self.ids == item_id)
        if len(hits) == 0:
            raise InvalidInputError(f"item {item_id!r} is not in the catalog")
        return int(hits[0])

    def vector_of(self, item_id: str) -> np.ndarray:
        """(d,) float32 stored embedding (served space) of a catalog item; InvalidInputError if unknown."""
        return np.asarray(self.embeddings[self.row_of(item_id)], dtype=np.float32)

    def all_directions(self) -> tuple[dict[str, Direction], list[str]]:
        """The artifact's directions plus the example sets saved in the annotations (built from
        these embeddings; they replace an artifact direction of the same name).

        Saved sets are built once per annotations directions version (this object is one
        artifact version, cached by :func:`loaded`) and reused until a direction is written.
        Returns the directions by name and one line per saved set that cannot be built now.
        """
        if self.annotations_path is None:
            return dict(self.directions), []
        from core.annotations import Annotations

        repo = Annotations(self.annotations_path)
        if not repo.exists():  # nothing saved yet (reading would create the SQLite file)
            return dict(self.directions), []
        key = repo.directions_version()  # read before the sets: a newer write only rebuilds later
        cached = self._saved.get(key)
        if cached is None:
            built: dict[str, Direction] = {}
            problems: list[str] = []
            for ex in repo.direction_examples():
                try:
                    built[ex.name] = from_examples(ex.name, self.embeddings, self.ids, list(ex.positive_ids),
                                                   list(ex.negative_ids), origin=f"annotations:{ex.source}",
                                                   views=self.views_of)
                except InvalidInputError as exc:
                    problems.append(f"{ex.name}: {exc}")
            cached = (built, tuple(problems))
            self._saved.clear()
            self._saved[key] = cached
        return {**self.directions, **cached[0]}, list(cached[1])

    def known_directions(self, names: Collection[str], extra: Mapping[str, Direction] | None = None
                         ) -> dict[str, Direction]:
        """The artifact's directions and ``extra`` (a visitor's own), plus the annotations' example
        sets when ``names`` asks for one that neither holds."""
        known = {**self.directions, **(extra or {})}
        if any(n not in known for n in names):
            shared, _ = self.all_directions()
            known = {**shared, **(extra or {})}
        return known

    def search(
        self,
        vector: np.ndarray,
        k: int = 10,
        exclude: Collection[str] = (),
        shift: Mapping[str, float] | None = None,
        extra: Mapping[str, Direction] | None = None,
    ) -> list[Hit]:
        """The ``k`` items most similar to a query, best first, optionally steered by directions.

        Parameters
        ----------
        vector : (d,) query in the served space (see :attr:`space`).
        k : number of results.
        exclude : item ids left out of the results (the query item itself).
        shift : ``{direction name: weight}``: 0 is the query as it is, 1 the same kind of piece
            with the attribute (gated), negative weights steer away; see
            :mod:`core.similarity.steering`. None or {}: plain similarity from the index.
        extra : directions beyond the shared ones that ``shift`` may name (a visitor's own).

        Returns
        -------
        Up to ``k`` :class:`Hit` (``item_id``, cosine ``score`` to the query), in ranking order.
        """
        q = np.asarray(vector, dtype=np.float32).reshape(-1)
        skip = set(exclude)
        weights = {n: float(w) for n, w in (shift or {}).items()}
        known = self.known_directions(weights, extra)
        check_weights(weights, known, int(self.embeddings.shape[1]))
        if not any(weights.values()):
            ids, scores = self.index.query(q, k + len(skip))
            hits = [Hit(str(i), float(s)) for i, s in zip(ids.tolist(), scores.tolist(), strict=True) if i not in skip]
            return hits[:k]
        n_near = min(len(self.ids), CANDIDATES_PER_RESULT * k + len(skip))
        nearest, _ = self.index.query_rows(q, n_near)
        rows, sims = steered_rows(self.embeddings, q, nearest, k, weights, known, np.isin(self.ids, list(skip)))
        return [Hit(str(self.ids[r]), float(s)) for r, s in zip(rows.tolist(), sims.tolist(), strict=True)]


def load_similarity(ws: Workspace, run_id: str = "default") -> SimilarityArtifact:
    """Open ``similarity/<run_id>``: embeddings memory-mapped, index memory-mapped and checked.

    Raises MissingArtifactError (naming ``python -m core similarity``) when it was never built,
    InvalidInputError when the index sidecar disagrees with the embeddings or the manifest.
    """
    name = artifact_name(run_id)
    path = ws.artifact_dir(name)
    version = int(ws.version(name) or 0)
    emb = np.load(path / "embeddings.npy", mmap_mode="r")
    ids = np.load(path / "ids.npy")
    index = AnnIndex.load(path / "index", expected_dim=int(emb.shape[1]), expected_version=version)
    if not np.array_equal(index.ids, ids):
        raise InvalidInputError(f"index of {name} does not row the same items as its embeddings; "
                                f"rebuild it with `python -m core similarity --workspace {ws.root} --id {run_id}`")
    evaluation = json.loads((path / "evaluation.json").read_text()) if (path / "evaluation.json").exists() else {}
    config = dict(ws.record(name)["config"])  # type: ignore[index]
    art = SimilarityArtifact(name, version, path, config, ids, emb, index, load_directions(path), evaluation,
                             Path(ws.annotations_path))
    if not config.get("direction_views", False):  # artifacts from before the option: examples alone
        return art
    return replace(art, views_of=ServedViews(ws.root, art.backbone, ids, art.embedder))


class LazyEmbedder:
    """The artifact's :meth:`~SimilarityArtifact.embedder`, loaded on the first ``transform``: a
    search by item or a slider move needs only the stored embeddings, never the torch head."""

    def __init__(self, artifact: SimilarityArtifact) -> None:
        self._artifact = artifact
        self._embedder: TripletEmbedder | FrozenEmbedder | None = None

    def transform(self, X: np.ndarray) -> np.ndarray:
        """(..., D) frozen features -> (..., d) float32 unit rows in the served space."""
        if self._embedder is None:
            self._embedder = self._artifact.embedder()
        return self._embedder.transform(X)


@dataclass(frozen=True)
class _Loaded:
    artifact: SimilarityArtifact
    embedder: LazyEmbedder
    labels: dict[str, str]


@functools.lru_cache(maxsize=8)
def _load_cached(root: str, run_id: str, version: int) -> _Loaded:
    """Load an artifact version once per process (read-only; keyed by its manifest version)."""
    ws = Workspace(root, create=False)
    art = load_similarity(ws, run_id)
    if art.version != version:  # rebuilt between the manifest read and the load
        raise InvalidInputError(f"{artifact_name(run_id)} changed while loading; retry")
    items = ws.items()
    labels: dict[str, str] = {}
    if "label" in items.columns:
        labels = {str(i): str(lab) for i, lab in zip(items["item_id"], items["label"], strict=True)
                  if isinstance(lab, str) and lab}
    return _Loaded(art, LazyEmbedder(art), labels)


def _current(ws: Workspace, run_id: str) -> _Loaded:
    name = artifact_name(run_id)
    ws.artifact_dir(name)  # MissingArtifactError naming `python -m core similarity ...`
    return _load_cached(str(Path(ws.root).resolve()), run_id, int(ws.version(name) or 0))


def loaded(ws: Workspace, run_id: str = "default") -> tuple[SimilarityArtifact, LazyEmbedder]:
    """The (cached) artifact and its head (loaded on first use) for the workspace's current
    version of ``run_id``.

    Raises MissingArtifactError naming the build command when it does not exist.
    """
    lo = _current(ws, run_id)
    return lo.artifact, lo.embedder


def item_labels(ws: Workspace, run_id: str = "default") -> dict[str, str]:
    """Catalog labels by item id, read with the (cached) artifact ``run_id``."""
    return _current(ws, run_id).labels
