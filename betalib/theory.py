"""Closed-form analysis of beta-decay regularization on the NAS-Bench-201 cell.

The functions follow the analysis in Ye, Li, Li, Chen, Fan and Ouyang, "beta-DARTS:
Beta-Decay Regularization for Differentiable Architecture Search" (CVPR 2022):

- ``theta_ratio`` and ``theta_ratio_sum_formula``: the factor theta by which one
  regularized update rescales each operation weight beta.
- ``skip_phi`` and its variants: the skip-connection quantity phi of Zhou, Xiong,
  Socher and Hoi, "Theory-Inspired Path-Regularized Differential Network Architecture
  Search" (NeurIPS 2020), which governs how fast the supernet weights converge.
- ``beta_norm`` and ``mixed_operation_lipschitz``: the norm of beta, which bounds the
  Lipschitz constant of a mixed operation by the Cauchy-Schwarz inequality.
- ``alpha_statistics``: per-epoch statistics of alpha, for the histograms that compare
  L2, weight decay and beta-decay.

alpha contains the architecture parameters, one row per edge and one column per operation,
and beta = softmax(alpha) over the last axis. The array functions accept NumPy arrays
(or nested lists) and torch tensors of any batch shape and work on the last axis.
They return the kind they receive. NumPy input gives NumPy output, and tensor input
gives a tensor on the input's device that keeps its autograd graph, except from
``mixed_operation_lipschitz``, whose results are detached. ``alpha_statistics``
returns pandas DataFrames. Integer inputs are converted to float64
(NumPy) or to torch's default dtype (tensors).
"""

import copy
import functools
import logging
import numbers
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
import torch

from .ops import MixedOperation
from .space import CONVOLUTIONS, EDGE_NAMES, EDGES, NUM_EDGES, OPERATIONS
from .space import operation_index

logger = logging.getLogger(__name__)

MAPPINGS = ("softmax", "identity")


# Conversion between NumPy and torch.


def _to_tensor(value) -> torch.Tensor:
    if isinstance(value, torch.Tensor):
        return value if value.is_floating_point() else value.to(torch.get_default_dtype())
    array = np.asarray(value)
    if not np.issubdtype(array.dtype, np.floating):
        array = array.astype(np.float64)
    return torch.tensor(array)


def _as_tensors(*values) -> tuple[list, bool]:
    """Convert the array arguments to tensors of one floating dtype and device.

    Python and NumPy scalars pass through as floats, so a float ``lam`` does not change
    the dtype of a float32 alpha. The flag is true when no argument was a tensor, which
    means the result goes back to NumPy.
    """
    as_numpy = not any(isinstance(value, torch.Tensor) for value in values)
    is_scalar = [isinstance(value, numbers.Real) for value in values]
    tensors = [None if scalar else _to_tensor(value) for value, scalar in zip(values, is_scalar)]

    dtypes = [tensor.dtype for tensor in tensors if tensor is not None]
    dtype = functools.reduce(torch.promote_types, dtypes, dtypes[0] if dtypes else torch.float64)
    given = [value for value in values if isinstance(value, torch.Tensor)]
    device = given[0].device if given else torch.device("cpu")

    converted = []
    for value, tensor, scalar in zip(values, tensors, is_scalar):
        converted.append(float(value) if scalar else tensor.to(dtype=dtype, device=device))
    return converted, as_numpy


def _to_output(tensor: torch.Tensor, as_numpy: bool):
    return tensor.detach().cpu().numpy() if as_numpy else tensor


# The theta ratio.


def _check_coefficients(**coefficients) -> None:
    """Raise ValueError unless each coefficient is one value per edge, not per operation."""
    for name, value in coefficients.items():
        if isinstance(value, torch.Tensor) and value.dim() > 0 and value.shape[-1] != 1:
            raise ValueError(
                f"{name} must be a scalar or have a last axis of size 1 (one value per edge); "
                f"got shape {tuple(value.shape)}"
            )


