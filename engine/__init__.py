"""sellersync: Amazon listings, prices, stock and promotions managed as code."""

__version__ = "0.1.0"
