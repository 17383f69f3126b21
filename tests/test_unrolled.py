"""The finite-difference unrolled gradient against autograd's exact double backward."""

import torch
import torch.nn.functional as F
from torch.func import functional_call

from betalib.supernet import Supernet
from betalib.unrolled import unrolled_alpha_gradient


def exact_unrolled_gradient(net, alpha, batch_train, batch_valid, xi, decay):
    names = [name for name, _ in net.named_parameters()]
    weights = [p for p in net.parameters()]
    beta = torch.softmax(alpha, dim=-1)
    train_loss = F.cross_entropy(net(batch_train[0], beta), batch_train[1])
    grads = torch.autograd.grad(train_loss, weights, create_graph=True)
    unrolled = [w - xi * (g + decay * w) for w, g in zip(weights, grads)]
    logits = functional_call(net, dict(zip(names, unrolled)), (batch_valid[0], beta))
    valid_loss = F.cross_entropy(logits, batch_valid[1])
    (grad,) = torch.autograd.grad(valid_loss, [alpha])
    return grad


def test_unrolled_gradient_matches_double_backward():
    # float64 and a small finite-difference step: BatchNorm over a batch of 16 tiny
    # images is so curved that the DARTS step (0.01 / ||v||) is accurate to only a few
    # percent here, while the formula itself must agree to rounding error.
    torch.manual_seed(0)
    net = Supernet(channels=3, cells_per_stage=1, in_channels=1, num_classes=4).double()
    generator = torch.Generator().manual_seed(1)
    alpha = torch.randn(6, 5, generator=generator, dtype=torch.float64).requires_grad_(True)
    batch_train = (torch.randn(16, 1, 8, 8, generator=generator, dtype=torch.float64), torch.arange(16) % 4)
    batch_valid = (torch.randn(16, 1, 8, 8, generator=generator, dtype=torch.float64), torch.arange(16) % 3)
    xi, decay = 0.05, 3e-4

    exact = exact_unrolled_gradient(net, alpha, batch_train, batch_valid, xi, decay)
    _, first_order = unrolled_alpha_gradient(net, alpha, 1.0, batch_train, batch_valid, xi=0.0)
    _, approximate = unrolled_alpha_gradient(
        net, alpha, 1.0, batch_train, batch_valid, xi=xi, decay=decay, eps_scale=1e-5
    )

    second_order_term = (exact - first_order).abs().max()
    assert second_order_term > 1e-2
    assert (approximate - exact).abs().max() < 1e-6 * second_order_term


def test_unrolled_gradient_differs_from_first_order():
    torch.manual_seed(0)
    net = Supernet(channels=3, cells_per_stage=1, in_channels=1, num_classes=4).double()
    generator = torch.Generator().manual_seed(2)
    alpha = torch.randn(6, 5, generator=generator, dtype=torch.float64).requires_grad_(True)
    batch = (torch.randn(6, 1, 6, 6, generator=generator, dtype=torch.float64), torch.arange(6) % 4)
    first = torch.autograd.grad(F.cross_entropy(net(batch[0], torch.softmax(alpha, -1)), batch[1]), [alpha])[0]
    _, second = unrolled_alpha_gradient(net, alpha, 1.0, batch, batch, xi=0.5)
    assert not torch.allclose(first, second, atol=1e-6)
