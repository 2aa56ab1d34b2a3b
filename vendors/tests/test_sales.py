"""Weekly sales charts and payout totals: the selector, the chart geometry, the shop's dashboard
panel, the staff's "Sales" view and site-wide panel, who may see what, and query counts."""

from datetime import date, datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

from django.contrib.auth.models import Permission
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

import pytest

from accounts.models import User
from orders.factories import Piece, paid_order
from orders.models import VendorOrder
from orders.selectors import WeekSales, sales_figures, sales_week_starts, site_sales_figures
from vendors.charts import sales_chart
from vendors.factories import VendorFactory
from vendors.services import vendor_onboard, vendor_update

pytestmark = pytest.mark.django_db

LONDON = ZoneInfo("Europe/London")
# A Wednesday: the current ISO week began on Monday 10 March 2025 (GMT, before summer time).
NOW = datetime(2025, 3, 12, 12, 0, tzinfo=LONDON)
S = VendorOrder.Status


def sale(vendor, amount, paid_at, *, status=S.PAID, paid_out=False) -> VendorOrder:
    """A vendor's part of an order paid at `paid_at`, moved on to `status` by the services
    (which write its ledger: earned when paid, reversed when refunded, transferred when a
    delivered part is `paid_out` to the shop's Connect account)."""
    order = paid_order(
        items=[Piece(vendor, amount)], paid_at=paid_at, vendor_status=status, paid_out=paid_out
    )
    return order.vendor_orders.get()


def amounts(figures) -> dict[date, Decimal]:
    return {week.start: week.amount for week in figures.weeks}


# --- The selector -------------------------------------------------------------------------------


def test_twelve_iso_weeks_ending_with_the_current_one():
    starts = sales_week_starts(now=NOW)
    assert len(starts) == 12
    assert starts[-1] == date(2025, 3, 10) and starts[0] == date(2024, 12, 23)
    assert all(start.isoweekday() == 1 for start in starts)
    assert all(b - a == timedelta(weeks=1) for a, b in zip(starts, starts[1:], strict=False))


def test_weekly_buckets_count_paid_sales_by_week_of_payment():
    lune, salon = VendorFactory(name="Maison Lune"), VendorFactory(name="Second Salon")
    at = lambda *args: datetime(*args, tzinfo=LONDON)  # noqa: E731
    sale(lune, "100.00", at(2025, 3, 10, 0, 0))  # Monday 00:00: this week
    sale(lune, "250.00", at(2025, 3, 12, 9, 30), status=S.SHIPPED)
    sale(lune, "40.00", at(2025, 3, 9, 23, 59, 59), status=S.DELIVERED)  # Sunday: last week
    sale(lune, "1000.00", at(2025, 1, 15, 14, 0))
    sale(lune, "60.00", at(2024, 12, 23, 0, 0))  # first day of the first week shown
    sale(lune, "999.00", at(2024, 12, 22, 23, 59))  # the week before: not shown
    for status in (S.REFUNDED, S.CANCELLED, S.PENDING):
        sale(lune, "777.00", at(2025, 3, 11, 10, 0), status=status)
    sale(salon, "555.00", at(2025, 3, 11, 10, 0))  # another shop's

    figures = sales_figures(vendor_ids=[lune.pk], now=NOW)
    assert set(figures) == {lune.pk}
    weeks = amounts(figures[lune.pk])
    assert list(weeks) == sales_week_starts(now=NOW)
    assert weeks[date(2025, 3, 10)] == Decimal("350.00")
    assert weeks[date(2025, 3, 3)] == Decimal("40.00")
    assert weeks[date(2025, 1, 13)] == Decimal("1000.00")
    assert weeks[date(2024, 12, 23)] == Decimal("60.00")
    assert sum(1 for amount in weeks.values() if amount == 0) == 8  # zero weeks are there
    assert all(isinstance(amount, Decimal) for amount in weeks.values())
    assert figures[lune.pk].total == Decimal("1450.00")

    site = site_sales_figures(now=NOW)
    assert amounts(site)[date(2025, 3, 10)] == Decimal("905.00")  # Lune's 350 + Salon's 555
    assert site.total == Decimal("2005.00")


def test_week_boundaries_follow_the_site_time_zone_in_summer():
    vendor = VendorFactory()
    summer = datetime(2025, 6, 4, 12, 0, tzinfo=LONDON)
    # Monday 2 June 00:30 in London is still Sunday 1 June 23:30 in UTC.
    sale(vendor, "80.00", datetime(2025, 6, 1, 23, 30, tzinfo=ZoneInfo("UTC")))
    sale(vendor, "20.00", datetime(2025, 6, 1, 22, 30, tzinfo=ZoneInfo("UTC")))  # Sunday 23:30
    weeks = amounts(sales_figures(vendor_ids=[vendor.pk], now=summer)[vendor.pk])
    assert weeks[date(2025, 6, 2)] == Decimal("80.00")
    assert weeks[date(2025, 5, 26)] == Decimal("20.00")


