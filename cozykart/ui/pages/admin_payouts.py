"""`/admin/payouts`: the payout queue (pay with a method and reference, or reject with a reason)
and a direct payout to a racer.

Each handler re-derives the acting racer from the backend session and calls a
payout service, which refuses anyone who is not an admin. Paying is idempotent
in the service: two admins clicking at once settle a payout once, and the
second sees that it was already paid.
"""

from __future__ import annotations

import dataclasses
import uuid

import reflex as rx

from cozykart.domain.errors import InvalidInput
from cozykart.domain.ids import parse_record_id
from cozykart.domain.ledger import PAID_BY_WORDS, REASON_LENGTH_MAX, STRIPE_PAYOUT_METHOD, PayoutStatus
from cozykart.domain.money import AMOUNT_TEXT_LENGTH_MAX, format_cents, parse_amount_cents
from cozykart.services import money_admin, payouts
from cozykart.services.money_admin import DecisionPreview, PayoutLine, PayoutQueue
from cozykart.settings import load_settings
from cozykart.ui import routes, theme
from cozykart.ui.admin_layout import admin_gate, admin_load, admin_time, admin_title
from cozykart.ui.auth_state import AuthState
from cozykart.ui.confirm import ConfirmMixin, confirm_dialog
from cozykart.ui.layout import page
from cozykart.ui.local_time import local_time
from cozykart.ui.service_call import call_service

REFERENCE_INPUT_LENGTH_MAX = 200


@dataclasses.dataclass
class PendingView:
    payout_id: int = 0
    racer_name: str = ""
    amount: str = ""
    requested: str = ""
    destination: str = ""  # where the racer asked to be paid, in words
    method: str = ""  # the destination's method, the pay form's default (a PAYOUT_METHODS key, or "")
    by_stripe: bool = False  # asked for by Stripe: paid with one click, by a transfer
    stripe_words: str = ""  # what the racer's connected account can do now


@dataclasses.dataclass
class DecidedView:
    payout_id: int = 0
    racer_name: str = ""
    amount: str = ""
    status: str = ""
    detail: str = ""
    when: str = ""


@dataclasses.dataclass
class OptionView:
    value: str = ""
    label: str = ""


def _record_id(form: dict, name: str, what: str) -> int:
    value = parse_record_id(form.get(name, ""))
    if value is None:
        raise InvalidInput(f"Choose {what}.")
    return value


def _queue_of(actor_id, uow, settings) -> PayoutQueue:
    return money_admin.payout_queue(actor_id, uow=uow)


DIRECT_FORM_ID = "direct-payout-form"
DIRECT_FORM_FIELDS = ("racer_id", "amount", "method", "reference")


def _decision_lines(preview: DecisionPreview, what: str) -> list[str]:
    def money(cents: int) -> str:
        return format_cents(cents, preview.currency)

    if preview.replayed:
        return [f"Payout #{preview.payout_id} was already {what}: nothing would change."]
    return [
        f"{preview.racer_name}'s available money: {money(preview.available_before_cents)} → "
        f"{money(preview.available_after_cents)}.",
        f"Where they asked to be paid: {preview.destination_words}.",
    ]


def _stripe_words(line: PayoutLine) -> str:
    if line.destination is None or line.destination.method != STRIPE_PAYOUT_METHOD:
        return ""
    return line.stripe.words if line.stripe else "Stripe: the racer's account is no longer connected."


