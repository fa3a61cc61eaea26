# Load reference for issue 17: Polars reads the interchange files, then resolves ids by joins.
# Usage: python bench/polars_load.py DIR  (pip install polars)
import sys, time, polars as pl
d = sys.argv[1]
best = 1e9
for _ in range(3):
    t = time.perf_counter()
    nodes = pl.read_csv(f"{d}/nodes.csv")
    flows = pl.read_csv(f"{d}/flows.csv")
    content = pl.read_csv(f"{d}/content.csv")
    parse = time.perf_counter() - t
    # id resolution, as Lodestone does: every from/to/node to its row number
    ids = nodes.select(pl.col("id"), pl.int_range(pl.len(), dtype=pl.UInt32).alias("i"))
    f = flows.join(ids, left_on="from", right_on="id", how="left").join(ids, left_on="to", right_on="id", how="left", suffix="_to")
    c = content.join(ids, left_on="node", right_on="id", how="left")
    assert f["i"].null_count() == 0 and f["i_to"].null_count() == 0
    total = time.perf_counter() - t
    best = min(best, total)
    print(f"polars {pl.__version__}: parse {parse:.2f} s, with id resolution {total:.2f} s")
print(f"best {best:.2f}")