def _apply_mapping(mapping, alpha: torch.Tensor, as_numpy: bool) -> torch.Tensor:
    if isinstance(mapping, str):
        if mapping == "softmax":
            return torch.softmax(alpha, dim=-1)
        if mapping == "identity":
            return alpha
        raise ValueError(
            f"unknown mapping {mapping!r}; valid mappings are {', '.join(MAPPINGS)} or a callable"
        )
    if not callable(mapping):
        raise TypeError(f"mapping must be a name or a callable, got {type(mapping).__name__}")

    # A callable receives alpha in the kind the caller passed, so NumPy code works unchanged.
    argument = _to_output(alpha, as_numpy)
    values = _to_tensor(mapping(argument)).to(dtype=alpha.dtype, device=alpha.device)
    if values.shape != alpha.shape:
        raise ValueError(
            f"mapping returned shape {tuple(values.shape)} for alpha of shape "
            f"{tuple(alpha.shape)}; it must return one value per entry of alpha"
        )
    return values


def regularizer_mapping(alpha, mapping: str | Callable = "softmax"):
    """Apply the mapping F by which a regularizer moves alpha, the gradient of its loss.

    ``"softmax"`` is beta-decay: F(alpha) = softmax(alpha) over the last axis, the
    gradient of logsumexp(alpha) per edge. ``"identity"`` is L2 and weight decay:
    F(alpha) = alpha, the gradient of ||alpha||^2 / 2. A callable is applied as is.
    F has the units of alpha's gradient. Source: Ye et al., "beta-DARTS: Beta-Decay
    Regularization for Differentiable Architecture Search" (CVPR 2022).
    """
    (alpha_tensor,), as_numpy = _as_tensors(alpha)
    return _to_output(_apply_mapping(mapping, alpha_tensor, as_numpy), as_numpy)


def theta_ratio(alpha_t, alpha_next, lam, lr, mapping: str | Callable = "softmax"):
    """Compute theta = beta_bar / beta, the rescaling of beta by one regularized update.

    A regularizer with gradient mapping F (see ``regularizer_mapping``) changes one
    update of alpha from ``alpha_next`` to ``alpha_next - lr * lam * F(alpha_t)``. With
    beta = softmax(alpha_next) and beta_bar = softmax(alpha_next - lr * lam * F(alpha_t))
    over the last axis, the function returns beta_bar / beta, a dimensionless factor per
    operation. Here ``alpha_t`` is alpha before the update and ``alpha_next`` is alpha
    after the same update without the regularizer. ``lam`` and ``lr`` are floats or
    arrays with a last axis of size 1 that broadcast against alpha, one value per edge.
    The result has the broadcast shape of the inputs.

    theta depends on F only through the differences F_k - F_k' within an edge. So adding
    a constant to an edge's alpha_t changes no theta, for the softmax mapping (F does not
    change) and for the identity mapping (F shifts by the constant) alike. The mappings
    differ in amplitude: softmax entries lie in [0, 1], so every theta lies in
    [exp(-lr * lam), exp(lr * lam)], while under the identity mapping theta spreads
    further from 1 as the spread of alpha_t grows. A weight decay that is applied after
    the optimizer step evaluates F at alpha_next, so pass alpha_next as ``alpha_t``
    there. Source: Ye et al., "beta-DARTS: Beta-Decay Regularization for Differentiable
    Architecture Search" (CVPR 2022).
    """
    (alpha_t, alpha_next, lam, lr), as_numpy = _as_tensors(alpha_t, alpha_next, lam, lr)
    _check_coefficients(lam=lam, lr=lr)
    decay = _apply_mapping(mapping, alpha_t, as_numpy)

    regularized = alpha_next - lr * lam * decay
    log_theta = torch.log_softmax(regularized, dim=-1) - torch.log_softmax(alpha_next, dim=-1)
    return _to_output(torch.exp(log_theta), as_numpy)


