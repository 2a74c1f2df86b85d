"""The feature cache after a ``kill -9``: a half-written temporary shard or a damaged shard is skipped."""

import numpy as np

from core.embed.cache import CachedFeatures, CacheKey, FeatureCache


def _rows(ids: list[str]) -> CachedFeatures:
    feats = np.arange(len(ids) * 2 * 3, dtype=np.float32).reshape(len(ids), 2, 3)
    return CachedFeatures(np.array(ids), feats, None, None)


def test_a_half_written_temporary_shard_is_not_read(tmp_path):
    cache = FeatureCache(tmp_path, CacheKey("b", 1, 1, 0))
    good = cache.append(_rows(["a", "b"])).read_bytes()
    (cache.folder / ".tmp-killed.npz").write_bytes(b"")  # killed before the first byte
    (cache.folder / ".tmp-killed2.npz").write_bytes(good[: len(good) // 2])  # killed mid-write
    out = cache.load()
    assert sorted(out) == ["a", "b"]
    np.testing.assert_array_equal(out["b"][0], _rows(["a", "b"]).feats[1])


def test_a_damaged_shard_is_recomputed_not_trusted(tmp_path):
    cache = FeatureCache(tmp_path, CacheKey("b", 1, 1, 0))
    cache.append(_rows(["a"]))
    good = cache.append(_rows(["b"]))
    for name, data in (("empty.npz", b""), ("cut.npz", good.read_bytes()[:40])):
        (cache.folder / name).write_bytes(data)
    assert sorted(cache.load()) == ["a", "b"]