class PayoutsAdminState(ConfirmMixin, AuthState):
    allowed: bool = False
    refusal: str = ""
    pending: list[PendingView] = []
    recent: list[DecidedView] = []
    racers: list[OptionView] = []
    methods: list[OptionView] = []
    _direct_key: str = ""

    @rx.event
    async def load(self):
        return await admin_load(self, _queue_of, self._show, hide=self._hide)

    @rx.event
    async def refresh(self):
        return await admin_load(self, _queue_of, self._show, hide=self._hide, on_load=False)

    def _hide(self) -> None:
        self.pending, self.recent, self.racers = [], [], []

    def _show(self, queue: PayoutQueue) -> None:
        def money(cents: int) -> str:
            return format_cents(cents, queue.currency)

        methods = dict(queue.methods)

        def detail(line: PayoutLine) -> str:
            if line.status == PayoutStatus.PAID:
                return f"by {PAID_BY_WORDS.get(line.method or '', line.method or '?')}, ref {line.reference or '-'}"
            if line.status == PayoutStatus.CANCELLED:
                return "cancelled by the racer"
            return f"rejected: {line.reason or ''}"

        self.pending = [
            PendingView(
                line.payout_id,
                line.racer_name,
                money(line.amount_cents),
                admin_time(line.requested_at),
                line.destination_words,
                line.destination.method if line.destination and line.destination.method in methods else "",
                line.destination is not None and line.destination.method == STRIPE_PAYOUT_METHOD,
                _stripe_words(line),
            )
            for line in queue.pending
        ]
        self.recent = [
            DecidedView(
                line.payout_id,
                line.racer_name,
                money(line.amount_cents),
                line.status,
                detail(line),
                admin_time(line.decided_at),
            )
            for line in queue.recent
        ]
        self.racers = [
            OptionView(
                str(racer.racer_id), f"{racer.display_name} ({money(racer.available_cents)} available)"
            )
            for racer in queue.racers
        ]
        self.methods = [OptionView(key, words) for key, words in queue.methods]
        self._direct_key = self._direct_key or f"web-direct:{uuid.uuid4().hex}"

    async def _preview(self, work) -> DecisionPreview | rx.event.EventSpec:
        previewed = await call_service(self, work)
        return previewed.toast() if previewed.refused else previewed.value

    @rx.event
    async def ask_pay(self, form: dict):
        """The dialog before marking a payout paid: who, how much, how, from a dry run of the payment."""
        method, reference = str(form.get("method") or ""), str(form.get("reference") or "")
        preview = await self._preview(
            lambda actor_id, uow, settings: money_admin.preview_payout_decision(
                actor_id,
                _record_id(form, "payout_id", "a payout"),
                pay=True,
                method=method,
                reference=reference,
                uow=uow,
            )
        )
        if not isinstance(preview, DecisionPreview):
            return preview
        amount = format_cents(preview.amount_cents, preview.currency)
        method_words = dict((m.value, m.label) for m in self.methods).get(method, method)
        self._ask(
            title=f"Mark {preview.racer_name}'s {amount} payout paid?",
            lines=[
                f"Payout #{preview.payout_id}: {amount} to {preview.racer_name} by {method_words}"
                + (f", reference {reference.strip()!r}." if reference.strip() else ", no reference."),
                "Send the money yourself first: this only records that it was sent, and it cannot be undone.",
                *_decision_lines(preview, "paid"),
                "Discord announces the cash-out.",
            ],
            label=f"Mark {amount} paid",
            handler="pay",
            args={"form": {"payout_id": str(preview.payout_id), "method": method, "reference": reference}},
        )
        return None

    @rx.event
    async def ask_reject(self, form: dict):
        """The dialog before rejecting: the money goes back to the racer's wallet, with the reason."""
        reason = str(form.get("reason") or "")
        preview = await self._preview(
            lambda actor_id, uow, settings: money_admin.preview_payout_decision(
                actor_id, _record_id(form, "payout_id", "a payout"), pay=False, reason=reason, uow=uow
            )
        )
        if not isinstance(preview, DecisionPreview):
            return preview
        amount = format_cents(preview.amount_cents, preview.currency)
        self._ask(
            title=f"Reject {preview.racer_name}'s {amount} payout?",
            lines=[
                f"Payout #{preview.payout_id} is rejected for good, with the reason {reason.strip()!r}; "
                f"the {amount} goes back to {preview.racer_name}'s wallet.",
                *_decision_lines(preview, "rejected"),
            ],
            label=f"Reject the {amount} payout",
            handler="reject",
            args={"form": {"payout_id": str(preview.payout_id), "reason": reason}},
        )
        return None

    @rx.event
    async def ask_pay_directly(self, form: dict):
        """The dialog before a direct payout: who, how much, and their wallet after, from a dry run."""
        method, reference = str(form.get("method") or ""), str(form.get("reference") or "")
        amount_text = str(form.get("amount") or "")
        key = self._direct_key or f"web-direct:{uuid.uuid4().hex}"
        self._direct_key = key
        preview = await self._preview(
            lambda actor_id, uow, settings: money_admin.preview_direct_payout(
                actor_id,
                _record_id(form, "racer_id", "a racer"),
                parse_amount_cents(amount_text),
                method=method,
                reference=reference,
                key=key,
                uow=uow,
            )
        )
        if not isinstance(preview, DecisionPreview):
            return preview
        amount = format_cents(preview.amount_cents, preview.currency)
        method_words = dict((m.value, m.label) for m in self.methods).get(method, method)
        self._ask(
            title=f"Pay {preview.racer_name} {amount} now?",
            lines=[
                f"{amount} leaves {preview.racer_name}'s wallet now and is recorded as paid by {method_words}; "
                "send the money yourself. It cannot be undone.",
                *_decision_lines(preview, "paid"),
                "Discord announces the cash-out.",
            ],
            label=f"Pay {amount}",
            handler="pay_directly",
            args={"form": {k: str(v or "") for k, v in form.items() if k in DIRECT_FORM_FIELDS}},
        )
        return None

    @rx.event
    async def pay(self, form: dict):
        method, reference = str(form.get("method", "")), str(form.get("reference", ""))
        paid = await call_service(
            self,
            lambda actor_id, uow, settings: payouts.pay_payout(
                actor_id,
                _record_id(form, "payout_id", "a payout"),
                method=method,
                reference=reference,
                uow=uow,
            ),
        )
        if paid.refused:
            return paid.toast()
        outcome = paid.value
        message = (
            f"Payout #{outcome.payout_id} was already paid"
            if outcome.replayed
            else f"Payout #{outcome.payout_id} marked paid"
        )
        return [rx.toast.success(message), PayoutsAdminState.refresh]

    @rx.event
    async def ask_pay_by_stripe(self, form: dict):
        """The dialog before a Stripe transfer: who, how much, to which account, read from the queue now."""
        payout_id = parse_record_id(form.get("payout_id", ""))
        queue = await call_service(self, _queue_of)
        if queue.refused:
            return queue.toast()
        line = next((one for one in queue.value.pending if one.payout_id == payout_id), None)
        if line is None:
            return [rx.toast.error("That payout is no longer waiting."), PayoutsAdminState.refresh]
        amount = format_cents(line.amount_cents, queue.value.currency)
        self._ask(
            title=f"Send {line.racer_name} {amount} by Stripe?",
            lines=[
                f"Payout #{line.payout_id}: Stripe transfers {amount} to {line.racer_name}'s connected "
                "account now, and the payout is recorded paid with the transfer's id as its reference.",
                _stripe_words(line),
                "The money leaves at once; only a reversal in Stripe brings it back. Discord announces the "
                "cash-out.",
            ],
            label=f"Send {amount} by Stripe",
            handler="pay_by_stripe",
            args={"form": {"payout_id": str(line.payout_id)}},
        )
        return None

    @rx.event
    async def pay_by_stripe(self, form: dict):
        paid = await call_service(
            self,
            lambda actor_id, uow, settings: payouts.pay_payout_by_stripe(
                actor_id, _record_id(form, "payout_id", "a payout"), uow=uow
            ),
        )
        if paid.refused:
            return [paid.toast(), PayoutsAdminState.refresh]
        outcome = paid.value
        message = (
            f"Payout #{outcome.payout_id} was already paid"
            if outcome.replayed
            else f"Payout #{outcome.payout_id} sent by Stripe"
        )
        return [rx.toast.success(message), PayoutsAdminState.refresh]

    @rx.event
    async def reject(self, form: dict):
        reason = str(form.get("reason", ""))
        rejected = await call_service(
            self,
            lambda actor_id, uow, settings: payouts.reject_payout(
                actor_id, _record_id(form, "payout_id", "a payout"), reason=reason, uow=uow
            ),
        )
        if rejected.refused:
            return rejected.toast()
        return [
            rx.toast.success(f"Payout #{rejected.value.payout_id} rejected; the money is back in the wallet"),
            PayoutsAdminState.refresh,
        ]

    @rx.event
    async def pay_directly(self, form: dict):
        method, reference = str(form.get("method", "")), str(form.get("reference", ""))
        key = self._direct_key or f"web-direct:{uuid.uuid4().hex}"

        def pay_directly(actor_id, uow, settings) -> tuple[int, int]:
            racer_id = _record_id(form, "racer_id", "a racer")
            amount_cents = parse_amount_cents(str(form.get("amount", "")))
            return amount_cents, payouts.direct_payout(
                actor_id, racer_id, amount_cents, method=method, reference=reference, key=key, uow=uow
            )

        paid = await call_service(self, pay_directly)
        if paid.refused:
            return paid.toast()
        amount_cents, payout_id = paid.value
        self._direct_key = f"web-direct:{uuid.uuid4().hex}"
        return [
            rx.call_script(f"document.getElementById('{DIRECT_FORM_ID}')?.reset()"),
            rx.toast.success(
                f"Direct payout #{payout_id} of {format_cents(amount_cents, load_settings().currency)} paid"
            ),
            PayoutsAdminState.refresh,
        ]


