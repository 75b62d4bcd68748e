"""The languages the addon ships (``i18n/<code>.po``), for the tests of both tiers.

Here, in the tests' shared helpers, because both tiers can import it: the pure tier as ``languages``
(tests/core is on its path), the Odoo tier as ``.core.languages`` (as it imports ``.core.dnsserver``).
Neither ``mailcore`` (the product needs no such list: Odoo loads whatever ``i18n/`` holds) nor
``tests/`` itself (importing that package loads Odoo) would serve both.
"""

# .po file -> the Odoo language that loads it (Odoo reads i18n/de.po for de_DE, and so on).
LANGUAGES = {"de": "de_DE", "es": "es_ES", "fr": "fr_FR", "ru": "ru_RU", "ar": "ar_001", "zh_CN": "zh_CN"}
