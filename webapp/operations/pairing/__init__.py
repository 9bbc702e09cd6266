"""Pairing: the partner cities registry, suggestions for a case, the call-wide draft board and
the partner contact's invitation (SPEC §6).

The scoring itself is pure (``workflows.pairing``); this module loads the call's profiles,
decides which partner cities are free and allowed for a case, and writes through
``webapp.operations.cases`` so every proposal is an ordinary transition.
"""

from webapp.operations.pairing.board import (
    Board,
    BoardChoice,
    BoardRefused,
    BoardRow,
    Candidate,
    board_for,
    propose_board,
)
from webapp.operations.pairing.common import (
    ADD_PARTNER,
    IMPORT_COLUMNS,
    MAX_IMPORT_ROWS,
    MAX_TOPICS,
    OPTIONAL_COLUMNS,
    PROPOSE,
    REMOVE_PARTNER,
    STATEMENTS_IN_MEMORY,
)
from webapp.operations.pairing.embeddings import (
    StoredVectors,
    statement_embeddings,
)
from webapp.operations.pairing.invitation import (
    Contact,
    contacts_of,
    invite_partner_contact,
)
from webapp.operations.pairing.pool import (
    Pool,
    allowed_regions,
    case_profile,
    earlier_proposals,
    load_pool,
    partner_profile,
    proposal_blocker,
    proposing_states,
    proposing_transition,
    region_problem,
)
from webapp.operations.pairing.registry import (
    ImportRefused,
    PartnerCityData,
    import_partner_cities,
    partner_cities_query,
    partner_city_for,
    read_partner_csv,
    regions_for,
    save_partner_city,
    topics_from_cell,
)
from webapp.operations.pairing.suggestions import (
    CaseSuggestions,
    MatchedSentences,
    Reasons,
    propose,
    remove_partner,
    suggestions_for,
)

__all__ = [
    "ADD_PARTNER",
    "Board",
    "BoardChoice",
    "BoardRefused",
    "BoardRow",
    "Candidate",
    "CaseSuggestions",
    "Contact",
    "IMPORT_COLUMNS",
    "ImportRefused",
    "MAX_IMPORT_ROWS",
    "MAX_TOPICS",
    "MatchedSentences",
    "OPTIONAL_COLUMNS",
    "PROPOSE",
    "PartnerCityData",
    "Pool",
    "REMOVE_PARTNER",
    "Reasons",
    "STATEMENTS_IN_MEMORY",
    "StoredVectors",
    "allowed_regions",
    "board_for",
    "case_profile",
    "contacts_of",
    "earlier_proposals",
    "import_partner_cities",
    "invite_partner_contact",
    "load_pool",
    "partner_cities_query",
    "partner_city_for",
    "partner_profile",
    "proposal_blocker",
    "propose",
    "propose_board",
    "proposing_states",
    "proposing_transition",
    "read_partner_csv",
    "region_problem",
    "regions_for",
    "remove_partner",
    "save_partner_city",
    "statement_embeddings",
    "suggestions_for",
    "topics_from_cell",
]