# --- components ---------------------------------------------------------------


def _option(option: OptionView) -> rx.Component:
    return rx.el.option(option.label, value=option.value)


def _method_select(test_id: str, default: rx.Var[str] | str = "") -> rx.Component:
    return rx.el.select(
        rx.foreach(PayoutsAdminState.methods, _option),
        name="method",
        default_value=default,
        aria_label="Payout method",
        style=theme.SELECT_STYLE,
        data_testid=test_id,
    )


def _pending_row(row: PendingView) -> rx.Component:
    return rx.vstack(
        rx.hstack(
            rx.text("#", row.payout_id, color=theme.TEXT_MUTED),
            rx.text(row.racer_name, weight="bold"),
            rx.text(row.amount, weight="bold", color=theme.GOLD),
            rx.text("requested ", local_time(row.requested), size="1", color=theme.TEXT_MUTED),
            spacing="3",
            align="center",
            wrap="wrap",
        ),
        rx.text("Pay to: ", rx.text.strong(row.destination), size="2", data_testid="pending-destination"),
        rx.cond(row.by_stripe, _stripe_pay(row)),
        rx.form(
            rx.hstack(
                rx.el.input(type="hidden", name="payout_id", value=row.payout_id),
                _method_select("pay-method", row.method),
                rx.input(
                    name="reference",
                    placeholder="Reference (gift card code, PayPal id…)",
                    aria_label="Payment reference",
                    max_length=REFERENCE_INPUT_LENGTH_MAX,
                    data_testid="pay-reference",
                    width="16rem",
                ),
                rx.button("Mark paid", type="submit", color_scheme="green", data_testid="pay-button"),
                spacing="2",
                wrap="wrap",
                align="center",
            ),
            on_submit=PayoutsAdminState.ask_pay,
            reset_on_submit=False,
        ),
        rx.form(
            rx.hstack(
                rx.el.input(type="hidden", name="payout_id", value=row.payout_id),
                rx.input(
                    name="reason",
                    placeholder="Reason for rejecting",
                    aria_label="Reason for rejecting",
                    max_length=REASON_LENGTH_MAX,
                    data_testid="reject-reason",
                    width="16rem",
                ),
                rx.button(
                    "Reject", type="submit", color_scheme="red", variant="soft", data_testid="reject-button"
                ),
                spacing="2",
                wrap="wrap",
                align="center",
            ),
            on_submit=PayoutsAdminState.ask_reject,
            reset_on_submit=False,
        ),
        spacing="2",
        width="100%",
        padding_y="0.75rem",
        border_bottom=f"1px solid {theme.PANEL_BORDER}",
        data_testid="pending-payout",
    )


