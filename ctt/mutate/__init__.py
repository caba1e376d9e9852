"""Mutation testing of specs (``ctt mutate``): how strong a spec's expectations really are.

ctt's oracle recomputes expectations from the spec's own SQL, so a bug in that SQL can pass.
A mutant is a small, plausible edit of the SQL (or a table's watermark) where the user wrote
it; each runs through the real ``ctt run`` in a temporary copy of the spec's layout, and
the score is the share of mutants some test noticed.
"""

from ctt.mutate.models import Mutant, MutantResult, MutantStatus, MutationReport, SpecScore, Target
from ctt.mutate.operators import OPERATORS, mutate_text

__all__ = [
    "OPERATORS",
    "Mutant",
    "MutantResult",
    "MutantStatus",
    "MutationReport",
    "SpecScore",
    "Target",
    "mutate_text",
]