def theta_ratio_sum_formula(alpha_t, alpha_next, lam, lr, mapping: str | Callable = "softmax"):
    """Compute theta by the sum formula of beta-DARTS, for checking ``theta_ratio``.

    theta_k = sum_k' exp(alpha_next_k')
              / sum_k' [exp(F(alpha_t)_k - F(alpha_t)_k')]^(lam * lr) exp(alpha_next_k'),

    with k and k' running over the last axis. The sums are taken in log space, which
    changes no value but avoids overflow. Arguments, units and result are those of
    ``theta_ratio``, and the two agree up to rounding. Source: Ye et al., "beta-DARTS:
    Beta-Decay Regularization for Differentiable Architecture Search" (CVPR 2022).
    """
    (alpha_t, alpha_next, lam, lr), as_numpy = _as_tensors(alpha_t, alpha_next, lam, lr)
    _check_coefficients(lam=lam, lr=lr)
    decay = _apply_mapping(mapping, alpha_t, as_numpy)

    # differences[..., k, k'] = F_k - F_k'
    differences = decay.unsqueeze(-1) - decay.unsqueeze(-2)
    strength = _broadcast_last(lam * lr)

    numerator = torch.logsumexp(alpha_next, dim=-1, keepdim=True)
    denominator = torch.logsumexp(strength * differences + alpha_next.unsqueeze(-2), dim=-1)
    return _to_output(torch.exp(numerator - denominator), as_numpy)


def _broadcast_last(value):
    """Add an axis so that a coefficient broadcast against (..., K) fits (..., K, K)."""
    if isinstance(value, torch.Tensor) and value.dim() > 0:
        return value.unsqueeze(-1)
    return value


# The skip-connection quantity phi.


def _check_cell_shape(beta: torch.Tensor) -> None:
    expected = (NUM_EDGES, len(OPERATIONS))
    if beta.dim() < 2 or tuple(beta.shape[-2:]) != expected:
        raise ValueError(
            f"beta must have shape (..., {expected[0]}, {expected[1]}), one row per edge and one "
            f"column per operation in benchmark order; got {tuple(beta.shape)}"
        )


def _edge_values(values: torch.Tensor, source: int, target: int) -> torch.Tensor:
    return values[..., EDGES.index((source, target))]


def _phi_of_cell(beta: torch.Tensor, conv_ops, skip_op) -> torch.Tensor:
    _check_cell_shape(beta)
    conv_columns = [operation_index(name) for name in conv_ops]
    conv = beta[..., conv_columns].sum(dim=-1)
    skip = beta[..., operation_index(skip_op)]

    # The three paths into node 3, written out for h = 4.
    direct = _edge_values(conv, 0, 3) ** 2
    via_node_1 = _edge_values(conv, 1, 3) ** 2 * _edge_values(skip, 0, 1) ** 2
    via_node_2 = (
        _edge_values(conv, 2, 3) ** 2
        * _edge_values(skip, 0, 2) ** 2
        * _edge_values(skip, 1, 2) ** 2
    )
    return direct + via_node_1 + via_node_2


def skip_phi(beta, conv_ops=CONVOLUTIONS, skip_op="skip_connect"):
    """Compute phi, the convergence-rate quantity of a NAS-Bench-201 cell, up to a constant.

    phi is proportional to sum over i = 0..h-2 of beta_conv(i, h-1)^2 * prod over
    t = 0..i-1 of beta_skip(t, i)^2, here for h = 4 nodes:

        beta_conv(0,3)^2 + beta_conv(1,3)^2 beta_skip(0,1)^2
        + beta_conv(2,3)^2 beta_skip(0,2)^2 beta_skip(1,2)^2.

    beta has shape (..., 6, 5), edges and operations in benchmark order. beta_conv(i, j)
    is the sum of the weights of ``conv_ops`` on edge j<-i, and beta_skip(i, j) is the
    weight of ``skip_op``. The result has the batch shape of beta and no units. It is
    phi without the positive constant of the theorem, which depends on the network and
    the data, so only comparisons of phi within one network mean anything. In the
    theorem, a larger phi lets the training loss of the supernet weights fall faster.
    Zhou et al. use this to explain why DARTS favors skip connections on the edges into
    intermediate nodes.
    Source: Zhou, Xiong, Socher and Hoi, "Theory-Inspired Path-Regularized
    Differential Network Architecture Search" (NeurIPS 2020).
    """
    (beta_tensor,), as_numpy = _as_tensors(beta)
    return _to_output(_phi_of_cell(beta_tensor, conv_ops, skip_op), as_numpy)


