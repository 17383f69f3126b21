"""The fast path of the NAS-Bench-201 supernet: the same function, fewer and larger kernels.

The plain supernet runs every operation of every edge on its own. Here the edges that
leave one node share their input, so each source node of a cell

- applies its ReLU once for all its outgoing convolutions,
- runs the 1x1 convolutions of all its outgoing edges as one convolution with
  ``outgoing * C`` output channels, and likewise the 3x3 ones, each followed by one
  BatchNorm over the stacked channels (BatchNorm is per channel, so this is exact),
- pools once, since pooling and the identity have no weights,

and the weighted sum over operations is one broadcast multiply-add per source node.
``none`` is never computed. The stem, the residual blocks and the head are the plain
supernet's modules. :func:`copy_plain_weights` loads a plain supernet's weights, which
the tests use to check that outputs and gradients agree.
"""

import torch
from torch import nn

from .ops import AvgPool3x3
from .space import EDGES, NUM_EDGES, NUM_NODES, NUM_OPERATIONS, OPERATIONS
from .supernet import ResidualBlock, SearchCell, Supernet

SKIP, CONV1, CONV3, POOL = (OPERATIONS.index(name) for name in ("skip_connect", "nor_conv_1x1", "nor_conv_3x3", "avg_pool_3x3"))


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
        conv1 = self.bn1x1(self.conv1x1(relu)).view(batch, outgoing, channels, height, width)
        conv3 = self.bn3x3(self.conv3x3(relu)).view(batch, outgoing, channels, height, width)
        pool = self.pool(x)

        def scale(column):
            return weights[:, column].view(1, outgoing, 1, 1, 1)

        out = conv1 * scale(CONV1) + conv3 * scale(CONV3)
        return out + x.unsqueeze(1) * scale(SKIP) + pool.unsqueeze(1) * scale(POOL)


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
