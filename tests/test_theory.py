"""Tests of betalib.theory against independent computations.

Each formula is checked against a different route to the same number. The theta ratio
is checked against its sum formula and against real torch.optim.SGD steps, and phi
against explicit loops. The Lipschitz estimate is checked against the exact Jacobian
and the Cauchy-Schwarz bound, and the alpha statistics against NumPy.
"""

import copy
from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest
import torch
from hypothesis import assume, given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from betalib.ops import MixedOperation
from betalib.regularizers import REGULARIZERS
from betalib.space import EDGE_NAMES, EDGES, OPERATIONS, operation_index
from betalib.theory import (
    AlphaStatistics,
    alpha_statistics,
    beta_norm,
    beta_norm_from_beta,
    mixed_operation_lipschitz,
    regularizer_mapping,
    skip_phi,
    skip_phi_general,
    skip_phi_scaled,
    theta_ratio,
    theta_ratio_sum_formula,
)

PROPERTY_SETTINGS = settings(max_examples=40, deadline=None)


@pytest.fixture(autouse=True, scope="module")
def single_torch_thread():
    """Run torch on one thread, because these tensors are too small to gain from more.

    On a busy machine, intra-op threads for tensors this small made the Lipschitz tests
    many times slower than one thread does.
    """
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)

SKIP = operation_index("skip_connect")
CONV_1X1 = operation_index("nor_conv_1x1")
CONV_3X3 = operation_index("nor_conv_3x3")


def softmax(values: np.ndarray) -> np.ndarray:
    shifted = np.exp(values - values.max(axis=-1, keepdims=True))
    return shifted / shifted.sum(axis=-1, keepdims=True)


@st.composite
def alpha_pairs(draw):
    """Draw alpha_t and alpha_next of one shape (rows, operations), entries in [-5, 5]."""
    rows = draw(st.integers(1, 3))
    operations = draw(st.integers(2, 6))
    elements = st.floats(-5, 5, allow_nan=False, allow_infinity=False)
    alpha_t = draw(arrays(np.float64, (rows, operations), elements=elements))
    alpha_next = draw(arrays(np.float64, (rows, operations), elements=elements))
    return alpha_t, alpha_next


LAMBDAS = st.floats(0.01, 50)
LEARNING_RATES = st.floats(1e-3, 1)
MAPPING_NAMES = st.sampled_from(["softmax", "identity"])


# The theta ratio.


@pytest.mark.parametrize("mapping", ["softmax", "identity", lambda alpha: alpha**3])
def test_theta_ratio_matches_sum_formula(mapping):
    rng = np.random.default_rng(0)
    alpha_t = rng.normal(size=(2, 3, 6, 5))
    alpha_next = rng.normal(size=(2, 3, 6, 5))

    direct = theta_ratio(alpha_t, alpha_next, 4.0, 0.3, mapping)
    summed = theta_ratio_sum_formula(alpha_t, alpha_next, 4.0, 0.3, mapping)

    np.testing.assert_allclose(direct, summed, rtol=1e-12)


def test_theta_ratio_matches_numpy_definition():
    rng = np.random.default_rng(1)
    alpha_t = rng.normal(size=(6, 5))
    alpha_next = rng.normal(size=(6, 5))
    lam, lr = 2.0, 0.5

    expected = softmax(alpha_next - lr * lam * softmax(alpha_t)) / softmax(alpha_next)

    np.testing.assert_allclose(theta_ratio(alpha_t, alpha_next, lam, lr), expected, rtol=1e-12)


def test_theta_ratio_returns_input_kind():
    rng = np.random.default_rng(2)
    alpha_t = rng.normal(size=(4, 6, 5))
    alpha_next = rng.normal(size=(4, 6, 5))

    from_numpy = theta_ratio(alpha_t, alpha_next, 1.0, 0.1)
    from_float32 = theta_ratio(alpha_t.astype(np.float32), alpha_next.astype(np.float32), 1.0, 0.1)
    from_tensor = theta_ratio(
        torch.tensor(alpha_t, dtype=torch.float32),
        torch.tensor(alpha_next, dtype=torch.float32),
        1.0,
        0.1,
    )
    from_list = theta_ratio(alpha_t.tolist(), alpha_next.tolist(), 1.0, 0.1)

    assert isinstance(from_numpy, np.ndarray)
    assert from_numpy.shape == (4, 6, 5)
    assert from_float32.dtype == np.float32
    assert isinstance(from_tensor, torch.Tensor)
    assert from_tensor.dtype == torch.float32
    assert from_tensor.shape == (4, 6, 5)
    assert isinstance(from_list, np.ndarray)
    np.testing.assert_allclose(from_tensor.numpy(), from_numpy, rtol=1e-5)
    np.testing.assert_allclose(from_list, from_numpy, rtol=1e-12)