def test_owed_and_paid_out_come_from_the_payout_ledger():
    lune = VendorFactory(name="Maison Lune", stripe_account_id="acct_lune")
    salon = VendorFactory(name="Second Salon")
    old = NOW - timedelta(weeks=30)  # outside the chart, still in the ledger
    sale(lune, "1000.00", old, status=S.DELIVERED, paid_out=True)  # earned 850, paid out
    sale(lune, "200.00", NOW - timedelta(days=1), status=S.SHIPPED)  # earned 170, not yet paid
    sale(lune, "400.00", NOW - timedelta(days=2), status=S.REFUNDED)  # earned 340, reversed
    sale(salon, "100.00", NOW - timedelta(days=1))  # 85 owed to another shop

    figures = sales_figures(vendor_ids=[lune.pk, salon.pk], now=NOW)
    assert figures[lune.pk].owed == Decimal("170.00")
    assert figures[lune.pk].paid_out == Decimal("850.00")
    assert figures[salon.pk].owed == Decimal("85.00")
    assert figures[salon.pk].paid_out == Decimal("0")
    site = site_sales_figures(now=NOW)
    assert (site.owed, site.paid_out) == (Decimal("255.00"), Decimal("850.00"))


def test_a_shop_without_sales_has_zeros():
    vendor = VendorFactory()
    figures = sales_figures(vendor_ids=[vendor.pk], now=NOW)[vendor.pk]
    assert figures.total == figures.owed == figures.paid_out == Decimal("0")
    assert len(figures.weeks) == 12


def test_figures_take_two_queries_for_any_number_of_shops(django_assert_num_queries):
    for count in (2, 6):
        vendors = [VendorFactory() for _ in range(count)]
        for n, vendor in enumerate(vendors):
            sale(vendor, "10.00", NOW - timedelta(weeks=n % 12))
        with django_assert_num_queries(2):
            sales_figures(vendor_ids=[vendor.pk for vendor in vendors], now=NOW)
        with django_assert_num_queries(2):
            site_sales_figures(now=NOW)


# --- The chart geometry -------------------------------------------------------------------------


def test_bars_are_proportional_and_zero_weeks_are_empty():
    starts = sales_week_starts(now=NOW)
    values = ["0", "100.00", "50.00", "0.01"] + ["0"] * 8
    chart = sales_chart(
        [WeekSales(start, Decimal(v)) for start, v in zip(starts, values, strict=True)],
        dom_id="t",
        title="Test",
    )
    bars = chart.bars
    assert len(bars) == 12 and bars[-1].current and not bars[0].current
    assert bars[0].height == 0
    assert bars[1].height == chart.baseline_y - chart.top_y  # the best week fills the plot
    assert bars[2].height == pytest.approx(bars[1].height / 2, abs=0.1)
    assert bars[3].height == 1.0  # a penny still shows
    assert all(bar.y + bar.height == pytest.approx(chart.baseline_y) for bar in bars)
    assert [bar.x for bar in bars] == sorted(bar.x for bar in bars)
    assert bars[-1].x + bars[-1].width <= chart.width
    assert chart.max_amount == Decimal("100.00") and chart.total == Decimal("150.01")
    assert chart.best is bars[1] and bars[1].label == "30 Dec"


def test_a_chart_without_sales_has_no_division_by_zero():
    chart = sales_chart(
        [WeekSales(start, Decimal("0")) for start in sales_week_starts(now=NOW)],
        dom_id="t",
        title="Test",
        compact=True,
    )
    assert all(bar.height == 0 for bar in chart.bars) and chart.best is None


# --- Admin: the shop's panel, the staff view and panel ------------------------------------------


@pytest.fixture
def shops(site_tree):
    lune = vendor_onboard(name="Maison Lune", contact_email="hello@lune.example",
                          staff_email="staff@lune.example")  # fmt: skip
    salon = vendor_onboard(name="Second Salon", contact_email="hello@salon.example",
                           staff_email="staff@salon.example")  # fmt: skip
    salon = vendor_update(vendor=salon, stripe_account_id="acct_salon")  # paid through Connect
    now = timezone.now()
    sale(lune, "1234.00", now - timedelta(weeks=1), status=S.SHIPPED)  # earned 1048.90
    sale(lune, "321.00", now - timedelta(weeks=3), status=S.DELIVERED)  # earned 272.85
    # Earned 8394.60, all of it paid out.
    sale(salon, "9876.00", now - timedelta(weeks=2), status=S.DELIVERED, paid_out=True)
    return lune, salon


@pytest.fixture
def superuser(db):
    return User.objects.create_superuser("boss", "boss@vitrine.example", "not-used-here")


