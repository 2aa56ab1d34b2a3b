from wagtail_modeladmin.options import modeladmin_register

from .desk import VendorOrderAdmin

modeladmin_register(VendorOrderAdmin)
