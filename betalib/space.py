"""The NAS-Bench-201 cell search space: operation names, edges and the architecture string.

Follows Dong and Yang, "NAS-Bench-201: Extending the Scope of Reproducible Neural
Architecture Search" (ICLR 2020). A cell has four nodes; node 0 is the cell input and
each node j > 0 sums one operation on every earlier node i, so the cell has six edges
``j<-i``. Every name and order here is the benchmark's own, so that an architecture
string printed by this package can be looked up in the benchmark unchanged.
"""

NUM_NODES = 4

# Candidate operations in the benchmark's order; the column order of alpha.
OPERATIONS = ("none", "skip_connect", "nor_conv_1x1", "nor_conv_3x3", "avg_pool_3x3")

# Edges (source node i, target node j) in the benchmark's order; the row order of alpha.
EDGES = tuple((i, j) for j in range(1, NUM_NODES) for i in range(j))

NUM_EDGES = len(EDGES)
NUM_OPERATIONS = len(OPERATIONS)

# Operations that have no weights; the collapse of DARTS drives edges towards these.
PARAMETER_FREE = ("none", "skip_connect", "avg_pool_3x3")
CONVOLUTIONS = ("nor_conv_1x1", "nor_conv_3x3")


def edge_name(edge: tuple[int, int]) -> str:
    """Name an edge as the benchmark does: ``"j<-i"`` for the edge from node i to node j."""
    source, target = edge
    return f"{target}<-{source}"


EDGE_NAMES = tuple(edge_name(edge) for edge in EDGES)


def operation_index(name: str) -> int:
    """Return the column of ``name`` in alpha, or raise ``ValueError`` listing the valid names."""
    try:
        return OPERATIONS.index(name)
    except ValueError:
        raise ValueError(
            f"unknown operation {name!r}; valid operations are {', '.join(OPERATIONS)}"
        ) from None
