"""The vendors' side of `make bench-load`: publishes and sales at a steady rate over the
generated shops, through the real services, so every change takes the cache invalidation path
a vendor's would. Prints a JSON summary on its last line.

    python -m bench.changes SECONDS RATE SHOPS   (DJANGO_SETTINGS_MODULE=bench.settings)

Half the changes publish a new revision of a random piece of a random shop (its description
changes); the other half mark a random piece sold out with the vendor's stock service
(`products.services.stock_set`, as the stock form does)."""

import json
import random
import sys
import time

import django


def main(seconds: float, rate: float, shops: int) -> dict:
    from django.db import connection

    from demo.catalogue import GENERATED_SHOP_PREFIX
    from products.admin_views import held_units
    from products.models import ItemPage
    from products.services import StockNotAllowed, stock_set
    from vendors.models import ShopPage

    shop_pages = list(
        ShopPage.objects.filter(vendor__name__startswith=GENERATED_SHOP_PREFIX).order_by("pk")[
            :shops
        ]
    )
    rng = random.Random()
    done = {"publish": 0, "sale": 0, "refused": 0, "errors": 0, "shops": len(shop_pages)}
    durations: list[float] = []

    def random_piece(shop: ShopPage) -> ItemPage | None:
        pieces = ItemPage.objects.child_of(shop).live().filter(quantity__gt=0)
        ids = list(pieces.values_list("pk", flat=True)[:500])
        return ItemPage.objects.get(pk=rng.choice(ids)) if ids else None

    start = time.monotonic()
    tick = 0
    while (due := start + tick / rate) < start + seconds:
        time.sleep(max(0.0, due - time.monotonic()))
        tick += 1
        began = time.monotonic()
        try:
            piece = random_piece(rng.choice(shop_pages))
            if piece is None:
                continue
            if rng.random() < 0.5:
                piece.description = f"<p>Revised at {time.time():.3f} for the load benchmark.</p>"
                piece.save_revision().publish()
                done["publish"] += 1
            else:
                try:
                    stock_set(
                        item=piece, quantity=0, by=None, held=lambda pk=piece.pk: held_units(pk)
                    )
                    done["sale"] += 1
                except StockNotAllowed:  # held by a checkout in progress: the vendor waits
                    done["refused"] += 1
        except Exception as error:  # reported, and the run goes on
            done["errors"] += 1
            print(f"change failed: {error!r}", file=sys.stderr)
        finally:
            durations.append(time.monotonic() - began)
    connection.close()  # the servers write to this database too
    durations.sort()
    done["p95_ms"] = round(durations[int(0.95 * (len(durations) - 1))] * 1000) if durations else 0
    return done


if __name__ == "__main__":
    seconds, rate, shops = float(sys.argv[1]), float(sys.argv[2]), int(sys.argv[3])
    django.setup()
    print(json.dumps(main(seconds, rate, shops)), flush=True)