def skip_phi_scaled(beta, theta, conv_ops=CONVOLUTIONS, skip_op="skip_connect"):
    """Compute phi of theta * beta, the effect of one regularized update on phi.

    theta and beta both have shape (..., 6, 5) or broadcast to it. The product is taken
    entry by entry before ``skip_phi`` sums the convolution weights of each edge, so
    every weight is scaled by the theta of its own edge and operation.
    With theta from ``theta_ratio`` and beta = softmax(alpha_next), theta * beta is
    beta_bar, the weights after the regularized update. Beta-decay gives theta below 1
    to the largest weights of an edge, so it lowers phi when the dominant weights are
    the ones that enter phi. Units and constant are those of ``skip_phi``. Source: Ye
    et al., "beta-DARTS: Beta-Decay Regularization for Differentiable Architecture
    Search" (CVPR 2022).
    """
    (beta_tensor, theta_tensor), as_numpy = _as_tensors(beta, theta)
    scaled = theta_tensor * beta_tensor
    return _to_output(_phi_of_cell(scaled, conv_ops, skip_op), as_numpy)


def skip_phi_general(beta_conv, beta_skip):
    """Compute phi, up to a constant, for a cell of h nodes from (..., h, h) weight matrices.

    phi is proportional to sum over i = 0..h-2 of beta_conv[i, h-1]^2 * prod over
    t = 0..i-1 of beta_skip[t, i]^2. Entry [i, j] of each matrix is the weight on edge
    j<-i. Only beta_conv[i, h-1] and beta_skip[t, i] with t < i < h-1 enter phi, so the
    other entries are ignored. The result has the batch shape of the inputs and no
    units, and the constant is omitted as in ``skip_phi``. Source: Zhou, Xiong, Socher
    and Hoi, "Theory-Inspired Path-Regularized Differential Network Architecture
    Search" (NeurIPS 2020).
    """
    (conv, skip), as_numpy = _as_tensors(beta_conv, beta_skip)
    for name, matrix in (("beta_conv", conv), ("beta_skip", skip)):
        if matrix.dim() < 2 or matrix.shape[-1] != matrix.shape[-2]:
            raise ValueError(f"{name} must have shape (..., h, h); got {tuple(matrix.shape)}")
    if conv.shape[-1] != skip.shape[-1]:
        raise ValueError(
            f"beta_conv and beta_skip must describe the same number of nodes; "
            f"got {conv.shape[-1]} and {skip.shape[-1]}"
        )

    last = conv.shape[-1] - 1
    phi = torch.zeros_like(conv[..., 0, 0] * skip[..., 0, 0])
    for i in range(last):
        term = conv[..., i, last] ** 2
        for t in range(i):
            term = term * skip[..., t, i] ** 2
        phi = phi + term
    return _to_output(phi, as_numpy)


# Lipschitz analysis.


def beta_norm_from_beta(beta):
    """Compute ||beta||_2 over the last axis, the Lipschitz factor of a mixed operation.

    For weights on the simplex the norm lies between 1/sqrt(K) (uniform over K
    operations) and 1 (one-hot). The result has the batch shape of beta and no units.
    Source: Ye et al., "beta-DARTS: Beta-Decay Regularization for Differentiable
    Architecture Search" (CVPR 2022).
    """
    (beta_tensor,), as_numpy = _as_tensors(beta)
    return _to_output(torch.linalg.vector_norm(beta_tensor, dim=-1), as_numpy)


def beta_norm(alpha):
    """Compute ||softmax(alpha)||_2 over the last axis, one value per edge.

    The value lies between 1/sqrt(K) (all K entries of alpha equal) and 1 (one entry
    infinitely larger than the rest). See ``beta_norm_from_beta``.
    """
    (alpha_tensor,), as_numpy = _as_tensors(alpha)
    beta = torch.softmax(alpha_tensor, dim=-1)
    return _to_output(torch.linalg.vector_norm(beta, dim=-1), as_numpy)


@dataclass(frozen=True)
class LipschitzEstimate:
    """Empirical Lipschitz estimates of a mixed operation and their Cauchy-Schwarz bounds.

    Every field has the batch shape of beta (``pair_*`` add a last axis of n_pairs) and
    is a NumPy array or a tensor, matching beta. Ratios are output norm over input norm.
    """

    estimate: Any
    """Maximum over the pairs of ||f(x + d) - f(x)|| / ||d||."""
    bound: Any
    """Maximum over the same pairs of ||beta|| * sqrt(sum_k ||o_k(x + d) - o_k(x)||^2) / ||d||."""
    pair_ratios: Any
    """||f(x + d) - f(x)|| / ||d|| for each pair."""
    pair_bounds: Any
    """The Cauchy-Schwarz bound for each pair, at least the pair's ratio."""
    jacobian_estimate: Any
    """||J v|| for the unit vector v that power iteration returns: a lower estimate of ||J||_2."""
    jacobian_bound: Any
    """||beta|| * sqrt(sum_k ||J_k v||^2) at the same v, at least ``jacobian_estimate``."""
    beta_norm: Any
    """||beta||_2."""


