"""cre-advisor: treatment advice for carbapenem-resistant Enterobacterales infections in the ICU.

Public API: `recommend(case)` returns a `Recommendation` for a `Case` (or a dict in the case
JSON shape); `load_knowledge()` returns the knowledge base the engine reads.
"""

from cre_advisor.case import Case
from cre_advisor.engine import recommend
from cre_advisor.knowledge.loader import Knowledge, load_knowledge
from cre_advisor.recommendation import Recommendation

__all__ = ["Case", "Knowledge", "Recommendation", "load_knowledge", "recommend"]
__version__ = "0.1.0"
