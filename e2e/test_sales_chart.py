"""Browser check of the weekly sales charts: a shop's dashboard and the staff's Sales view render
the SVG charts (no CSP violations: the `page` fixture fails the test on any), with their
accessible names, and bars whose heights follow the figures."""

import re
from datetime import datetime, time, timedelta

from django.utils import timezone

import pytest
from playwright.sync_api import expect

from .steps import PASSWORD, keep_screenshot

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True, serialized_rollback=True)]

# Twelve weeks of a shop's sales, oldest first; the last is the week in progress.
LUNE_WEEKS = ["0", "1250", "640", "0", "2890", "1500", "900", "0", "3200", "1750", "2400", "480"]


def _sale(vendor, amount: str, paid_at, *, status="shipped", paid_out=False):
    """A paid vendor order moved on to `status` by the services (a refund reverses what the
    shop earned); `paid_out`: delivered and paid out to the shop's Connect account."""
    from orders.factories import Piece, paid_order

    paid_order(
        items=[Piece(vendor, amount)], email="ada@example.com", paid_at=paid_at,
        vendor_status="delivered" if paid_out else status, paid_out=paid_out,
    )  # fmt: skip


def _in_week(weeks_ago: int):
    """A moment in the week `weeks_ago` weeks before this one, as the charts group weeks (from
    Monday, in the site's time zone): now for this week, else noon on its Thursday. (Now less
    `weeks_ago` weeks falls in the next week late on a Sunday when summer time changed in
    between: 23:30 GMT is 00:30 on Monday in summer time.)"""
    from orders.selectors import sales_week_starts

    if weeks_ago == 0:
        return timezone.now()
    monday = sales_week_starts()[-1 - weeks_ago]
    return timezone.make_aware(datetime.combine(monday + timedelta(days=3), time(12)))


@pytest.fixture
def sales(marketplace):
    from vendors.services import vendor_update

    lune, salon = marketplace["lune"], marketplace["salon"]
    lune = vendor_update(vendor=lune, stripe_account_id="acct_lune")  # paid through Connect
    for age, amount in enumerate(reversed(LUNE_WEEKS)):
        if amount != "0":
            _sale(lune, amount, _in_week(age), paid_out=age > 6)
    _sale(lune, "5000", _in_week(2), status="refunded")  # not a sale
    for age in range(0, 12, 2):
        _sale(salon, "640", _in_week(age), status="delivered")
    return marketplace


def _login(page, base, username):
    page.goto(base + "/admin/login/")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(re.compile(r"/admin/$"))


def test_shop_dashboard_shows_its_weekly_sales_chart(page, live_server, sales, request):
    _login(page, live_server.url, "lune")
    chart = page.get_by_role("img", name="Your sales per week, last 12 weeks")
    expect(chart).to_be_visible()
    chart.scroll_into_view_if_needed()
    bars = chart.locator("rect.sales-chart__bar")
    expect(bars).to_have_count(12)
    heights = [bars.nth(n).bounding_box()["height"] for n in range(12)]
    tallest = max(heights)
    assert heights.index(tallest) == LUNE_WEEKS.index("3200")
    assert heights[0] == 0 and heights[3] == 0
    assert heights[4] == pytest.approx(tallest * 2890 / 3200, rel=0.05)
    panel = page.locator(".vendor-dashboard")
    expect(panel.get_by_text("Sales, last 12 weeks")).to_be_visible()
    totals = panel.locator(".sales-totals")
    expect(totals).to_contain_text("£15,010.00")  # sales
    expect(totals).to_contain_text("£8,695.50")  # owed: 85% of 15,010 less 4,063 paid out
    expect(totals).to_contain_text("£4,063.00")  # paid out: the sales over six weeks old
    expect(panel).not_to_contain_text("£5,000.00")  # the refunded order
    # The bars take the admin theme's colour from the stylesheet (not black, not none).
    fill = bars.nth(8).evaluate("bar => getComputedStyle(bar).fill")
    assert fill not in ("rgb(0, 0, 0)", "none")
    keep_screenshot(request, panel, "sales_chart_vendor_panel.png")


def test_staff_see_every_shop_and_the_site(page, live_server, sales, request):
    from accounts.models import User

    User.objects.create_superuser("boss", "boss@vitrine.example", PASSWORD)
    _login(page, live_server.url, "boss")
    expect(page.get_by_role("img", name="Sales across all shops per week, last 12 weeks"))
    page.get_by_role("link", name="Sales by shop").click()
    page.wait_for_url(re.compile(r"/admin/sales/$"))
    expect(
        page.get_by_role("img", name="Maison Lune: sales per week, last 12 weeks")
    ).to_be_visible()
    expect(
        page.get_by_role("img", name="Second Salon: sales per week, last 12 weeks")
    ).to_be_visible()
    expect(page.locator(".sales-overview .sales-totals")).to_contain_text("£18,850.00")
    keep_screenshot(request, page.locator(".sales-overview"), "sales_chart_staff_site.png")
    keep_screenshot(request, page.locator("table.sales-shops"), "sales_chart_staff_shops.png")
