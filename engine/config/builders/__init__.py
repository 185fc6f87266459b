"""One builder per kind of config file: each turns that kind's schema-valid sources into
model objects, checking what a schema cannot (references to other files, amounts in a
marketplace's currency, unique ids) and reporting into a shared BuildContext."""