def _stripe_pay(row: PendingView) -> rx.Component:
    """One click: a Stripe transfer to the racer's connected account, its id the payout's reference."""
    return rx.form(
        rx.hstack(
            rx.el.input(type="hidden", name="payout_id", value=row.payout_id),
            rx.button(
                "Pay with Stripe", type="submit", color_scheme="indigo", data_testid="stripe-pay-button"
            ),
            rx.text(row.stripe_words, size="2", color=theme.TEXT_MUTED, data_testid="pending-stripe-status"),
            spacing="2",
            wrap="wrap",
            align="center",
        ),
        on_submit=PayoutsAdminState.ask_pay_by_stripe,
    )


def _decided_row(row: DecidedView) -> rx.Component:
    return rx.hstack(
        rx.text("#", row.payout_id, color=theme.TEXT_MUTED),
        rx.text(row.racer_name),
        rx.text(row.amount, weight="bold"),
        rx.badge(
            row.status,
            color_scheme=rx.match(
                row.status, (PayoutStatus.PAID, "green"), (PayoutStatus.CANCELLED, "gray"), "red"
            ),
        ),
        rx.text(row.detail, size="2", color=theme.TEXT_MUTED),
        rx.spacer(),
        rx.text(local_time(row.when), size="1", color=theme.TEXT_MUTED),
        spacing="3",
        align="center",
        wrap="wrap",
        width="100%",
        data_testid="decided-payout",
    )


