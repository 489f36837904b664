"""Admin forms for the reward catalog and the redemption queue: validation only.

Every field goes through `rewards.catalog.RewardBody`'s type, the rules the API applies (numbers
are typed as text; a blank stock or limit means unlimited).
"""

from __future__ import annotations

from typing import Annotated

from flask_wtf import FlaskForm
from flask_wtf.file import FileField
from wtforms import BooleanField, SelectField, StringField, TextAreaField

from hub.contracts import Body, PageQuery, Query
from hub.fields import Conforms, Flag, OneLine, OneOf
from rewards.catalog import RewardBody
from rewards.models import SHIPPED_KINDS, RedemptionStatus, RewardKind
from rewards.services.redemptions import BULK_ACTIONS

KIND_LABELS = {
    "swag": "Swag",
    "gift_card": "Gift card",
    "donation": "Donation",
    "experience": "Experience",
    "access": "Access",
}

DEFAULT_KIND = RewardKind.SWAG  # the kind a new reward starts as


class RewardForm(FlaskForm):
    name = StringField("Name", validators=[Conforms.of(RewardBody, "name")])
    description = TextAreaField("Description (Markdown)", validators=[Conforms.of(RewardBody, "description")])
    kind = SelectField(
        "Kind",
        choices={k.value: KIND_LABELS[k.value] for k in RewardKind},
        default=DEFAULT_KIND.value,
        render_kw={"data-shipped-kinds": " ".join(sorted(k.value for k in SHIPPED_KINDS))},
    )
    points_cost = StringField("Points cost", validators=[Conforms.of(RewardBody, "points_cost")])
    stock = StringField("Stock in total (empty = unlimited)", validators=[Conforms.of(RewardBody, "stock")])
    min_tier = SelectField(
        "Minimum tier", choices={"bronze": "Everyone (Bronze)", "silver": "Silver and Gold", "gold": "Gold only"}
    )
    per_advocate_limit = StringField(
        "Limit per advocate (empty = no limit)", validators=[Conforms.of(RewardBody, "per_advocate_limit")]
    )
    requires_approval = BooleanField("A manager approves each redemption")
    # Ticked by default for the kinds sent by post (the script follows a change of kind); the
    # manager's choice is kept either way.
    needs_shipping = BooleanField(
        "Sent by post: ask the advocate for a shipping address", default=DEFAULT_KIND in SHIPPED_KINDS
    )
    active = BooleanField("Active (shown to advocates)", default=True)
    image = FileField("Image (PNG, JPEG or WebP, up to 1 MiB)")
    remove_image = BooleanField("Remove the current image")

    def values(self) -> dict:
        """The checked values, for read_reward_input."""
        return {
            "name": self.name.data,
            "description": self.description.data or "",
            "kind": self.kind.data,
            "points_cost": self.points_cost.data,
            "stock": self.stock.data,
            "min_tier": self.min_tier.data,
            "per_advocate_limit": self.per_advocate_limit.data,
            "requires_approval": bool(self.requires_approval.data),
            "needs_shipping": bool(self.needs_shipping.data),
            "active": bool(self.active.data),
        }


class ActiveToggle(Body):
    """Retire (false) or bring back (true) a reward."""

    active: Annotated[bool, Flag()]


class RedemptionQueueQuery(PageQuery):
    """The redemption queue: one status at a time, the requested ones first."""

    status: Annotated[RedemptionStatus, OneOf(RedemptionStatus)] = RedemptionStatus.REQUESTED


class RedemptionBulkForm(Body):
    """The queue's bulk bar: what to do with the selected redemptions (their ids travel as
    repeated `ids` fields), the one note or reason for all, and the tab to show afterwards.
    Lengths are the service's to refuse, with a message on the page."""

    action: Annotated[str, OneOf(BULK_ACTIONS)]
    status: Annotated[RedemptionStatus, OneOf(RedemptionStatus)] = RedemptionStatus.REQUESTED
    note: Annotated[str | None, OneLine(5000)] = None
    reason: Annotated[str | None, OneLine(5000)] = None


class RedemptionExportQuery(Query):
    """The CSV export: every redemption, or one status's."""

    status: Annotated[RedemptionStatus | None, OneOf(RedemptionStatus)] = None
