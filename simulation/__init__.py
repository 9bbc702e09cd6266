"""A whole call run on a scratch database under a virtual clock, through the same operations
and Celery tasks the app uses.

Cities register, apply and sometimes withdraw (every fifth applicant is a region, applying to
a region-to-region call with its scoring step, 12 months and a joint roadmap); a coordinator
checks eligibility, pairs cases on the draft board or one by one; partner contacts are invited,
accept or decline; both sides sign; the pair logs activities and hands in the work plan,
progress reports (some late, some sent back), the draft plan, and once the period ends the
final report and the final plan; the sweep closes each cooperation at its end and the
coordinator approves (or sends back) the plan. Two evaluators score each region's application.
Between steps the clock moves on and the real sweep and delivery tasks run, and every e-mail
they send is recorded, so the summary counts what was delivered, not what was meant to be.
One applicant misses the closing and is given an extension, which moves its deadline in the
calendars of the mail it already had.
"""

from simulation.count import SentMail, Summary
from simulation.runner import simulate

__all__ = ["SentMail", "Summary", "simulate"]