def _float64_eval_copy(op: MixedOperation) -> MixedOperation:
    """Return a float64 copy of ``op`` in eval mode, so BatchNorm is a fixed affine map."""
    model = copy.deepcopy(op).to(torch.float64)
    model.eval()
    return model


def _random_unit(shape, generator, device) -> torch.Tensor:
    direction = torch.randn(shape, generator=generator, dtype=torch.float64)
    return (direction / torch.linalg.vector_norm(direction)).to(device)


def _stacked_norm(tensors) -> torch.Tensor:
    return torch.sqrt(sum(torch.linalg.vector_norm(tensor) ** 2 for tensor in tensors))


def _linearize(function, inputs):
    """Return the maps v -> J v and u -> J^T u of ``function`` at ``inputs``.

    J v is the vector-Jacobian product of the linear map u -> J^T u, which needs only
    reverse-mode autograd. Forward mode (torch.func.jvp) would give the same values,
    but torch 2.13.0 emits a DeprecationWarning when it loads its forward-mode
    decompositions.
    """
    output, transpose = torch.func.vjp(function, inputs)
    _, double_transpose = torch.func.vjp(lambda u: transpose(u)[0], torch.zeros_like(output))

    def forward(vector):
        return double_transpose(vector)[0]

    def backward(vector):
        return transpose(vector)[0]

    return forward, backward


def _power_iteration(model, weights, inputs, start, n_iter):
    """Return ||J v|| and sqrt(sum_k ||J_k v||^2) for v from power iteration on J^T J."""
    jacobian, jacobian_transpose = _linearize(lambda point: model(point, weights), inputs)

    vector = start
    for _ in range(n_iter):
        pulled_back = jacobian_transpose(jacobian(vector))
        norm = torch.linalg.vector_norm(pulled_back)
        if norm == 0:
            logger.debug("power iteration stopped: J^T J v is zero for these weights")
            break
        vector = pulled_back / norm

    image = jacobian(vector)
    operation_images = [
        _linearize(operation, inputs)[0](vector) for operation in model.ops.values()
    ]
    return torch.linalg.vector_norm(image).detach(), _stacked_norm(operation_images).detach()


