"""Every change of state in learning, one function per business action, each in one
transaction. Split by purpose (themes, findings and policies, improvement actions, stories,
scheduled reports and recognition); import them from here: ``from cherish.learning import
actions``.
"""

from __future__ import annotations

from cherish.learning.actions.findings import (
    ASPECTS,
    DEFAULT_ROOT_CAUSES,
    find_competitor_mentions,
    link_policies_from_replies,
    link_policy,
    record_finding,
    save_policy,
    seed_root_causes,
)
from cherish.learning.actions.improvements import (
    NOTICE_LOOKBACK,
    customers_behind,
    link_action_case,
    publish_action,
    refresh_customer_counts,
    save_improvement_action,
    unpublish_action,
)
from cherish.learning.actions.outcomes import (
    RECOGNISED_EVENTS,
    collect_recognition,
    report_recipients,
    send_weekly_report,
)
from cherish.learning.actions.stories import (
    case_is_resolved,
    circulate_story,
    mark_story_read,
    write_story,
)
from cherish.learning.actions.theming import (
    ABSORB_SHARE,
    MIN_SIMILARITY,
    RECLUSTER_LIMIT,
    TAKEOVER_SHARE,
    ReclusterResult,
    _spaces,
    assign_theme,
    assign_unthemed,
    case_text,
    complaint_texts,
    current_model,
    merge_themes,
    prototypes_from_bytes,
    prototypes_to_bytes,
    recluster_themes,
    rename_theme,
    space_of,
    split_theme,
)

__all__ = [
    "ABSORB_SHARE",
    "ASPECTS",
    "DEFAULT_ROOT_CAUSES",
    "MIN_SIMILARITY",
    "NOTICE_LOOKBACK",
    "RECLUSTER_LIMIT",
    "RECOGNISED_EVENTS",
    "TAKEOVER_SHARE",
    "ReclusterResult",
    "_spaces",
    "assign_theme",
    "assign_unthemed",
    "case_is_resolved",
    "case_text",
    "circulate_story",
    "collect_recognition",
    "complaint_texts",
    "current_model",
    "customers_behind",
    "find_competitor_mentions",
    "link_action_case",
    "link_policies_from_replies",
    "link_policy",
    "mark_story_read",
    "merge_themes",
    "prototypes_from_bytes",
    "prototypes_to_bytes",
    "publish_action",
    "recluster_themes",
    "record_finding",
    "refresh_customer_counts",
    "rename_theme",
    "report_recipients",
    "save_improvement_action",
    "save_policy",
    "seed_root_causes",
    "send_weekly_report",
    "space_of",
    "split_theme",
    "unpublish_action",
    "write_story",
]
