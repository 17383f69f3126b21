"""The second-order (unrolled) architecture gradient of DARTS.

Liu, Simonyan and Yang, "DARTS: Differentiable Architecture Search" (ICLR 2019),
approximate the best weights for alpha by one virtual SGD step,
``w' = w - xi * (momentum * buffer + grad_w L_train(w, alpha) + decay * w)``, and
descend the validation loss at ``w'``. Its gradient with respect to alpha is

    grad_alpha L_val(w', alpha) - xi * grad2_{alpha, w} L_train(w, alpha) . grad_w' L_val(w', alpha)

where the Hessian-vector product comes from a central finite difference:
``(grad_alpha L_train(w+, alpha) - grad_alpha L_train(w-, alpha)) / (2 eps)`` with
``w+- = w +- eps * grad_w' L_val`` and ``eps = 0.01 / ||grad_w' L_val||``.

The weights of the network are never modified: the virtual step runs through
``torch.func.functional_call``.
"""

import torch
import torch.nn.functional as F
from torch.func import functional_call


def unrolled_alpha_gradient(
    net, alpha, temperature, weights_batch, alpha_batch, xi, momentum=0.0, decay=0.0,
    momentum_buffers=None, eps_scale=0.01,
):
    """Return ``(loss, grad)``: the validation loss at ``w'`` and its unrolled alpha gradient.

    ``weights_batch`` and ``alpha_batch`` are ``(images, labels)`` from the two halves;
    ``xi`` is the virtual learning rate (DARTS uses the current weight learning rate);
    ``momentum_buffers`` are the weight optimizer's buffers, one per parameter or None.
    """
    names = [name for name, _ in net.named_parameters()]
    weights = [p.detach() for _, p in net.named_parameters()]
    x_train, y_train = weights_batch
    x_valid, y_valid = alpha_batch

    # The virtual step, at the current alpha (no graph into alpha is needed here).
    beta = torch.softmax(alpha.detach() / temperature, dim=-1)
    train_loss = F.cross_entropy(net(x_train, beta), y_train)
    grads = torch.autograd.grad(train_loss, list(net.parameters()))
    direction = []
    for i, (w, g) in enumerate(zip(weights, grads)):
        d = g + decay * w
        if momentum_buffers is not None and momentum_buffers[i] is not None:
            d = d + momentum * momentum_buffers[i]
        direction.append(d)
    unrolled = [(w - xi * d).requires_grad_(True) for w, d in zip(weights, direction)]

    # The validation loss at w', differentiated with respect to alpha and w'.
    beta = torch.softmax(alpha / temperature, dim=-1)
    valid_loss = F.cross_entropy(_call(net, names, unrolled, x_valid, beta), y_valid)
    grad_alpha, *grad_unrolled = torch.autograd.grad(valid_loss, [alpha, *unrolled])

    # The Hessian-vector product by a central finite difference around w.
    norm = torch.sqrt(sum((g * g).sum() for g in grad_unrolled))
    eps = eps_scale / norm.clamp_min(1e-12)
    plus = [w + eps * g for w, g in zip(weights, grad_unrolled)]
    minus = [w - eps * g for w, g in zip(weights, grad_unrolled)]
    hessian_vector = (
        _train_alpha_gradient(net, names, plus, alpha, temperature, x_train, y_train)
        - _train_alpha_gradient(net, names, minus, alpha, temperature, x_train, y_train)
    ) / (2 * eps)

    return valid_loss.detach(), grad_alpha - xi * hessian_vector


def _call(net, names, tensors, images, beta):
    return functional_call(net, dict(zip(names, tensors)), (images, beta))


def _train_alpha_gradient(net, names, weights, alpha, temperature, images, labels):
    beta = torch.softmax(alpha / temperature, dim=-1)
    loss = F.cross_entropy(_call(net, names, weights, images, beta), labels)
    (grad,) = torch.autograd.grad(loss, [alpha])
    return grad
