"""The fast supernet computes the plain one's function: outputs and gradients agree."""

import pytest
import torch

from betalib.fastnet import FastSupernet, copy_plain_weights
from betalib.supernet import Supernet


def plain_gradient_as_fast(plain, fast, plain_grads):
    """Arrange the plain network's weight gradients in the fast network's layout."""
    by_name = dict(zip([n for n, _ in plain.named_parameters()], plain_grads))
    arranged = []
    for name, _ in fast.named_parameters():
        if ".sources." not in name:
            arranged.append(by_name[name])
            continue
        prefix, rest = name.split(".sources.")
        source, module, _ = rest.split(".")
        kind = "nor_conv_1x1" if module == "conv1x1" else "nor_conv_3x3"
        cell = fast.get_submodule(prefix)
        edges = cell.sources[int(source)].edges
        arranged.append(torch.cat([by_name[f"{prefix}.edges.{e}.ops.{kind}.conv.weight"] for e in edges]))
    return arranged


@pytest.mark.parametrize("mode", ["train", "eval"])
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_outputs_and_gradients_match_plain(mode, seed):
    torch.manual_seed(seed)
    plain = Supernet(channels=6, cells_per_stage=2, in_channels=3, num_classes=7)
    fast = copy_plain_weights(FastSupernet(channels=6, cells_per_stage=2, in_channels=3, num_classes=7), plain)
    if mode == "eval":
        # Give BatchNorm non-trivial running statistics first.
        with torch.no_grad():
            for _ in range(2):
                warm = torch.randn(8, 3, 12, 12)
                beta = torch.softmax(torch.randn(6, 5), -1)
                plain(warm, beta)
                fast(warm, beta)
    getattr(plain, mode)()
    getattr(fast, mode)()

    generator = torch.Generator().manual_seed(seed + 10)
    x = torch.randn(5, 3, 12, 12, generator=generator)
    alpha = torch.randn(6, 5, generator=generator).requires_grad_(True)
    target = torch.randn(5, 7, generator=generator)

    out_plain = plain(x, torch.softmax(alpha, -1))
    out_fast = fast(x, torch.softmax(alpha, -1))
    assert torch.allclose(out_plain, out_fast, rtol=1e-5, atol=1e-5)

    grads_plain = torch.autograd.grad((out_plain * target).sum(), [alpha, *plain.parameters()])
    grads_fast = torch.autograd.grad((out_fast * target).sum(), [alpha, *fast.parameters()])
    assert torch.allclose(grads_plain[0], grads_fast[0], rtol=1e-4, atol=1e-5)
    expected = plain_gradient_as_fast(plain, fast, grads_plain[1:])
    for got, want in zip(grads_fast[1:], expected):
        # float32 sums in another order: compare relative to the gradient's size.
        assert (got - want).norm() <= 1e-5 * want.norm() + 1e-6


def test_running_statistics_match_after_training_forward():
    torch.manual_seed(0)
    plain = Supernet(channels=4, cells_per_stage=1, in_channels=1, num_classes=3)
    fast = copy_plain_weights(FastSupernet(channels=4, cells_per_stage=1, in_channels=1, num_classes=3), plain)
    x = torch.randn(6, 1, 8, 8)
    beta = torch.softmax(torch.randn(6, 5), -1)
    plain(x, beta)
    fast(x, beta)
    cell_plain, cell_fast = plain.layers[0], fast.layers[0]
    for fused in cell_fast.sources:
        stacked = torch.cat([cell_plain.edges[e].ops["nor_conv_3x3"].bn.running_var for e in fused.edges])
        assert torch.allclose(fused.bn3x3.running_var, stacked, atol=1e-6)


def test_same_parameter_count_as_plain():
    plain = Supernet()
    fast = FastSupernet()
    assert sum(p.numel() for p in plain.parameters()) == sum(p.numel() for p in fast.parameters())
