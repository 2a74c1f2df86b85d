import pytest
import torch

from core.cluster.heads import ClusterHead, ProjectionHead
from core.errors import InvalidInputError


def test_projection_head_shape_and_unit_norm():
    torch.manual_seed(0)
    head = ProjectionHead(in_dim=32, hidden_dim=16, out_dim=8)
    z = head(torch.randn(10, 32))
    assert z.shape == (10, 8)
    norms = z.norm(dim=1)
    assert torch.all((norms - 1).abs() < 1e-5)


def test_projection_head_layers_are_as_specified():
    head = ProjectionHead(in_dim=1280)
    kinds = [type(m).__name__ for m in head.net]
    assert kinds == ["Linear", "BatchNorm1d", "ReLU", "Dropout", "Linear", "BatchNorm1d", "ReLU"]
    assert head.net[0].in_features == 1280 and head.net[0].out_features == 512
    assert head.net[4].out_features == 256


def test_cluster_head_grow_keeps_learned_rows():
    torch.manual_seed(0)
    head = ClusterHead(in_dim=8, k=3)
    before_w = head.fc.weight.detach().clone()
    before_b = head.fc.bias.detach().clone()
    new_row = torch.full((1, 8), 0.5)
    head.resize(4, init_rows=new_row)
    assert head.k == 4
    assert torch.equal(head.fc.weight[:3], before_w)
    assert torch.equal(head.fc.bias[:3], before_b)
    assert torch.equal(head.fc.weight[3:], new_row)
    assert head.fc.bias[3].item() == 0.0
    assert head(torch.randn(5, 8)).shape == (5, 4)


def test_cluster_head_shrink_keeps_first_rows():
    head = ClusterHead(in_dim=4, k=5)
    w = head.fc.weight.detach().clone()
    head.resize(2)
    assert head.k == 2 and torch.equal(head.fc.weight, w[:2])


def test_cluster_head_resized_params_are_trainable():
    head = ClusterHead(in_dim=4, k=2)
    head.resize(3)
    assert all(p.requires_grad for p in head.parameters())


def test_bad_sizes_rejected():
    with pytest.raises(InvalidInputError):
        ClusterHead(in_dim=4, k=0)
    with pytest.raises(InvalidInputError, match="init_rows"):
        ClusterHead(in_dim=4, k=2).resize(3, init_rows=torch.zeros(2, 4))
    with pytest.raises(InvalidInputError, match="dropout"):
        ProjectionHead(in_dim=4, dropout=1.0)