@pytest.fixture
def desk_staff(db):
    """Site staff who work the order desk (view permission), not superusers."""
    user = User.objects.create_user("desk", "desk@vitrine.example")
    user.user_permissions.add(
        Permission.objects.get(codename="access_admin"),
        Permission.objects.get(codename="view_vendororder"),
    )
    return user


@pytest.fixture
def editor(db):
    from django.contrib.auth.models import Group

    user = User.objects.create_user("eddie", "eddie@vitrine.example")
    user.groups.add(Group.objects.get(name="Editors"))
    return user


def staff_of(vendor):
    return vendor.group.user_set.get()


def _accessible_svg(html: str, dom_id: str) -> None:
    assert f'aria-labelledby="{dom_id}-title {dom_id}-desc"' in html
    assert f'<title id="{dom_id}-title">' in html and f'<desc id="{dom_id}-desc">' in html
    assert 'role="img"' in html and "<caption>" in html
    assert ' style="' not in html.split(f'<title id="{dom_id}-title">')[0].rsplit("<svg", 1)[1]


def test_vendor_panel_shows_the_shops_own_chart_and_totals(client, shops):
    lune, _salon = shops
    client.force_login(staff_of(lune))
    html = client.get("/admin/").content.decode()
    _accessible_svg(html, "sales-own")
    assert html.count('class="sales-chart__bar') == 12
    assert "£1,234.00" in html and "£321.00" in html  # in the figures table
    assert "£1,555.00" in html  # 12-week total
    assert "£1,321.75" in html  # owed after 15% commission
    assert "Paid out</dt><dd>£0.00" in html
    assert "css/admin-sales.css" in html
    # Nothing of the other shop's, and no site-wide panel.
    assert "£9,876.00" not in html and "£8,394.60" not in html
    assert "Sales across all shops" not in html and 'href="/admin/sales/"' not in html


def test_staff_see_every_shop_and_the_whole_site(client, shops, superuser, desk_staff):
    lune, salon = shops
    for user in (superuser, desk_staff):
        client.force_login(user)
        response = client.get("/admin/sales/")
        assert response.status_code == 200
        html = response.content.decode()
        assert "Maison Lune" in html and "Second Salon" in html
        for dom_id in ("sales-site", f"sales-shop-{lune.pk}", f"sales-shop-{salon.pk}"):
            _accessible_svg(html, dom_id)
        assert "£11,431.00" in html  # site-wide 12-week sales
        assert "£1,321.75" in html and "£8,394.60" in html  # owed to Lune, paid to Salon
        assert "css/admin-sales.css" in html

        dashboard = client.get("/admin/").content.decode()
        assert "Sales across all shops" in dashboard
        _accessible_svg(dashboard, "sales-site")
        assert 'href="/admin/sales/"' in dashboard
        assert '"label": "Sales"' in dashboard  # the menu item


def test_vendors_and_editors_are_refused_the_staff_view(client, shops, editor):
    lune, _salon = shops
    for user in (staff_of(lune), editor):
        client.force_login(user)
        response = client.get("/admin/sales/")
        assert response.status_code in (302, 403)
        if response.status_code == 302:
            assert response["Location"] in ("/admin/", "/admin/login/?next=/admin/sales/")
        assert b"Second Salon" not in response.content
        dashboard = client.get("/admin/").content.decode()
        assert '"label": "Sales"' not in dashboard
        assert "Sales across all shops" not in dashboard


def test_vendors_are_refused_by_the_boundary_before_the_view_runs(client, shops, monkeypatch):
    from vendors import sales

    monkeypatch.setattr(sales, "may_see_all_sales", lambda user: True)  # a broken view check
    client.force_login(staff_of(shops[0]))
    assert client.get("/admin/sales/").status_code == 403


def _queries(client, path) -> int:
    with CaptureQueriesContext(connection) as captured:
        assert client.get(path).status_code == 200
    return len(captured)


def test_vendor_dashboard_queries_do_not_grow_with_sales(client, shops):
    lune, _salon = shops
    client.force_login(staff_of(lune))
    client.get("/admin/")  # warm caches (content types, site root)
    before = _queries(client, "/admin/")
    for week in range(12):
        for _ in range(3):
            sale(lune, "10.00", timezone.now() - timedelta(weeks=week))
    assert _queries(client, "/admin/") == before


def test_staff_view_queries_do_not_grow_with_shops(client, superuser, site_tree):
    client.force_login(superuser)

    def add_shops(count):
        for _ in range(count):
            vendor = VendorFactory()
            sale(vendor, "10.00", timezone.now() - timedelta(weeks=1))

    add_shops(2)
    client.get("/admin/sales/")
    with_two = _queries(client, "/admin/sales/")
    add_shops(4)
    with_six = _queries(client, "/admin/sales/")
    assert with_six == with_two
    html = client.get("/admin/sales/").content.decode()
    assert html.count('class="sales-chart sales-chart--compact"') == 6
