"""LANraragi's search language over indexed columns: parse, query, cache."""
