"""betalib: DARTS and beta-DARTS on the NAS-Bench-201 space, with the theory of beta-decay.

Follows Ye et al., "beta-DARTS: Beta-Decay Regularization for Differentiable
Architecture Search" (CVPR 2022) and Liu, Simonyan and Yang, "DARTS: Differentiable
Architecture Search" (ICLR 2019), on the space of Dong and Yang, "NAS-Bench-201" (ICLR 2020).

The function ``betalib.search`` runs a search; its module is ``betalib.search`` in
``sys.modules`` too, so ``from betalib.search import Callback`` works as usual.
"""

__version__ = "0.1.0"

from .config import PRESETS, SearchConfig, preset
from .genotype import Genotype
from .history import EpochRecord, SearchResult, read_run
from .search import Callback, SearchDivergedError, StopSearch, search
from .space import EDGE_NAMES, EDGES, OPERATIONS

__all__ = [
    "Callback", "EDGES", "EDGE_NAMES", "EpochRecord", "Genotype", "OPERATIONS", "PRESETS",
    "SearchConfig", "SearchDivergedError", "SearchResult", "StopSearch", "__version__",
    "preset", "read_run", "search",
]
