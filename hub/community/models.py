"""Questions, answers, upvotes and members' reports of posts. Counters are caches moved by SQL
in the vote's transaction."""

from __future__ import annotations

import datetime as dt
import enum

from sqlalchemy import Boolean, CheckConstraint, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from hub.db import str_enum, utcnow
from hub.extensions import Model
from hub.models import User

TITLE_MAX = 200
BODY_MAX = 20_000
REASON_MAX = 300


class Question(Model):
    __tablename__ = "questions"
    __table_args__ = (Index("ix_questions_created_at", "created_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    author_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    title: Mapped[str] = mapped_column(String(TITLE_MAX))
    body: Mapped[str] = mapped_column(Text)
    body_html: Mapped[str] = mapped_column(Text)
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    # Set once by a conditional UPDATE (… WHERE accepted_answer_id IS NULL): one accepted answer.
    accepted_answer_id: Mapped[int | None] = mapped_column(
        ForeignKey("answers.id", use_alter=True, name="fk_questions_accepted_answer_id_answers", ondelete="SET NULL")
    )
    is_hidden: Mapped[bool] = mapped_column(Boolean, default=False)
    hidden_reason: Mapped[str | None] = mapped_column(String(REASON_MAX))
    hidden_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    hidden_at: Mapped[dt.datetime | None]

    author: Mapped[User] = relationship(foreign_keys=[author_id])


class Answer(Model):
    __tablename__ = "answers"
    __table_args__ = (Index("ix_answers_question_created", "question_id", "created_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    question_id: Mapped[int] = mapped_column(ForeignKey("questions.id", ondelete="CASCADE"))
    author_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    body: Mapped[str] = mapped_column(Text)
    body_html: Mapped[str] = mapped_column(Text)
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    upvotes: Mapped[int] = mapped_column(Integer, default=0)
    is_accepted: Mapped[bool] = mapped_column(Boolean, default=False)
    accepted_at: Mapped[dt.datetime | None]
    accepted_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    is_hidden: Mapped[bool] = mapped_column(Boolean, default=False)
    hidden_reason: Mapped[str | None] = mapped_column(String(REASON_MAX))
    hidden_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    hidden_at: Mapped[dt.datetime | None]

    author: Mapped[User] = relationship(foreign_keys=[author_id])


class AnswerVote(Model):
    """One upvote per user per answer, held by the unique key."""

    __tablename__ = "answer_votes"
    __table_args__ = (UniqueConstraint("answer_id", "user_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    answer_id: Mapped[int] = mapped_column(ForeignKey("answers.id", ondelete="CASCADE"))
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)


class ReportStatus(enum.StrEnum):
    OPEN = "open"
    DISMISSED = "dismissed"  # a manager looked and left the post up
    ACTIONED = "actioned"  # the post was hidden


class PostReport(Model):
    """A member's report of a question or an answer (exactly one of the two), for the staff
    queue. One report per member per post, held by the unique keys (NULLs never collide, so
    each key binds only the kind of post it names); a manager dismisses it or hides the post."""

    __tablename__ = "post_reports"
    __table_args__ = (
        UniqueConstraint("question_id", "reporter_id", name="uq_post_reports_question_reporter"),
        UniqueConstraint("answer_id", "reporter_id", name="uq_post_reports_answer_reporter"),
        CheckConstraint("(question_id IS NULL) <> (answer_id IS NULL)", name="one_post"),
        Index("ix_post_reports_status_created", "status", "created_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    question_id: Mapped[int | None] = mapped_column(ForeignKey("questions.id", ondelete="CASCADE"))
    answer_id: Mapped[int | None] = mapped_column(ForeignKey("answers.id", ondelete="CASCADE"), index=True)
    reporter_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    reason: Mapped[str] = mapped_column(String(REASON_MAX))
    status: Mapped[ReportStatus] = mapped_column(str_enum(ReportStatus, 16), default=ReportStatus.OPEN)
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    decided_at: Mapped[dt.datetime | None]
    decided_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))

    reporter: Mapped[User] = relationship(foreign_keys=[reporter_id])

    @property
    def kind(self) -> str:
        return "question" if self.question_id is not None else "answer"

    @property
    def post_id(self) -> int:
        return self.question_id if self.question_id is not None else int(self.answer_id or 0)