def mixed_operation_lipschitz(
    op: MixedOperation,
    beta,
    x,
    n_iter: int = 20,
    n_pairs: int = 16,
    eps: float = 1e-3,
    generator: torch.Generator | None = None,
) -> LipschitzEstimate:
    """Estimate the Lipschitz constant of a mixed operation in x, next to its bound.

    f(x) = sum_k beta_k o_k(x) is the forward of ``op`` with weights ``beta`` of shape
    (..., 5) in benchmark order, and x is an input batch (B, C, H, W). Each pair is
    (x, x + d) with d = eps * u for a random unit direction u over the whole batch, so
    eps is a distance in input units. For every pair the Cauchy-Schwarz inequality gives

        ||f(x + d) - f(x)|| = ||sum_k beta_k (o_k(x + d) - o_k(x))||
                           <= ||beta|| * sqrt(sum_k ||o_k(x + d) - o_k(x)||^2),

    so each pair ratio is at most its bound, and ``estimate`` at most ``bound``, up to
    rounding. Power iteration on J^T J, with J the Jacobian of f at x, gives
    ``jacobian_estimate``. ``jacobian_bound`` applies the same inequality to the
    Jacobians of the operations at the same vector. The pairs and the start vector are
    drawn once from ``generator`` and shared by every row of beta.

    The computation runs on a float64 copy of ``op`` in eval mode, so BatchNorm uses its
    running statistics and ``op`` itself is not changed. In eval mode a ReLU-conv-BN is
    piecewise linear, so f is piecewise linear in x. The Jacobian norm is the Lipschitz
    constant of the linear piece that contains x, and a pair ratio measures the mean
    Jacobian along the segment from x to x + d in one direction. Both are lower
    estimates of the Lipschitz constant of f that describe f near x only. In many
    dimensions a random direction is nearly orthogonal to the top singular vector, so
    the pair estimate is usually well below the Jacobian estimate. The bounds hold for
    the same pairs and vector, not for the operation in general. The result is detached
    from autograd. Source: Ye et al., "beta-DARTS: Beta-Decay Regularization for
    Differentiable Architecture Search" (CVPR 2022).
    """
    (weights,), as_numpy = _as_tensors(beta)
    if weights.dim() < 1 or weights.shape[-1] != len(OPERATIONS):
        raise ValueError(
            f"beta must have shape (..., {len(OPERATIONS)}), one weight per operation in "
            f"benchmark order; got {tuple(weights.shape)}"
        )
    if n_pairs < 1 or n_iter < 0 or eps <= 0:
        raise ValueError(
            f"invalid sampling settings n_pairs={n_pairs}, n_iter={n_iter}, eps={eps}; "
            f"expected n_pairs >= 1, n_iter >= 0 and eps > 0"
        )

    model = _float64_eval_copy(op)
    parameter = next(model.parameters(), None)
    device = parameter.device if parameter is not None else torch.device("cpu")
    inputs = _to_tensor(x).detach().to(dtype=torch.float64, device=device)
    rows = weights.detach().to(dtype=torch.float64, device=device).reshape(-1, len(OPERATIONS))
    norms = torch.linalg.vector_norm(rows, dim=-1)

    ratios, bounds = _pair_ratios(model, rows, norms, inputs, n_pairs, eps, generator)

    start = _random_unit(inputs.shape, generator, device)
    jacobian = [_power_iteration(model, row, inputs, start, n_iter) for row in rows]
    jacobian_estimate = torch.stack([image for image, _ in jacobian])
    jacobian_bound = norms * torch.stack([stacked for _, stacked in jacobian])

    def shaped(values, extra=()):
        values = values.reshape((*weights.shape[:-1], *extra)).to(dtype=weights.dtype)
        return _to_output(values.to(weights.device), as_numpy)

    return LipschitzEstimate(
        estimate=shaped(ratios.max(dim=-1).values),
        bound=shaped(bounds.max(dim=-1).values),
        pair_ratios=shaped(ratios, (n_pairs,)),
        pair_bounds=shaped(bounds, (n_pairs,)),
        jacobian_estimate=shaped(jacobian_estimate),
        jacobian_bound=shaped(jacobian_bound),
        beta_norm=shaped(norms),
    )


@torch.no_grad()
def _pair_ratios(model, rows, norms, inputs, n_pairs, eps, generator):
    """Return (rows, n_pairs) tensors of the pair ratios and their Cauchy-Schwarz bounds."""
    base_outputs = [model(inputs, row) for row in rows]
    base_operations = [operation(inputs) for operation in model.ops.values()]

    ratios = torch.empty(len(rows), n_pairs, dtype=torch.float64, device=inputs.device)
    bounds = torch.empty_like(ratios)
    for pair in range(n_pairs):
        moved = inputs + eps * _random_unit(inputs.shape, generator, inputs.device)
        step = torch.linalg.vector_norm(moved - inputs)

        differences = [
            operation(moved) - base for operation, base in zip(model.ops.values(), base_operations)
        ]
        stacked = _stacked_norm(differences)

        for index, row in enumerate(rows):
            change = torch.linalg.vector_norm(model(moved, row) - base_outputs[index])
            ratios[index, pair] = change / step
            bounds[index, pair] = norms[index] * stacked / step
    return ratios, bounds


# Statistics of alpha.


@dataclass(frozen=True)
class AlphaStatistics:
    """Per-epoch statistics of alpha, overall and per edge, and the values behind them.

    Standard deviations are population values (ddof = 0), because the entries of alpha
    in one epoch are the whole set described, not a sample from a larger one.
    """

    overall: pd.DataFrame
    """Indexed by epoch, with columns mean, median, std, min and max over all entries."""
    per_edge: pd.DataFrame
    """Columns epoch, edge ("j<-i"), mean, median, std, min and max over each edge's operations."""
    values: pd.DataFrame
    """Columns epoch, edge, operation and alpha: one row per entry, for histograms."""