def test_theta_ratio_keeps_autograd_graph():
    alpha_t = torch.randn(6, 5, dtype=torch.float64, requires_grad=True)
    alpha_next = torch.randn(6, 5, dtype=torch.float64)

    theta = theta_ratio(alpha_t, alpha_next, 3.0, 0.2)
    theta[:, 0].sum().backward()

    assert alpha_t.grad is not None
    assert torch.isfinite(alpha_t.grad).all()


def test_theta_ratio_accepts_per_edge_coefficients():
    rng = np.random.default_rng(3)
    alpha_t = rng.normal(size=(6, 5))
    alpha_next = rng.normal(size=(6, 5))
    lam = np.linspace(0.0, 5.0, 6)[:, None]

    theta = theta_ratio(alpha_t, alpha_next, lam, 0.2)
    summed = theta_ratio_sum_formula(alpha_t, alpha_next, lam, 0.2)
    rows = np.stack([theta_ratio(alpha_t[i], alpha_next[i], lam[i, 0], 0.2) for i in range(6)])

    np.testing.assert_allclose(theta, summed, rtol=1e-12)
    np.testing.assert_allclose(theta, rows, rtol=1e-12)
    np.testing.assert_array_equal(theta[0], np.ones(5))


def test_theta_ratio_rejects_per_operation_lambda():
    with pytest.raises(ValueError, match="last axis of size 1"):
        theta_ratio(np.zeros((6, 5)), np.zeros((6, 5)), np.ones(5), 0.1)


def test_theta_ratio_rejects_unknown_mapping():
    with pytest.raises(ValueError, match="valid mappings are softmax, identity"):
        theta_ratio(np.zeros(5), np.zeros(5), 1.0, 0.1, mapping="sigmoid")


def test_theta_ratio_rejects_mapping_of_wrong_shape():
    with pytest.raises(ValueError, match="one value per entry"):
        theta_ratio(np.zeros((6, 5)), np.zeros((6, 5)), 1.0, 0.1, mapping=lambda alpha: alpha[0])


def test_callable_mapping_receives_input_kind():
    received = []

    def mapping(alpha):
        received.append(type(alpha))
        return alpha * 2

    theta_ratio(np.zeros((6, 5)), np.zeros((6, 5)), 1.0, 0.1, mapping=mapping)
    theta_ratio(torch.zeros(6, 5), torch.zeros(6, 5), 1.0, 0.1, mapping=mapping)

    assert received == [np.ndarray, torch.Tensor]


def sgd_step(alpha_t, data_loss, lr, regularizer=None, lam=0.0, weight_decay=0.0):
    """Return alpha after one torch.optim.SGD step on data_loss + lam * regularizer."""
    alpha = alpha_t.clone().requires_grad_()
    optimizer = torch.optim.SGD([alpha], lr=lr, weight_decay=weight_decay)

    loss = data_loss(alpha)
    if regularizer is not None:
        loss = loss + lam * regularizer(alpha)
    optimizer.zero_grad()
    loss.backward()
    optimizer.step()

    return alpha.detach()


def make_data_loss(seed):
    generator = torch.Generator().manual_seed(seed)
    target = torch.randn(6, 5, generator=generator, dtype=torch.float64)
    slope = torch.randn(6, 5, generator=generator, dtype=torch.float64)

    def data_loss(alpha):
        return 0.5 * ((alpha - target) ** 2).sum() + (slope * alpha.tanh()).sum()

    return data_loss


