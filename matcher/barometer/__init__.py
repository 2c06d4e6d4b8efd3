"""The barometer (observatoire): how much of the public buyers' purchases goes to innovative companies.

Flow, one direction: ``sources`` streams award rows out of the published DECP files (the 2019
JSON format, the 2022 one, the tabular consolidation's CSV/Parquet) and cleans them; ``store``
keeps them in an embedded DuckDB database, deduplicated by a documented rule, beside the list of
labelled innovative companies (``labels``) and the buyer → ministry/region mapping
(``ministries``, ``geography``); ``figures`` computes the aggregates the staff read.
"""
