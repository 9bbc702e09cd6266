"""What every part of this package shares."""

from __future__ import annotations

import re

from workflows.engine import Purpose

#: the transitions that propose a partner, add one more, or take one out, asked of each case's
#: definition by their purpose
PROPOSE = Purpose.PROPOSE_PARTNER
ADD_PARTNER = Purpose.ADD_PARTNER
REMOVE_PARTNER = Purpose.REMOVE_PARTNER
IMPORT_COLUMNS = ("name", "country", "region", "population", "topics", "challenge_statement",
                  "contact_name", "contact_email")
#: columns a file may add: kind (city or region; empty: city)
OPTIONAL_COLUMNS = ("kind",)
MAX_TOPICS = 5
MAX_IMPORT_ROWS = 5000
_POPULATION = re.compile(r"^\d+$|^\d{1,3}(?:([ ,.'_])\d{3})(?:\1\d{3})*$")
STATEMENTS_IN_MEMORY = 20_000  # statements whose vectors a process keeps (about 10 KB each)
