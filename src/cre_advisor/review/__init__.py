"""Editorial review: an advisory board approves content item by item, bound to content hashes.

`content_items(knowledge)` lists what can be reviewed; `ReviewStore` keeps states and the
append-only audit trail; `ReviewStore.review_states(items)` is the mapping the engine takes
as `recommend(case, review_states=...)`. The web doors live in `review.web`.
"""

from cre_advisor.review.content import ContentItem, content_items
from cre_advisor.review.store import ReviewStore
from cre_advisor.review.workflow import Action, Role, Status

__all__ = ["Action", "ContentItem", "ReviewStore", "Role", "Status", "content_items"]
