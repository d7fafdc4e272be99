"""Side-by-side benchmark: the registry against PostGraphile v5 and v4 on one database."""
