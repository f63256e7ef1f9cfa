"""The DuckDB store: round trips, and nothing half-written on failure."""

from __future__ import annotations

import duckdb
import numpy as np
import pytest

from fab2token.engine.simulate import simulate, summarise
from fab2token.io import store
from fab2token.scenario import load_scenario


@pytest.fixture(scope="module")
def ds():
    from tests.conftest import EXAMPLES

    sc, _ = load_scenario(EXAMPLES / "small.yaml")
    return simulate(sc)


def test_round_trip_gives_the_same_dataset(ds, tmp_path):
    db = tmp_path / "r.duckdb"
    run_id = store.save_run(db, ds, summarise(ds).to_dict(), "text: 1", "small.yaml")
    back = store.load_dataset(db, run_id)
    for name, var in ds.data_vars.items():
        if var.dtype.kind in "fiub":
            np.testing.assert_allclose(back[name].transpose(*var.dims).values, var.values, err_msg=name)
        else:
            assert list(back[name].values) == list(var.values)
    assert back.attrs["accelerator"] == "H100-SXM"
    meta = store.load_run(db, run_id[:6])
    assert meta["scenario_text"] == "text: 1"
    assert meta["summary"]["run_id"] == run_id


def test_runs_are_listed_newest_first(ds, tmp_path):
    db = tmp_path / "r.duckdb"
    a = store.save_run(db, ds, summarise(ds).to_dict(), "a")
    b = store.save_run(db, ds, summarise(ds).to_dict(), "b")
    ids = [r["run_id"] for r in store.list_runs(db)]
    assert set(ids) == {a, b} and len(ids) == 2


def test_failed_write_leaves_store_unchanged(ds, tmp_path, monkeypatch):
    db = tmp_path / "r.duckdb"
    first = store.save_run(db, ds, summarise(ds).to_dict(), "a")

    def boom(*args, **kwargs):
        raise RuntimeError("disk on fire")

    # fail after the runs row is inserted, while the series are being written
    real_tidy = store._tidy
    monkeypatch.setattr(store, "_tidy", real_tidy)
    bad = ds.copy()
    bad["binding_constraint"] = bad["binding_constraint"].astype(object)
    monkeypatch.setattr(store.pd.DataFrame, "melt", boom)
    with pytest.raises(RuntimeError):
        store.save_run(db, bad, summarise(ds).to_dict(), "b", run_id="second")
    con = duckdb.connect(str(db), read_only=True)
    assert con.execute("SELECT count(*) FROM runs").fetchone() == (1,)
    assert con.execute("SELECT count(DISTINCT run_id) FROM series_month").fetchone() == (1,)
    con.close()
    assert [r["run_id"] for r in store.list_runs(db)] == [first]


def test_duplicate_run_id_rolls_back(ds, tmp_path):
    db = tmp_path / "r.duckdb"
    store.save_run(db, ds, summarise(ds).to_dict(), "a", run_id="same")
    with pytest.raises(store.StoreError, match="Duplicate key"):  # DuckDB's error, chained, named by the store
        store.save_run(db, ds, summarise(ds).to_dict(), "b", run_id="same")
    con = duckdb.connect(str(db), read_only=True)
    n_series = con.execute("SELECT count(*) FROM series_month_site WHERE run_id = 'same'").fetchone()[0]
    con.close()
    per_site = [n for n, v in ds.data_vars.items() if v.dims == ("month", "site")]
    assert n_series == ds.sizes["month"] * ds.sizes["site"] * len(per_site)  # each (month, site) variable, once


def test_missing_store_and_unknown_run(tmp_path, ds):
    with pytest.raises(store.StoreError, match="no results store"):
        store.list_runs(tmp_path / "none.duckdb")
    db = tmp_path / "r.duckdb"
    store.save_run(db, ds, summarise(ds).to_dict(), "a")
    with pytest.raises(store.StoreError, match="no run"):
        store.load_run(db, "zzzz")
