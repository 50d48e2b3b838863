"""The ledger's reactions to league events, registered when services are imported.

`cozykart/services/__init__.py` imports this module, so any code that uses a
service has the ledger listening: a race that becomes final has its pool split,
and an admin fix of a final race posts its correction, inside the league's own
transaction.
"""

from __future__ import annotations

from cozykart.db.uow import subscribe
from cozykart.domain.events import RaceFinalized, ResultsCorrected
from cozykart.services.ledger import correct_on_results_corrected, distribute_on_finalized

subscribe(RaceFinalized, distribute_on_finalized)
subscribe(ResultsCorrected, correct_on_results_corrected)