def _queue() -> rx.Component:
    return rx.el.section(
        rx.vstack(
            rx.heading("Payout requests", size="5", as_="h2"),
            rx.cond(
                PayoutsAdminState.pending.length() > 0,
                rx.vstack(rx.foreach(PayoutsAdminState.pending, _pending_row), spacing="0", width="100%"),
                rx.text("No payout is waiting.", color=theme.TEXT_MUTED, data_testid="queue-empty"),
            ),
            width="100%",
        ),
        style=theme.panel_style,
        aria_label="Payout requests",
    )


def _direct() -> rx.Component:
    return rx.el.section(
        rx.vstack(
            rx.heading("Pay a racer directly", size="4", as_="h2"),
            rx.text(
                "Pays from what the racer has available, with no threshold (the seed's /payout).",
                size="2",
                color=theme.TEXT_MUTED,
            ),
            rx.cond(
                PayoutsAdminState.racers.length() > 0,
                rx.form(
                    rx.hstack(
                        rx.el.select(
                            rx.foreach(PayoutsAdminState.racers, _option),
                            name="racer_id",
                            aria_label="Racer",
                            style=theme.SELECT_STYLE,
                            data_testid="direct-racer",
                        ),
                        rx.input(
                            name="amount",
                            placeholder="Amount, like 20.00",
                            aria_label="Amount",
                            input_mode="decimal",
                            max_length=AMOUNT_TEXT_LENGTH_MAX,
                            data_testid="direct-amount",
                            width="10rem",
                        ),
                        _method_select("direct-method"),
                        rx.input(
                            name="reference",
                            placeholder="Reference",
                            aria_label="Payment reference",
                            max_length=REFERENCE_INPUT_LENGTH_MAX,
                            data_testid="direct-reference",
                            width="12rem",
                        ),
                        rx.button("Pay", type="submit", color_scheme="amber", data_testid="direct-pay"),
                        spacing="2",
                        wrap="wrap",
                        align="center",
                    ),
                    on_submit=PayoutsAdminState.ask_pay_directly,
                    reset_on_submit=False,
                    id=DIRECT_FORM_ID,
                ),
                rx.text("No racer has money available right now.", color=theme.TEXT_MUTED),
            ),
            width="100%",
        ),
        style=theme.panel_style,
        aria_label="Direct payout",
    )


def _recent() -> rx.Component:
    return rx.el.section(
        rx.vstack(
            rx.heading("Recently decided", size="4", as_="h2"),
            rx.cond(
                PayoutsAdminState.recent.length() > 0,
                rx.vstack(rx.foreach(PayoutsAdminState.recent, _decided_row), spacing="2", width="100%"),
                rx.text("Nothing decided yet.", color=theme.TEXT_MUTED),
            ),
            width="100%",
        ),
        style=theme.panel_style,
        aria_label="Recently decided payouts",
    )


@page(route=routes.ADMIN_PAYOUTS, title="Payouts", on_load=PayoutsAdminState.load)
def admin_payouts_page() -> rx.Component:
    return admin_gate(
        PayoutsAdminState.allowed,
        PayoutsAdminState.refusal,
        routes.ADMIN_PAYOUTS,
        rx.vstack(
            admin_title("Payouts"),
            confirm_dialog(PayoutsAdminState),
            _queue(),
            _direct(),
            _recent(),
            spacing="4",
            width="100%",
        ),
    )
