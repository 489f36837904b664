"""Blinker signals for side effects across packages (hub defines them; later packages send or listen).

- `answer_accepted(sender, answer_id, question_id, author_id)` and
  `answer_upvote_threshold(sender, answer_id, question_id, author_id)`: sent by
  hub.community *after* the commit that made the milestone happen. Durable work belongs in
  a job registered in the app's hooks (`hub.hooks`: answer_milestone_jobs), not in a receiver.
- `completion_approved(sender, advocate_id, completion_id, approved_count, challenge_type)`: sent
  by challenges *inside* the approving transaction; receivers (hub.email.mailings: the thank-you at
  5 / 25 / 100; challenges.referrals: the bonus of a deal won before the approval) write in that
  same transaction, so what they write commits with the approval.
"""

from __future__ import annotations

from blinker import Namespace

_signals = Namespace()

answer_accepted = _signals.signal("answer-accepted")
answer_upvote_threshold = _signals.signal("answer-upvote-threshold")
completion_approved = _signals.signal("completion-approved")
