import pytest
import torch

from betalib.regularizers import REGULARIZERS, get_regularizer


@pytest.fixture
def alpha():
    generator = torch.Generator().manual_seed(3)
    return torch.randn(6, 5, generator=generator, dtype=torch.float64).requires_grad_(True)


def value_and_gradient(name, alpha):
    value = REGULARIZERS[name](alpha)
    (grad,) = torch.autograd.grad(value, [alpha])
    return value.detach(), grad


def test_names_are_the_documented_set():
    assert set(REGULARIZERS) == {"none", "l2", "weight-decay", "beta", "beta-global", "beta-zero"}


def test_none_is_zero(alpha):
    value, grad = value_and_gradient("none", alpha)
    assert value == 0
    assert torch.count_nonzero(grad) == 0


@pytest.mark.parametrize("name", ["l2", "weight-decay"])
def test_l2_value_and_gradient(name, alpha):
    value, grad = value_and_gradient(name, alpha)
    assert torch.isclose(value, 0.5 * (alpha.detach() ** 2).sum())
    assert torch.allclose(grad, alpha.detach())


def test_beta_loss_value_and_gradient(alpha):
    value, grad = value_and_gradient("beta", alpha)
    a = alpha.detach()
    expected = torch.log(torch.exp(a).sum(dim=1)).mean()
    assert torch.isclose(value, expected)
    assert torch.allclose(grad, torch.softmax(a, dim=1) / 6)


def test_beta_loss_ignores_constant_shift(alpha):
    _, grad = value_and_gradient("beta", alpha)
    shifted = (alpha.detach() + 7.0).requires_grad_(True)
    _, grad_shifted = value_and_gradient("beta", shifted)
    assert torch.allclose(grad, grad_shifted)


def test_beta_global_value_and_gradient(alpha):
    value, grad = value_and_gradient("beta-global", alpha)
    a = alpha.detach()
    assert torch.isclose(value, torch.log(torch.exp(a).sum()))
    assert torch.allclose(grad, torch.exp(a) / torch.exp(a).sum())


def test_beta_zero_value_and_gradient(alpha):
    value, grad = value_and_gradient("beta-zero", alpha)
    a = alpha.detach()
    assert torch.isclose(value, torch.log(1 + torch.exp(a)).mean())
    assert torch.allclose(grad, torch.sigmoid(a) / a.numel())
    # A decay: larger entries are pushed down harder.
    order = a.flatten().argsort()
    assert torch.all(grad.flatten()[order].diff() >= 0)


def test_unknown_regularizer_lists_valid_names():
    with pytest.raises(ValueError, match="beta-global"):
        get_regularizer("beta_decay")
