#!/usr/bin/env python3
"""Reference implementations a user would otherwise reach for, on the same interchange files.

  reference.py spsolve DIR   scipy.sparse.linalg.spsolve on (I - A)^T m^T = (f x^-1)^T, all tags
  reference.py dense DIR     dense NumPy Leontief inverse L = (I - A)^-1, then m = (f x^-1) L
                             (how pymrio computes)
  reference.py klu DIR       SuiteSparse KLU (PyKLU): block-triangular form, then LU per block --
                             what Lodestone does; the strongest reference a numerics user picks
  reference.py pardiso DIR   Intel MKL PARDISO (pypardiso, Brightway's default solver)
  reference.py klu,klu,gauss DIR   several modes after one load, one JSON line each
  reference.py gauss DIR     vectorised level-order Gauss-Seidel in NumPy/SciPy: components by
                             scipy.sparse.csgraph, levels of their DAG, then each level's rows
                             solved at once (sparse product), sweeping a level that holds a loop
                             until it converges

KLU and PARDISO also report assemble_seconds (building the sparse matrix in SciPy) and
factor_solve_seconds, so the solver itself can be compared without SciPy's assembly.

Prints one JSON line: load and solve seconds, and a checksum (sum of all per-unit contents) so the
runner can confirm both sides computed the same numbers.
"""
import json
import sys
import time

import numpy as np
import pandas as pd
import scipy.sparse as sp
import scipy.sparse.linalg as spla


def load(d):
    t0 = time.perf_counter()
    nodes = pd.read_csv(f"{d}/nodes.csv", dtype={"id": str})
    flows = pd.read_csv(f"{d}/flows.csv", dtype={"from": str, "to": str})
    content = pd.read_csv(f"{d}/content.csv", dtype={"node": str, "tag": str})
    index = pd.Series(np.arange(len(nodes)), index=nodes["id"])
    x = nodes["output"].to_numpy(dtype=float)
    fi = index.loc[flows["from"]].to_numpy()
    ti = index.loc[flows["to"]].to_numpy()
    q = flows["quantity"].to_numpy(dtype=float)
    tags, tag_idx = np.unique(content["tag"].to_numpy(), return_inverse=True)
    ci = index.loc[content["node"]].to_numpy()
    b = np.zeros((len(x), len(tags)))
    np.add.at(b, (ci, tag_idx), content["amount"].to_numpy(dtype=float) / x[ci])
    return x, fi, ti, q, b, time.perf_counter() - t0


def level_order_gauss_seidel(n, fi, ti, w, b, tol=1e-13, max_sweeps=10_000):
    """m = b + m A, row by row in levels: m[j] = b[j] + sum_i A[i, j] m[i]."""
    from scipy.sparse.csgraph import connected_components

    g = sp.csr_matrix((np.ones(len(fi)), (fi, ti)), shape=(n, n))
    _, comp = connected_components(g, directed=True, connection="strong")
    # Levels of the components' DAG: 1 + the largest level upstream, by relaxation.
    cf, ct = comp[fi], comp[ti]
    cross = cf != ct
    cf, ct = cf[cross], ct[cross]
    level = np.zeros(comp.max() + 1, dtype=np.int64)
    while True:
        new = level.copy()
        np.maximum.at(new, ct, level[cf] + 1)
        if np.array_equal(new, level):
            break
        level = new
    node_level = level[comp]
    # Incoming weights by receiver: row j of A^T holds A[i, j] for suppliers i.
    a_t = sp.csr_matrix((w, (ti, fi)), shape=(n, n))
    m = np.zeros_like(b)
    order = np.argsort(node_level, kind="stable")
    bounds = np.searchsorted(node_level[order], np.arange(node_level.max() + 2))
    looped = np.bincount(comp, minlength=comp.max() + 1)[comp] > 1
    self_loop = np.zeros(n, dtype=bool)
    self_loop[fi[fi == ti]] = True
    for lv in range(len(bounds) - 1):
        rows = order[bounds[lv]:bounds[lv + 1]]
        if len(rows) == 0:
            continue
        sub = a_t[rows]
        if not (looped[rows].any() or self_loop[rows].any()):
            m[rows] = b[rows] + sub @ m
            continue
        for _ in range(max_sweeps):
            new = b[rows] + sub @ m
            change = np.abs(new - m[rows]).max()
            m[rows] = new
            if change <= tol * max(1.0, np.abs(new).max()):
                break
    return m


def main():
    # Several modes, comma-separated (e.g. klu,klu,klu,gauss), share one load of the files.
    modes, d = sys.argv[1].split(","), sys.argv[2]
    x, fi, ti, q, b, load_s = load(d)
    for mode in modes:
        solve(mode, x, fi, ti, q, b, load_s)
        sys.stdout.flush()


def solve(mode, x, fi, ti, q, b, load_s):
    n = len(x)
    extra = {}
    t0 = time.perf_counter()
    if mode == "spsolve":
        # m (I - A) = b  <=>  (I - A)^T m^T = b^T ; A[i, j] = Z[i, j] / x[j]
        # (I - A)^T[j, i] = delta - Z[i, j] / x[j]
        a_t = sp.csc_matrix((q / x[ti], (ti, fi)), shape=(n, n))
        m_t = sp.identity(n, format="csc") - a_t
        m = spla.spsolve(m_t, b)
    elif mode == "dense":
        a = np.zeros((n, n))
        np.add.at(a, (fi, ti), q / x[ti])
        leontief = np.linalg.inv(np.eye(n) - a)
        m = b.T @ leontief
        m = m.T
    elif mode in ("klu", "pardiso"):
        a_t = sp.csc_matrix((q / x[ti], (ti, fi)), shape=(n, n))
        m_t = (sp.identity(n, format="csc") - a_t).tocsc()
        m_t.sum_duplicates()
        t1 = time.perf_counter()
        if mode == "klu":
            import PyKLU
            m = PyKLU.Klu(m_t).solve(b)
        else:
            import pypardiso
            m = pypardiso.spsolve(m_t.tocsr(), b)
        t2 = time.perf_counter()
        extra = {"assemble_seconds": t1 - t0, "factor_solve_seconds": t2 - t1}
    elif mode == "gauss":
        m = level_order_gauss_seidel(n, fi, ti, q / x[ti], b)
    else:
        raise SystemExit(f"unknown mode {mode}")
    solve_s = time.perf_counter() - t0
    print(json.dumps({"mode": mode, "nodes": n, "flows": len(q), "tags": b.shape[1],
                      "load_seconds": load_s, "solve_seconds": solve_s, "checksum": float(np.sum(m)),
                      **extra}))


if __name__ == "__main__":
    main()
