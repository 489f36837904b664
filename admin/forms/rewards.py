"""Admin forms for the reward catalog and the redemption queue: validation only.

Numbers are read as text here and checked by `rewards.catalog.read_reward_input`, the same
rules the API applies (blank stock or limit means unlimited).
"""

from __future__ import annotations

from flask_wtf import FlaskForm
from flask_wtf.file import FileField
from wtforms import BooleanField, SelectField, StringField, TextAreaField
from wtforms.validators import DataRequired, Length, Optional

from rewards.catalog import MAX_DESCRIPTION
from rewards.models import RewardKind

KIND_LABELS = {
    "swag": "Swag",
    "gift_card": "Gift card",
    "donation": "Donation",
    "experience": "Experience",
    "access": "Access",
}


class RewardForm(FlaskForm):
    name = StringField("Name", validators=[DataRequired(), Length(max=120)])
    description = TextAreaField("Description (Markdown)", validators=[Optional(), Length(max=MAX_DESCRIPTION)])
    kind = SelectField("Kind", choices={k.value: KIND_LABELS[k.value] for k in RewardKind})
    points_cost = StringField("Points cost", validators=[DataRequired("Enter a whole number of points.")])
    stock = StringField("Stock in total (empty = unlimited)", validators=[Optional()])
    min_tier = SelectField(
        "Minimum tier", choices={"bronze": "Everyone (Bronze)", "silver": "Silver and Gold", "gold": "Gold only"}
    )
    per_advocate_limit = StringField("Limit per advocate (empty = no limit)", validators=[Optional()])
    requires_approval = BooleanField("A manager approves each redemption")
    active = BooleanField("Active (shown to advocates)", default=True)
    image = FileField("Image (PNG, JPEG or WebP, up to 1 MiB)")
    remove_image = BooleanField("Remove the current image")

    def values(self) -> dict:
        """The raw values for read_reward_input (blank numbers mean unlimited)."""

        def blank_none(raw: str | None) -> str | None:
            return raw.strip() if raw and raw.strip() else None

        return {
            "name": self.name.data,
            "description": self.description.data or "",
            "kind": self.kind.data,
            "points_cost": (self.points_cost.data or "").strip(),
            "stock": blank_none(self.stock.data),
            "min_tier": self.min_tier.data,
            "per_advocate_limit": blank_none(self.per_advocate_limit.data),
            "requires_approval": bool(self.requires_approval.data),
            "active": bool(self.active.data),
        }
