"""Speed of the bias probes against one plain Bradley–Terry fit on the same data (the issue's
yardstick: each within 2×), and against the tools people use today where installed: scikit-learn's
LogisticRegression, which Chatbot Arena's style control and AlpacaEval's GLM are built on.

Run: ``python benchmarks/bench_bias.py``.
"""

from __future__ import annotations

import warnings

import numpy as np
import polars as pl
from _timing import timed

import metaeval
from metaeval import Judgments, bias
from metaeval.bias._common import column_or_extra


def lc_table(n_models: int = 100, n_items: int = 1000, seed: int = 0) -> Judgments:
    gen = np.random.default_rng(seed)
    models = np.array([f"m{k}" for k in range(n_models)])
    s = gen.normal(0, 1, n_models)
    item = np.repeat(np.arange(n_items), n_models)
    m = np.tile(np.arange(n_models), n_items)
    len_m = gen.lognormal(7, 0.5, item.size)
    len_b = gen.lognormal(7, 0.5, item.size)
    eta = s[m] + 0.5 * np.tanh((len_m - len_b) / 1000) + gen.normal(0, 1, n_items)[item]
    win = gen.random(item.size) < 1 / (1 + np.exp(-eta))
    return Judgments(pl.DataFrame({"item": item.astype(str), "judge": "j", "model_a": "baseline",
                                   "model_b": models[m], "outcome": np.where(win, "b", "a"),
                                   "len_a": len_b.astype(np.int64), "len_b": len_m.astype(np.int64)}), kind="pairwise")


def style_table(n: int = 1_000_000, n_models: int = 100, seed: int = 1) -> Judgments:
    gen = np.random.default_rng(seed)
    models = np.array([f"m{k}" for k in range(n_models)])
    ia = gen.integers(0, n_models, n)
    ib = (ia + gen.integers(1, n_models, n)) % n_models
    s = gen.normal(0, 1, n_models)
    feats = {f"{k}_{side}": gen.poisson(3, n) for k in ("headers", "bold", "lists") for side in ("a", "b")}
    la, lb = gen.lognormal(7, 0.5, n).astype(np.int64), gen.lognormal(7, 0.5, n).astype(np.int64)
    eta = s[ia] - s[ib] + 0.3 * (la - lb) / (la + lb) * 5
    win = gen.random(n) < 1 / (1 + np.exp(-eta))
    return Judgments(pl.DataFrame({"item": np.arange(n).astype(str), "judge": "j", "model_a": models[ia],
                                   "model_b": models[ib], "outcome": np.where(win, "a", "b"), "len_a": la,
                                   "len_b": lb, **feats}), kind="pairwise")


def main() -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        t = lc_table()
        plain, _ = timed(lambda: metaeval.rank(t, "bradley_terry", ci="none"))
        lc, _ = timed(lambda: bias.length_controlled_win_rate(t, "baseline"))
        print(f"LC win rate, 100 models x 1,000 items: {lc:.3f} s; plain Bradley-Terry fit {plain:.3f} s; "
              f"ratio {lc / plain:.2f} (target <= 2)")
        try:
            from sklearn.linear_model import LogisticRegression

            f = t.frame
            y = (f["outcome"] == "b").to_numpy()
            d = (f["len_b"] - f["len_a"]).to_numpy().astype(float)
            m = f["model_b"].to_numpy()

            def per_model() -> None:
                for name in np.unique(m):
                    sel = m == name
                    x = np.column_stack([np.tanh(d[sel] / d[sel].std())])
                    LogisticRegression(C=1e4).fit(x, y[sel])

            sk, _ = timed(per_model, repeat=1)
            print(f"  scikit-learn, one LogisticRegression per model (no item term): {sk:.3f} s; "
                  f"ours / theirs {lc / sk:.2f}")
        except ImportError:
            print("  scikit-learn not installed: skipped")

        big = style_table()
        feats = {k: (f"{k}_a", f"{k}_b") for k in ("headers", "bold", "lists")}
        feats["length"] = ("len_a", "len_b")
        plain, _ = timed(lambda: metaeval.rank(big, "bradley_terry", ci="none"), repeat=1)
        style, _ = timed(lambda: bias.style_bias(big, features=feats), repeat=1)
        print(f"style-controlled Bradley-Terry, 1,000,000 battles x 4 features: {style:.2f} s; plain fit "
              f"{plain:.2f} s; ratio {style / plain:.2f} (target <= 2)")
        try:
            from scipy import sparse
            from sklearn.linear_model import LogisticRegression

            f = big.frame
            idx = {name: k for k, name in enumerate(sorted(big.models))}
            a = f["model_a"].replace_strict(idx, return_dtype=pl.Int64).to_numpy()
            b = f["model_b"].replace_strict(idx, return_dtype=pl.Int64).to_numpy()
            n = len(a)
            X = sparse.csr_matrix((np.tile([1.0, -1.0], n), (np.repeat(np.arange(n), 2),
                                                             np.column_stack([a, b]).ravel())), shape=(n, len(idx)))
            cols = []
            for fa, fb in feats.values():
                va = column_or_extra(f, fa).to_numpy().astype(float)
                vb = column_or_extra(f, fb).to_numpy().astype(float)
                dd = np.divide(va - vb, va + vb, out=np.zeros(n), where=(va + vb) > 0)
                cols.append((dd - dd.mean()) / dd.std())
            X = sparse.hstack([X, sparse.csr_matrix(np.column_stack(cols))], format="csr")
            y = (f["outcome"] == "a").to_numpy()
            sk, _ = timed(lambda: LogisticRegression(fit_intercept=False, C=1e6, tol=1e-6).fit(X, y), repeat=1)
            print(f"  scikit-learn LogisticRegression on the same design (Chatbot Arena's recipe, lbfgs): {sk:.2f} s; "
                  f"ours / theirs {style / sk:.2f}")
        except ImportError:
            print("  scikit-learn not installed: skipped")


if __name__ == "__main__":
    main()
