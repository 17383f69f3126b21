"""The fast path of the NAS-Bench-201 supernet: the same function, fewer and larger kernels.

The plain supernet runs every operation of every edge on its own. Here the edges that
leave one node share their input, so each source node of a cell

- applies its ReLU once for all its outgoing convolutions,
- runs the 1x1 convolutions of all its outgoing edges as one convolution with
  ``outgoing * C`` output channels, and likewise the 3x3 ones, each followed by one
  BatchNorm over the stacked channels (BatchNorm is per channel, so this is exact),
- pools once, since pooling and the identity have no weights,

and the weighted sum over operations is one broadcast multiply-add per source node.
BatchNorm and the edge weights of the convolutions are one autograd function that saves
only the convolution's output and recomputes the normalised values in the backward
pass, which cuts the memory of the graph by about a third.
``none`` is never computed. The stem, the residual blocks and the head are the plain
supernet's modules. :func:`copy_plain_weights` loads a plain supernet's weights, which
the tests use to check that outputs and gradients agree.
"""

import torch
import torch.nn.functional as F
from torch import nn

from .ops import AvgPool3x3
from .space import EDGES, NUM_EDGES, NUM_NODES, NUM_OPERATIONS, OPERATIONS
from .supernet import ResidualBlock, SearchCell, Supernet

SKIP, CONV1, CONV3, POOL = (OPERATIONS.index(name) for name in ("skip_connect", "nor_conv_1x1", "nor_conv_3x3", "avg_pool_3x3"))


class ScaledBatchNormFunction(torch.autograd.Function):
    """``y[:, k] = scales[k] * BN(z)[:, k]`` for an affine-free BatchNorm over stacked edges.

    ``z`` is (B, K*C, H, W) and the result (B, K, C, H, W). Only ``z`` and the per-channel
    statistics are saved; the normalised values are recomputed in the backward pass.
    Training mode normalises with the batch statistics and updates the running ones as
    ``nn.BatchNorm2d`` does (unbiased variance, exponential average with ``momentum``).
    """

    @staticmethod
    def forward(ctx, z, scales, running_mean, running_var, training, momentum, eps):
        """Normalise ``z`` per channel and weight each edge's slice by its entry of ``scales``."""
        # The native kernel normalises, updates the running statistics and returns the
        # batch mean and inverse standard deviation that the backward pass needs.
        out, mean, invstd = torch.native_batch_norm(z, None, None, running_mean, running_var, training, momentum, eps)
        ctx.save_for_backward(z, scales, running_mean, running_var, mean, invstd)
        ctx.training, ctx.eps = training, eps
        return _group(out, scales.shape[0]) * scales.view(1, -1, 1, 1, 1)

    @staticmethod
    def backward(ctx, grad):
        """Return the gradients of ``z`` and ``scales``, recomputing the normalised values."""
        z, scales, running_mean, running_var, mean, invstd = ctx.saved_tensors
        groups = scales.shape[0]

        grad_scales = None
        if ctx.needs_input_grad[1]:
            if ctx.training:
                xhat = (z - mean.view(1, -1, 1, 1)) * invstd.view(1, -1, 1, 1)
            else:
                xhat = F.batch_norm(z, running_mean, running_var, training=False, eps=ctx.eps)
            grad_scales = (grad * _group(xhat, groups)).sum(dim=(0, 2, 3, 4))

        grad_z = None
        if ctx.needs_input_grad[0]:
            grad_out = (grad * scales.view(1, -1, 1, 1, 1)).flatten(1, 2)
            grad_z = torch.ops.aten.native_batch_norm_backward(
                grad_out, z, None, running_mean, running_var, mean, invstd, ctx.training, ctx.eps,
                [True, False, False],
            )[0]
        return grad_z, grad_scales, None, None, None, None, None