def _entry_alpha(entry) -> np.ndarray:
    if isinstance(entry, dict):
        if "alpha" not in entry:
            raise ValueError(f"history entry has no 'alpha' key; its keys are {sorted(entry)}")
        entry = entry["alpha"]
    elif hasattr(entry, "alpha"):
        entry = entry.alpha
    if isinstance(entry, torch.Tensor):
        entry = entry.detach().cpu().numpy()
    return np.asarray(entry, dtype=np.float64)


def _entry_epoch(entry, position: int) -> int:
    if isinstance(entry, dict) and "epoch" in entry:
        return int(entry["epoch"])
    if not isinstance(entry, dict) and hasattr(entry, "epoch"):
        return int(entry.epoch)
    return position


def _history_array(history) -> tuple[np.ndarray, list[int]]:
    """Return alpha of every epoch as an (epochs, edges, operations) array and the epochs."""
    if isinstance(history, torch.Tensor):
        history = history.detach().cpu().numpy()
    if isinstance(history, np.ndarray):
        alphas = history.astype(np.float64)
        epochs = list(range(len(alphas)))
    else:
        entries = list(history)
        entry_alphas = [_entry_alpha(entry) for entry in entries]
        shapes = {alpha.shape for alpha in entry_alphas}
        if len(shapes) > 1:
            raise ValueError(f"every entry of history must have the same alpha shape; got {shapes}")
        alphas = np.stack(entry_alphas) if entries else np.empty(0)
        epochs = [_entry_epoch(entry, position) for position, entry in enumerate(entries)]

    if alphas.ndim != 3 or alphas.shape[0] == 0 or alphas.shape[1] != NUM_EDGES:
        raise ValueError(
            f"history must contain at least one epoch of alpha with shape "
            f"({NUM_EDGES}, operations); got an array of shape {alphas.shape}"
        )
    if len(set(epochs)) != len(epochs):
        raise ValueError(
            f"history has repeated epochs {sorted(epochs)}; each epoch must appear once"
        )
    return alphas, epochs


def _describe(groups) -> pd.DataFrame:
    column = groups["alpha"]
    return pd.DataFrame(
        {
            "mean": column.mean(),
            "median": column.median(),
            "std": column.std(ddof=0),
            "min": column.min(),
            "max": column.max(),
        }
    )


def alpha_statistics(history: Sequence | np.ndarray | torch.Tensor) -> AlphaStatistics:
    """Compute the mean, median, standard deviation, minimum and maximum of alpha per epoch.

    ``history`` is a sequence of per-epoch entries or an array or tensor of shape
    (epochs, 6, operations). An entry is a dict with key "alpha", an object with an
    ``alpha`` attribute, or alpha itself. The history entries of a search's run.json
    are such dicts, with alpha as a nested list of edges x operations. The epoch of an
    entry is its "epoch" key or attribute, else its position in ``history`` from 0.
    Statistics are in the units of alpha and use
    ddof = 0. The comparison of L2, weight decay and beta-decay through these
    statistics is from Ye et al., "beta-DARTS: Beta-Decay Regularization for
    Differentiable Architecture Search" (CVPR 2022).
    """
    alphas, epochs = _history_array(history)
    num_operations = alphas.shape[2]
    operations = OPERATIONS if num_operations == len(OPERATIONS) else range(num_operations)

    index = pd.MultiIndex.from_product(
        [epochs, EDGE_NAMES, list(operations)], names=["epoch", "edge", "operation"]
    )
    values = pd.DataFrame({"alpha": alphas.reshape(-1)}, index=index).reset_index()

    overall = _describe(values.groupby("epoch", sort=False))
    per_edge = _describe(values.groupby(["epoch", "edge"], sort=False)).reset_index()
    return AlphaStatistics(overall=overall, per_edge=per_edge, values=values)


__all__ = [
    "MAPPINGS",
    "AlphaStatistics",
    "LipschitzEstimate",
    "alpha_statistics",
    "beta_norm",
    "beta_norm_from_beta",
    "mixed_operation_lipschitz",
    "regularizer_mapping",
    "skip_phi",
    "skip_phi_general",
    "skip_phi_scaled",
    "theta_ratio",
    "theta_ratio_sum_formula",
]
