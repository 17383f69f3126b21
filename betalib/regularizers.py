"""Architecture regularizers: each a pure function of alpha that returns a scalar loss.

The search adds ``lam * regularizer(alpha)`` to the loss of the alpha step, so the
gradient of each function is the mapping F of Ye et al., "beta-DARTS: Beta-Decay
Regularization for Differentiable Architecture Search" (CVPR 2022), by which the
regularizer moves alpha. ``alpha`` is a tensor of edges x operations, (6, 5) for
NAS-Bench-201.

- ``none``: zero.
- ``l2``: ``||alpha||^2 / 2``, gradient alpha.
- ``weight-decay``: the same function, but the search applies its gradient as a
  decoupled decay ``alpha <- alpha - lr * lam * alpha`` after the optimizer step, not
  through the optimizer (Loshchilov and Hutter, "Decoupled Weight Decay
  Regularization", ICLR 2019). With Adam the two differ, because Adam rescales what
  passes through the loss gradient.
- ``beta``: the beta-decay loss, the mean over edges of ``logsumexp`` over operations.
  Its gradient is ``softmax(alpha_edge) / num_edges``: the largest beta is pushed down
  hardest, and adding a constant to an edge's alpha changes nothing.
- ``beta-global``: ``logsumexp`` over all architecture parameters at once, whose
  gradient is one softmax over all of them.
- ``beta-zero``: ``smoothmax(0, alpha) = log(1 + exp(alpha))``, averaged over all
  parameters, whose gradient is ``sigmoid(alpha) / alpha.numel()``. The seminar slides
  on beta-DARTS print ``-log(1 + exp(-alpha))``, which equals ``log(sigmoid(alpha))``:
  that is a smooth minimum of 0 and alpha, and its gradient ``sigmoid(-alpha)`` would
  push the smallest alpha down hardest, the opposite of a decay. The smooth maximum
  ``log(exp(0) + exp(alpha))`` is the loss the name describes, so it is the one here.
"""

from collections.abc import Callable

import torch
import torch.nn.functional as F


def no_regularizer(alpha: torch.Tensor) -> torch.Tensor:
    """Return zero, with a gradient of zero."""
    return alpha.sum() * 0.0


def l2_loss(alpha: torch.Tensor) -> torch.Tensor:
    """Return ``||alpha||^2 / 2``; its gradient is alpha."""
    return 0.5 * alpha.pow(2).sum()


def beta_loss(alpha: torch.Tensor) -> torch.Tensor:
    """Return the beta-decay loss, ``mean over edges of logsumexp(alpha_edge)``."""
    return torch.logsumexp(alpha, dim=-1).mean()


def beta_global_loss(alpha: torch.Tensor) -> torch.Tensor:
    """Return ``logsumexp`` over all entries of alpha."""
    return torch.logsumexp(alpha.reshape(-1), dim=0)


def beta_zero_loss(alpha: torch.Tensor) -> torch.Tensor:
    """Return ``mean(log(1 + exp(alpha)))``, the smooth maximum of 0 and each entry."""
    return F.softplus(alpha).mean()


REGULARIZERS: dict[str, Callable[[torch.Tensor], torch.Tensor]] = {
    "none": no_regularizer,
    "l2": l2_loss,
    "weight-decay": l2_loss,
    "beta": beta_loss,
    "beta-global": beta_global_loss,
    "beta-zero": beta_zero_loss,
}

# Regularizers whose gradient the search applies as a decoupled decay, outside the loss.
DECOUPLED = frozenset({"weight-decay"})


def get_regularizer(name: str) -> Callable[[torch.Tensor], torch.Tensor]:
    """Return the regularizer called ``name``, or raise ``ValueError`` listing the valid names."""
    try:
        return REGULARIZERS[name]
    except KeyError:
        raise ValueError(
            f"unknown regularizer {name!r}; valid regularizers are {', '.join(REGULARIZERS)}"
        ) from None