def _group(x, groups):
    batch, width, height, breadth = x.shape
    return x.view(batch, groups, width // groups, height, breadth)


class FusedSource(nn.Module):
    """All operations on the edges that leave one node, computed together."""

    def __init__(self, channels, source):
        super().__init__()
        self.edges = [e for e, (i, _) in enumerate(EDGES) if i == source]
        self.targets = [EDGES[e][1] for e in self.edges]
        width = len(self.edges) * channels
        self.relu = nn.ReLU(inplace=False)
        self.conv1x1 = nn.Conv2d(channels, width, 1, bias=False)
        self.bn1x1 = nn.BatchNorm2d(width, affine=False)
        self.conv3x3 = nn.Conv2d(channels, width, 3, padding=1, bias=False)
        self.bn3x3 = nn.BatchNorm2d(width, affine=False)
        self.pool = AvgPool3x3()
        self.register_buffer("edge_index", torch.tensor(self.edges), persistent=False)

    def forward(self, x, beta):
        """Return the outputs of the outgoing edges, stacked: (B, outgoing, C, H, W)."""
        batch, channels, height, width = x.shape
        outgoing = len(self.edges)
        weights = beta.index_select(0, self.edge_index).to(x.dtype)  # (outgoing, 5)

        relu = self.relu(x)
        out = self.scaled_norm(self.conv1x1(relu), self.bn1x1, weights[:, CONV1])
        out = out + self.scaled_norm(self.conv3x3(relu), self.bn3x3, weights[:, CONV3])
        pool = self.pool(x)

        def scale(column):
            return weights[:, column].view(1, outgoing, 1, 1, 1)

        return out + x.unsqueeze(1) * scale(SKIP) + pool.unsqueeze(1) * scale(POOL)

    def scaled_norm(self, z, bn, scales):
        """BatchNorm of the stacked convolution outputs, each edge's slice times its weight."""
        if self.training:
            bn.num_batches_tracked.add_(1)
        return ScaledBatchNormFunction.apply(
            z, scales, bn.running_mean, bn.running_var, self.training, bn.momentum, bn.eps
        )


class FastCell(nn.Module):
    """A search cell computed source node by source node."""

    def __init__(self, channels):
        super().__init__()
        self.sources = nn.ModuleList(FusedSource(channels, i) for i in range(NUM_NODES - 1))

    def forward(self, x, beta):
        nodes = [x] + [None] * (NUM_NODES - 1)
        for source, fused in enumerate(self.sources):
            outputs = fused(nodes[source], beta)
            for k, target in enumerate(fused.targets):
                term = outputs[:, k]
                nodes[target] = term if nodes[target] is None else nodes[target] + term
        return nodes[-1]


class FastSupernet(Supernet):
    """The NAS-Bench-201 supernet with fused cells; same interface as :class:`Supernet`."""

    def __init__(self, channels=16, cells_per_stage=5, in_channels=3, num_classes=10):
        super().__init__(channels, cells_per_stage, in_channels, num_classes)
        layers = []
        for layer in self.layers:
            if isinstance(layer, SearchCell):
                layers.append(FastCell(layer.edges[0].ops["nor_conv_3x3"].conv.in_channels))
            else:
                layers.append(layer)
        self.layers = nn.ModuleList(layers)

    def forward(self, x, beta):
        if beta.shape != (NUM_EDGES, NUM_OPERATIONS):
            raise ValueError(
                f"beta must have shape ({NUM_EDGES}, {NUM_OPERATIONS}), got {tuple(beta.shape)}"
            )
        out = self.stem(x)
        for layer in self.layers:
            out = layer(out, beta) if isinstance(layer, FastCell) else layer(out)
        out = self.pool(self.head(out)).flatten(1)
        return self.classifier(out)


@torch.no_grad()
def copy_plain_weights(fast: FastSupernet, plain: Supernet) -> FastSupernet:
    """Load the weights and BatchNorm statistics of ``plain`` into ``fast``; return ``fast``."""
    for name in ("stem", "head", "classifier"):
        getattr(fast, name).load_state_dict(getattr(plain, name).state_dict())
    for fast_layer, plain_layer in zip(fast.layers, plain.layers):
        if isinstance(plain_layer, ResidualBlock):
            fast_layer.load_state_dict(plain_layer.state_dict())
            continue
        for fused in fast_layer.sources:
            for kind, conv, bn in (("nor_conv_1x1", fused.conv1x1, fused.bn1x1), ("nor_conv_3x3", fused.conv3x3, fused.bn3x3)):
                ops = [plain_layer.edges[e].ops[kind] for e in fused.edges]
                conv.weight.copy_(torch.cat([op.conv.weight for op in ops]))
                bn.running_mean.copy_(torch.cat([op.bn.running_mean for op in ops]))
                bn.running_var.copy_(torch.cat([op.bn.running_var for op in ops]))
                bn.num_batches_tracked.copy_(ops[0].bn.num_batches_tracked)
    return fast
