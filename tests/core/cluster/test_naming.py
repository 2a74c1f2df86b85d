import numpy as np
import pytest

from core.cluster.naming import majority_label, name_clusters, representatives, top_imagenet
from core.cluster.vocabulary import vocabulary
from core.colour import colour_family
from core.imagenet import class_names


def test_majority_label_ignores_missing():
    label, share = majority_label(np.array(["Pants", None, "Pants", "Dress", float("nan"), ""], dtype=object))
    assert label == "Pants" and share == 2 / 3
    assert majority_label(np.array([None, ""], dtype=object)) == (None, 0.0)


def test_top_imagenet_sums_probability_mass():
    idx = np.array([[608, 655], [655, 841], [655, 608]])
    prob = np.array([[0.9, 0.1], [0.5, 0.4], [0.3, 0.2]])
    # 608: 1.1, 655: 0.9, 841: 0.4
    assert top_imagenet(idx, prob, 2) == ("jean", "miniskirt")


def test_name_comes_from_the_fashion_vocabulary_not_the_catalog_label():
    labels = np.array([0, 0, 0, 1, 1])
    cat = np.array(["Pants", "Pants", "Skirt", None, None], dtype=object)
    idx = np.array([[608, 728]] * 3 + [[841, 615]] * 2)  # jean / plastic bag; sweatshirt / knee pad
    prob = np.array([[0.7, 0.2]] * 5)
    names = name_clusters(labels, 3, cat, idx, prob)
    assert names[0].name == "Jeans" and names[0].words == ("jeans",)
    assert names[0].label == "Pants" and names[0].label_share == 2 / 3
    assert names[0].imagenet == ("jean",)  # plastic bag is outside the vocabulary
    assert names[1].name == "Sweatshirts" and names[1].label is None
    assert names[2].name == "cluster 2"  # empty cluster
    # the same photos without catalog labels get the same names
    assert [n.name for n in name_clusters(labels, 3, None, idx, prob)] == [n.name for n in names]


def test_second_word_colour_and_families():
    idx = np.array([[608, 842]] * 4)  # jean, swimming trunks
    prob = np.array([[0.5, 0.4]] * 4)
    colours = np.array(["#101010", "#0a0a0a", "#000000", "#ff0000"], dtype=object)
    n = name_clusters(np.zeros(4, int), 1, None, idx, prob, colours)[0]
    assert n.name == "Black jeans / shorts" and n.colour == "black"
    mixed = np.array(["#101010", "#ffffff", "#ff0000", "#00ff00"], dtype=object)
    assert name_clusters(np.zeros(4, int), 1, None, idx, prob, mixed)[0].name == "Jeans / shorts"
    # a coarse group: many words, none dominant -> its families
    many = np.array([[608, 842, 655, 689, 770]] * 2 + [[770, 774, 514, 630, 502]] * 2)
    coarse = name_clusters(np.zeros(4, int), 1, None, many, np.full((4, 5), 0.2))[0]
    assert coarse.words == ("footwear", "trousers") or coarse.words == ("footwear",)


def test_without_fashion_classes_the_label_or_a_number_names_it():
    idx = np.array([[728, 615]] * 2)  # plastic bag, knee pad
    prob = np.array([[0.6, 0.3]] * 2)
    assert name_clusters(np.zeros(2, int), 1, None, idx, prob)[0].name == "cluster 0"
    cat = np.array(["Hat", "Hat"], dtype=object)
    assert name_clusters(np.zeros(2, int), 1, cat, idx, prob)[0].name == "Hat"


# words no clothing cluster may be called by (ImageNet classes the old names leaked, and others)
NOT_CLOTHING = ("plastic bag", "knee pad", "wool", "velvet", "shower cap", "sleeping bag", "diaper", "bib", "wig",
                "umbrella", "buckle", "chain", "helmet", "mortarboard", "vestment", "book jacket", "punching bag",
                "mask", "brace", "terrier", "retriever", "shop", "fence", "bowl", "cabbage", "library", "wardrobe")


def has_non_clothing_word(name: str) -> bool:
    low = name.lower()
    return any(w in low for w in NOT_CLOTHING)


def test_the_vocabulary_never_emits_a_non_fashion_class():
    vocab = vocabulary()
    assert not any(has_non_clothing_word(w) for w in vocab.words)
    assert vocab.word[264] == "" and vocab.word[474] == "cardigans"  # the dog Cardigan is not a cardigan
    rng = np.random.default_rng(0)
    for _trial in range(200):  # members whose top-5 are any ImageNet classes at all
        m = int(rng.integers(1, 30))
        idx = rng.integers(0, 1000, size=(m, 5))
        prob = rng.dirichlet(np.ones(5), size=m)
        n = name_clusters(np.zeros(m, int), 1, None, idx, prob)[0]
        assert set(n.words) <= set(vocab.words) | set(vocab.families), n
        assert not has_non_clothing_word(n.name), n.name
        assert all(vocab.word[class_names().index(c)] for c in n.imagenet)


@pytest.mark.parametrize(("hex_colour", "family"), [
    ("#000000", "black"), ("#ffffff", "white"), ("#808080", "grey"), ("#1b2a4a", "navy"), ("#2f6fdf", "blue"),
    ("#d02020", "red"), ("#f4a6c0", "pink"), ("#6b4423", "brown"), ("#e8d8b8", "beige"), ("#2e8b57", "green"),
    ("#ff8c00", "orange"), ("#ffd700", "yellow"), ("#7b3fa0", "purple"),
])
def test_colour_families(hex_colour, family):
    assert colour_family(hex_colour) == family


@pytest.mark.parametrize("bad", ["", "red", "#12345", "#gggggg", None, 7])
def test_colour_family_of_a_non_colour_is_none(bad):
    assert colour_family(bad) is None


def test_representatives_are_nearest_the_centroid():
    Z = np.array([[1, 0], [0.8, 0.6], [0.6, 0.8], [0, 1]], dtype=np.float32)
    labels = np.array([0, 0, 0, 1])
    centroids = np.array([[1, 0], [0, 1]], dtype=np.float32)
    reps = representatives(Z, labels, centroids, n=2)
    assert reps[0].tolist() == [0, 1] and reps[1].tolist() == [3]


def test_majority_label_accepts_pandas_missing_values():
    import pandas as pd

    values = pd.array(["Hat", pd.NA, "Hat", "Skirt"], dtype="string").to_numpy(dtype=object)
    assert majority_label(values) == ("Hat", 2 / 3)


@pytest.mark.backbone
def test_real_demo_clusters_have_only_clothing_words(small_workspace):
    """The demo subset through the whole pipeline (real lite0 top-5): no cluster, and no group
    of the tree, is called by a word that is not clothing."""
    from core.cluster import load_clustering

    res = load_clustering(small_workspace)
    names = [c["name"] for c in res.clusters] + [n["name"] for n in (res.tree or {}).get("nodes", [])]
    assert names and not [n for n in names if has_non_clothing_word(n)]
    words = set(vocabulary().words) | set(vocabulary().families)
    assert all(set(c["words"]) <= words for c in res.clusters)
