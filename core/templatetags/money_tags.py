"""``{% load money_tags %}``: balances in words on every screen and print (R8, issue 11.9).

``{{ balance|balance_words }}`` for a signed balance (credits − debits), ``{{ owed|owed_words }}``
for a positive amount owed; both say it the one way ``core.selectors.money.balance_words`` does."""

from django import template

from core.selectors import money

register = template.Library()


@register.filter
def balance_words(balance) -> str:
    """-225 → "owes 225.00", 225 → "credit 225.00", 0 → "nothing owed" (active language)."""
    return money.balance_words(balance)


@register.filter
def owed_words(owed) -> str:
    """An amount owed (≥ 0) as words: 225 → "owes 225.00", 0 → "nothing owed"."""
    return money.balance_words(-(owed or 0))


@register.filter(name="money")
def money_amount(amount) -> str:
    """1250 → "1,250.00": two places, thousands grouped (both languages)."""
    return "" if amount in (None, "") else money.money_text(amount)