@pytest.mark.parametrize("lam, lr", [(1.0, 0.5), (25.0, 0.1), (50.0, 0.003)])
def test_theta_ratio_matches_sgd_beta_loss(lam, lr):
    alpha_t = torch.randn(6, 5, dtype=torch.float64, generator=torch.Generator().manual_seed(4))
    data_loss = make_data_loss(5)

    plain = sgd_step(alpha_t, data_loss, lr)
    regularized = sgd_step(alpha_t, data_loss, lr, REGULARIZERS["beta"], lam)
    observed = torch.softmax(regularized, -1) / torch.softmax(plain, -1)

    # The beta loss is a mean over the six edges, so each edge's gradient is softmax / 6.
    predicted = theta_ratio(alpha_t, plain, lam / len(EDGES), lr, mapping="softmax")

    torch.testing.assert_close(predicted, observed, rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("lam, lr", [(0.5, 0.5), (3.0, 0.1)])
def test_theta_ratio_matches_sgd_l2_loss(lam, lr):
    alpha_t = torch.randn(6, 5, dtype=torch.float64, generator=torch.Generator().manual_seed(6))
    data_loss = make_data_loss(7)

    plain = sgd_step(alpha_t, data_loss, lr)
    regularized = sgd_step(alpha_t, data_loss, lr, REGULARIZERS["l2"], lam)
    observed = torch.softmax(regularized, -1) / torch.softmax(plain, -1)

    predicted = theta_ratio(alpha_t, plain, lam, lr, mapping="identity")

    torch.testing.assert_close(predicted, observed, rtol=1e-10, atol=1e-12)


def test_theta_ratio_matches_sgd_weight_decay():
    alpha_t = torch.randn(6, 5, dtype=torch.float64, generator=torch.Generator().manual_seed(8))
    data_loss = make_data_loss(9)
    lam, lr = 2.0, 0.2

    plain = sgd_step(alpha_t, data_loss, lr)
    decayed = sgd_step(alpha_t, data_loss, lr, weight_decay=lam)
    observed = torch.softmax(decayed, -1) / torch.softmax(plain, -1)

    predicted = theta_ratio(alpha_t, plain, lam, lr, mapping="identity")

    torch.testing.assert_close(predicted, observed, rtol=1e-10, atol=1e-12)


@PROPERTY_SETTINGS
@given(alpha_pairs(), LAMBDAS, LEARNING_RATES, MAPPING_NAMES)
def test_theta_ratio_is_one_without_regularization(pair, lam, lr, mapping):
    alpha_t, alpha_next = pair

    without_lambda = theta_ratio(alpha_t, alpha_next, 0.0, lr, mapping)
    without_lr = theta_ratio(alpha_t, alpha_next, lam, 0.0, mapping)

    np.testing.assert_allclose(without_lambda, 1.0, rtol=1e-14)
    np.testing.assert_allclose(without_lr, 1.0, rtol=1e-14)


@PROPERTY_SETTINGS
@given(alpha_pairs(), LAMBDAS, LEARNING_RATES, MAPPING_NAMES)
def test_theta_ratio_keeps_beta_normalized(pair, lam, lr, mapping):
    alpha_t, alpha_next = pair

    theta = theta_ratio(alpha_t, alpha_next, lam, lr, mapping)
    total = (theta * softmax(alpha_next)).sum(axis=-1)

    np.testing.assert_allclose(total, 1.0, rtol=1e-12)


@PROPERTY_SETTINGS
@given(alpha_pairs(), LAMBDAS, LEARNING_RATES, MAPPING_NAMES)
def test_theta_ratio_penalizes_largest_mapping(pair, lam, lr, mapping):
    alpha_t, alpha_next = pair
    decay = regularizer_mapping(alpha_t, mapping)
    spread = decay.max(axis=-1) - decay.min(axis=-1)
    assume(np.all(lam * lr * spread > 1e-5))

    theta = theta_ratio(alpha_t, alpha_next, lam, lr, mapping)

    for row in range(len(theta)):
        assert theta[row, decay[row].argmax()] < 1
        assert theta[row, decay[row].argmin()] > 1


@PROPERTY_SETTINGS
@given(alpha_pairs(), LAMBDAS, LEARNING_RATES, MAPPING_NAMES, st.floats(-50, 50))
def test_theta_ratio_ignores_shift_of_alpha(pair, lam, lr, mapping, shift):
    # theta depends on F only through F_k - F_k', so a shift changes it under neither
    # mapping, although it changes F itself under the identity mapping.
    alpha_t, alpha_next = pair

    theta = theta_ratio(alpha_t, alpha_next, lam, lr, mapping)
    shifted = theta_ratio(alpha_t + shift, alpha_next, lam, lr, mapping)

    np.testing.assert_allclose(shifted, theta, rtol=1e-9)


@PROPERTY_SETTINGS
@given(alpha_pairs(), st.floats(-50, 50))
def test_softmax_mapping_ignores_shift(pair, shift):
    alpha_t, _ = pair
    assume(abs(shift) > 1e-3)

    softmax_shifted = regularizer_mapping(alpha_t + shift, "softmax")
    identity_shifted = regularizer_mapping(alpha_t + shift, "identity")

    np.testing.assert_allclose(softmax_shifted, regularizer_mapping(alpha_t, "softmax"), atol=1e-12)
    assert not np.allclose(identity_shifted, regularizer_mapping(alpha_t, "identity"))


@PROPERTY_SETTINGS
@given(alpha_pairs(), LAMBDAS, LEARNING_RATES, st.floats(0.1, 100))
def test_softmax_theta_bounded_for_any_amplitude(pair, lam, lr, scale):
    alpha_t, alpha_next = pair
    strength = lam * lr

    theta = theta_ratio(scale * alpha_t, alpha_next, lam, lr, "softmax")

    assert np.all(theta >= np.exp(-strength) * (1 - 1e-12))
    assert np.all(theta <= np.exp(strength) * (1 + 1e-12))


@PROPERTY_SETTINGS
@given(alpha_pairs(), LAMBDAS, LEARNING_RATES)
def test_identity_theta_shrinks_with_amplitude(pair, lam, lr):
    alpha_t, alpha_next = pair
    assume(np.all(np.ptp(alpha_t, axis=-1) > 1e-3))
    largest = alpha_t.argmax(axis=-1)[:, None]

    theta = theta_ratio(alpha_t, alpha_next, lam, lr, "identity")
    theta_scaled = theta_ratio(3 * alpha_t, alpha_next, lam, lr, "identity")

    small = np.take_along_axis(theta, largest, -1)
    large = np.take_along_axis(theta_scaled, largest, -1)

    assert np.all(large <= small)


def test_identity_theta_leaves_softmax_range():
    alpha_next = np.zeros(5)
    lam, lr = 1.0, 0.1
    floor = np.exp(-lam * lr)

    for scale in (1.0, 10.0, 100.0):
        alpha_t = scale * np.arange(5.0)
        softmax_theta = theta_ratio(alpha_t, alpha_next, lam, lr, "softmax")
        identity_theta = theta_ratio(alpha_t, alpha_next, lam, lr, "identity")

        assert softmax_theta.min() >= floor
        if scale >= 10:
            assert identity_theta.min() < floor
    assert identity_theta[-1] < 1e-10


# The skip-connection quantity phi.


def cell_beta(conv=0.0, skip=0.0):
    """Return a (6, 5) beta with the given 3x3 convolution and skip weights on every edge."""
    beta = np.zeros((6, 5))
    beta[:, CONV_3X3] = conv
    beta[:, SKIP] = skip
    beta[:, operation_index("none")] = 1 - conv - skip
    return beta


def edge_row(source, target):
    return EDGES.index((source, target))


def brute_force_phi(beta_conv, beta_skip):
    """phi for one cell by explicit loops over i and t, with Python floats."""
    h = len(beta_conv)
    total = 0.0
    for i in range(h - 1):
        term = float(beta_conv[i][h - 1]) ** 2
        for t in range(i):
            term *= float(beta_skip[t][i]) ** 2
        total += term
    return total


def test_skip_phi_without_skip_weight():
    rng = np.random.default_rng(10)
    beta = softmax(rng.normal(size=(6, 5)))
    beta[:, operation_index("none")] += beta[:, SKIP]
    beta[:, SKIP] = 0
    conv_into_last = beta[edge_row(0, 3), CONV_1X1] + beta[edge_row(0, 3), CONV_3X3]

    assert skip_phi(beta) == pytest.approx(conv_into_last**2, rel=1e-12)


def test_skip_phi_all_skip_cell_is_zero():
    assert skip_phi(cell_beta(skip=1.0)) == 0.0


def test_skip_phi_all_conv_cell():
    # Only the direct path counts: the other paths need skip weight into nodes 1 and 2.
    assert skip_phi(cell_beta(conv=1.0)) == pytest.approx(1.0)


def test_skip_phi_skip_then_conv_is_maximal():
    beta = cell_beta(skip=1.0)
    for source in range(3):
        beta[edge_row(source, 3)] = 0
        beta[edge_row(source, 3), CONV_3X3] = 1

    assert skip_phi(beta) == pytest.approx(3.0)


def test_skip_phi_counts_both_convolutions():
    beta = cell_beta(conv=0.3, skip=0.5)
    beta[:, CONV_1X1] = 0.1
    beta[:, operation_index("none")] = 0.1
    conv, skip = 0.4, 0.5

    expected = conv**2 + conv**2 * skip**2 + conv**2 * skip**4

    assert skip_phi(beta) == pytest.approx(expected, rel=1e-12)
    assert skip_phi(beta, conv_ops=("nor_conv_3x3",)) == pytest.approx(
        expected * (0.3 / 0.4) ** 2, rel=1e-12
    )


@PROPERTY_SETTINGS
@given(arrays(np.float64, (6, 5), elements=st.floats(-2, 2)), st.floats(0.0, 3.0))
def test_skip_phi_grows_with_skip_weight(alpha, boost):
    beta = softmax(alpha)
    boosted = beta.copy()
    for source, target in [(0, 1), (0, 2), (1, 2)]:
        boosted[edge_row(source, target), SKIP] *= 1 + boost

    assert skip_phi(boosted) >= skip_phi(beta)
    if boost > 0.1:
        assert skip_phi(boosted) > skip_phi(beta)


def test_skip_phi_matches_general_form():
    rng = np.random.default_rng(11)
    beta = softmax(rng.normal(size=(3, 6, 5)))
    beta_conv = np.zeros((3, 4, 4))
    beta_skip = np.zeros((3, 4, 4))
    for row, (source, target) in enumerate(EDGES):
        beta_conv[:, source, target] = beta[:, row, CONV_1X1] + beta[:, row, CONV_3X3]
        beta_skip[:, source, target] = beta[:, row, SKIP]

    np.testing.assert_allclose(skip_phi(beta), skip_phi_general(beta_conv, beta_skip), rtol=1e-12)


@pytest.mark.parametrize("nodes", [2, 3, 5, 7])
def test_skip_phi_general_matches_brute_force(nodes):
    rng = np.random.default_rng(nodes)
    beta_conv = rng.uniform(size=(nodes, nodes))
    beta_skip = rng.uniform(size=(nodes, nodes))

    expected = brute_force_phi(beta_conv, beta_skip)

    assert skip_phi_general(beta_conv, beta_skip) == pytest.approx(expected, rel=1e-12)


def test_skip_phi_general_ignores_lower_triangle():
    rng = np.random.default_rng(12)
    beta_conv = np.triu(rng.uniform(size=(5, 5)), k=1)
    beta_skip = np.triu(rng.uniform(size=(5, 5)), k=1)
    noise = np.tril(rng.uniform(size=(5, 5)))

    plain = skip_phi_general(beta_conv, beta_skip)
    noisy = skip_phi_general(beta_conv + noise, beta_skip + noise)

    assert noisy == pytest.approx(plain, rel=1e-12)


def test_skip_phi_general_three_nodes_by_hand():
    # phi = conv(0,2)^2 + conv(1,2)^2 skip(0,1)^2, and skip(0,2), skip(1,2) play no part.
    beta_conv = np.array([[0, 0, 0.6], [0, 0, 0.8], [0, 0, 0]])
    beta_skip = np.array([[0, 0.5, 0.9], [0, 0, 0.9], [0, 0, 0]])

    assert skip_phi_general(beta_conv, beta_skip) == pytest.approx(0.6**2 + 0.8**2 * 0.5**2)


def test_skip_phi_batch_shapes_and_kinds():
    rng = np.random.default_rng(13)
    beta = softmax(rng.normal(size=(2, 3, 6, 5)))

    from_numpy = skip_phi(beta)
    from_tensor = skip_phi(torch.tensor(beta, dtype=torch.float32))
    per_cell = np.array([[skip_phi(beta[i, j]) for j in range(3)] for i in range(2)])

    assert isinstance(from_numpy, np.ndarray)
    assert from_numpy.shape == (2, 3)
    assert isinstance(from_tensor, torch.Tensor)
    assert from_tensor.shape == (2, 3)
    np.testing.assert_allclose(from_numpy, per_cell, rtol=1e-12)
    np.testing.assert_allclose(from_tensor.numpy(), from_numpy, rtol=1e-5)


def test_skip_phi_rejects_wrong_shape():
    with pytest.raises(ValueError, match=r"shape \(\.\.\., 6, 5\)"):
        skip_phi(np.zeros((5, 6)))
    with pytest.raises(ValueError, match="unknown operation"):
        skip_phi(np.zeros((6, 5)), conv_ops=("conv_5x5",))
    with pytest.raises(ValueError, match="same number of nodes"):
        skip_phi_general(np.zeros((4, 4)), np.zeros((5, 5)))


def test_skip_phi_scaled_is_phi_after_regularized_step():
    rng = np.random.default_rng(14)
    alpha_t = rng.normal(size=(4, 6, 5))
    alpha_next = alpha_t + 0.1 * rng.normal(size=(4, 6, 5))
    lam, lr = 10.0, 0.1

    beta = softmax(alpha_next)
    theta = theta_ratio(alpha_t, alpha_next, lam, lr)
    regularized = softmax(alpha_next - lr * lam * softmax(alpha_t))

    np.testing.assert_allclose(skip_phi_scaled(beta, theta), skip_phi(regularized), rtol=1e-12)
    unscaled = skip_phi_scaled(beta, np.ones_like(beta))
    np.testing.assert_allclose(unscaled, skip_phi(beta), rtol=1e-12)


def test_beta_decay_lowers_skip_dominated_phi():
    # Skip dominates the edges into nodes 1 and 2, and the 3x3 convolution the edges into
    # node 3. Beta-decay moves weight from each dominant operation to the other four, so
    # the skip weights and the convolution sums in phi all fall.
    alpha = np.zeros((6, 5))
    for source, target in EDGES:
        column = CONV_3X3 if target == 3 else SKIP
        alpha[edge_row(source, target), column] = 3.0

    theta = theta_ratio(alpha, alpha, 10.0, 0.1)

    assert skip_phi_scaled(softmax(alpha), theta) < skip_phi(softmax(alpha))


# Lipschitz analysis.


@pytest.fixture(scope="module")
def trained_operation():
    """A MixedOperation on 3 channels whose BatchNorms hold nontrivial running statistics."""
    torch.manual_seed(0)
    operation = MixedOperation(3)
    operation.train()
    with torch.no_grad():
        for _ in range(3):
            operation(2 * torch.randn(8, 3, 6, 6) + 1, torch.full((5,), 0.2))
    operation.eval()
    return operation


def one_hot(column):
    beta = np.zeros(5)
    beta[column] = 1.0
    return beta


def test_beta_norm_range():
    uniform = beta_norm(np.zeros((6, 5)))
    nearly_one_hot = beta_norm(np.array([100.0, 0, 0, 0, 0]))

    np.testing.assert_allclose(uniform, np.full(6, 1 / np.sqrt(5)), rtol=1e-12)
    assert nearly_one_hot == pytest.approx(1.0, rel=1e-12)


def test_beta_norm_matches_numpy():
    rng = np.random.default_rng(15)
    alpha = rng.normal(size=(3, 6, 5))

    expected = np.sqrt((softmax(alpha) ** 2).sum(axis=-1))
    from_tensor = beta_norm(torch.tensor(alpha))

    np.testing.assert_allclose(beta_norm(alpha), expected, rtol=1e-12)
    np.testing.assert_allclose(beta_norm_from_beta(softmax(alpha)), expected, rtol=1e-12)
    assert isinstance(from_tensor, torch.Tensor)
    assert from_tensor.shape == (3, 6)


def test_lipschitz_estimate_within_bound(trained_operation):
    rng = np.random.default_rng(16)
    uniform = [np.full(5, 0.2)]
    one_hots = [one_hot(column) for column in range(5)]
    random = list(softmax(2 * rng.normal(size=(4, 5))))
    betas = np.stack(uniform + one_hots + random)
    x = torch.randn(2, 3, 6, 6, generator=torch.Generator().manual_seed(17))

    generator = torch.Generator().manual_seed(18)

    result = mixed_operation_lipschitz(
        trained_operation, betas, x, n_iter=10, n_pairs=8, generator=generator
    )

    assert result.pair_ratios.shape == (10, 8)
    assert np.all(result.pair_ratios <= result.pair_bounds * (1 + 1e-9))
    assert np.all(result.estimate <= result.bound * (1 + 1e-9))
    assert np.all(result.jacobian_estimate <= result.jacobian_bound * (1 + 1e-9))
    np.testing.assert_allclose(result.beta_norm, np.sqrt((betas**2).sum(axis=-1)), rtol=1e-12)


def test_lipschitz_of_skip_connect_is_one(trained_operation):
    x = torch.randn(2, 3, 6, 6, generator=torch.Generator().manual_seed(19))

    result = mixed_operation_lipschitz(trained_operation, one_hot(SKIP), x, n_iter=3, n_pairs=4)

    assert result.estimate == pytest.approx(1.0, rel=1e-9)
    assert result.jacobian_estimate == pytest.approx(1.0, rel=1e-9)
    assert result.bound > 1.0


def test_lipschitz_bound_loose_for_none(trained_operation):
    # The bound counts every operation's difference, weighted or not, so it stays at
    # ||beta|| = 1 times the stacked norm although the mixed output is constant.
    x = torch.randn(1, 3, 6, 6, generator=torch.Generator().manual_seed(20))

    result = mixed_operation_lipschitz(trained_operation, one_hot(0), x, n_iter=3, n_pairs=4)

    assert result.estimate == 0.0
    assert result.jacobian_estimate == 0.0
    assert result.bound > 0.5
    assert result.jacobian_bound > 0.5


def test_lipschitz_bound_scales_with_beta_norm(trained_operation):
    rng = np.random.default_rng(21)
    betas = np.stack([np.full(5, 0.2), softmax(rng.normal(size=5)), one_hot(CONV_3X3)])
    x = torch.randn(2, 3, 6, 6, generator=torch.Generator().manual_seed(22))

    generator = torch.Generator().manual_seed(23)

    result = mixed_operation_lipschitz(
        trained_operation, betas, x, n_iter=2, n_pairs=6, generator=generator
    )
    order = np.argsort(result.beta_norm)

    assert np.all(np.diff(result.bound[order]) > 0)
    per_unit_norm = result.bound / result.beta_norm
    np.testing.assert_allclose(per_unit_norm, np.full(3, per_unit_norm[0]), rtol=1e-12)


def test_power_iteration_matches_exact_jacobian(trained_operation):
    beta = torch.tensor([0.1, 0.2, 0.3, 0.25, 0.15], dtype=torch.float64)
    x = torch.randn(1, 3, 3, 3, dtype=torch.float64, generator=torch.Generator().manual_seed(24))
    model = copy.deepcopy(trained_operation).to(torch.float64)

    jacobian = torch.autograd.functional.jacobian(lambda point: model(point, beta), x)
    exact = torch.linalg.matrix_norm(jacobian.reshape(x.numel(), x.numel()), ord=2)

    generator = torch.Generator().manual_seed(25)

    result = mixed_operation_lipschitz(
        trained_operation, beta, x.float(), n_iter=150, n_pairs=1, generator=generator
    )

    # Power iteration approaches the top singular value from below.
    assert float(result.jacobian_estimate) <= float(exact) * (1 + 1e-9)
    assert float(result.jacobian_estimate) == pytest.approx(float(exact), rel=1e-5)


def test_lipschitz_leaves_operation_unchanged():
    operation = MixedOperation(3)
    operation.train()
    before = {name: value.clone() for name, value in operation.state_dict().items()}

    x = torch.randn(2, 3, 4, 4)

    mixed_operation_lipschitz(operation, np.full(5, 0.2), x, n_iter=2, n_pairs=2)

    assert operation.training
    for name, value in operation.state_dict().items():
        assert value.dtype == before[name].dtype
        assert torch.equal(value, before[name]), name


def test_lipschitz_returns_beta_kind(trained_operation):
    x = torch.randn(1, 3, 4, 4)
    beta = torch.full((2, 5), 0.2)

    result = mixed_operation_lipschitz(trained_operation, beta, x, n_iter=2, n_pairs=3)

    assert isinstance(result.estimate, torch.Tensor)
    assert result.estimate.shape == (2,)
    assert result.estimate.dtype == torch.float32
    assert result.pair_bounds.shape == (2, 3)


def test_lipschitz_rejects_wrong_beta_shape(trained_operation):
    with pytest.raises(ValueError, match=r"shape \(\.\.\., 5\)"):
        mixed_operation_lipschitz(trained_operation, np.full(4, 0.25), torch.randn(1, 3, 4, 4))


# Statistics of alpha.


def numpy_statistics(values):
    return {
        "mean": values.mean(),
        "median": np.median(values),
        "std": values.std(ddof=0),
        "min": values.min(),
        "max": values.max(),
    }


def check_statistics(result, alphas, epochs):
    assert isinstance(result, AlphaStatistics)
    assert list(result.overall.index) == list(epochs)
    assert list(result.overall.columns) == ["mean", "median", "std", "min", "max"]
    assert list(result.per_edge.columns) == ["epoch", "edge", "mean", "median", "std", "min", "max"]
    assert len(result.per_edge) == len(epochs) * len(EDGES)
    assert len(result.values) == alphas.size

    for position, epoch in enumerate(epochs):
        expected = numpy_statistics(alphas[position])
        for name, value in expected.items():
            assert result.overall.loc[epoch, name] == pytest.approx(value, rel=1e-12, abs=1e-15)

        for row, edge in enumerate(EDGE_NAMES):
            per_edge = result.per_edge
            selected = per_edge[(per_edge.epoch == epoch) & (per_edge.edge == edge)]
            assert len(selected) == 1
            for name, value in numpy_statistics(alphas[position, row]).items():
                assert selected[name].item() == pytest.approx(value, rel=1e-12, abs=1e-15)


def test_alpha_statistics_from_run_history():
    rng = np.random.default_rng(26)
    alphas = rng.normal(size=(4, 6, 5))
    history = [
        {"epoch": epoch + 1, "alpha": alpha.tolist(), "lambda": 0.0}
        for epoch, alpha in enumerate(alphas)
    ]

    check_statistics(alpha_statistics(history), alphas, [1, 2, 3, 4])


def test_alpha_statistics_from_objects():
    rng = np.random.default_rng(27)
    alphas = rng.normal(size=(3, 6, 5))
    history = [SimpleNamespace(alpha=torch.tensor(alpha)) for alpha in alphas]

    check_statistics(alpha_statistics(history), alphas, [0, 1, 2])


@pytest.mark.parametrize("kind", [np.asarray, torch.tensor])
def test_alpha_statistics_from_array(kind):
    rng = np.random.default_rng(28)
    alphas = rng.normal(size=(5, 6, 5))

    check_statistics(alpha_statistics(kind(alphas)), alphas, range(5))


def test_alpha_statistics_values_for_histograms():
    alphas = np.arange(2 * 6 * 5, dtype=float).reshape(2, 6, 5)

    values = alpha_statistics(alphas).values
    first = values.iloc[0]
    last = values.iloc[-1]

    assert list(values.columns) == ["epoch", "edge", "operation", "alpha"]
    assert (first.epoch, first.edge, first.operation, first.alpha) == (0, "1<-0", "none", 0.0)
    assert (last.epoch, last.edge, last.operation, last.alpha) == (1, "3<-2", OPERATIONS[-1], 59.0)


def test_alpha_statistics_uses_population_std():
    alphas = np.zeros((1, 6, 5))
    alphas[0, :, 0] = 5.0

    overall = alpha_statistics(alphas).overall

    assert overall.loc[0, "std"] == pytest.approx(np.std(alphas, ddof=0))
    assert isinstance(overall, pd.DataFrame)


def test_alpha_statistics_rejects_bad_history():
    with pytest.raises(ValueError, match="at least one epoch"):
        alpha_statistics([])
    with pytest.raises(ValueError, match=r"shape \(6, operations\)"):
        alpha_statistics(np.zeros((2, 5, 5)))
    with pytest.raises(ValueError, match="no 'alpha' key"):
        alpha_statistics([{"epoch": 0}])
    with pytest.raises(ValueError, match="repeated epochs"):
        alpha_statistics([{"epoch": 1, "alpha": np.zeros((6, 5))}] * 2)
    with pytest.raises(ValueError, match="same alpha shape"):
        alpha_statistics([np.zeros((6, 5)), np.zeros((6, 4))])

