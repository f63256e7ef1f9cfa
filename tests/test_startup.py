"""Start-up stays light: importing the package (and reading plain numbers) pulls in none of the heavy libraries;
they load on first use. Speed itself is measured in benchmarks/bench_startup.py, never asserted here."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

SMALL = Path(__file__).resolve().parents[1] / "examples" / "small.yaml"


def _modules_after(code: str) -> set[str]:
    out = subprocess.run(
        [sys.executable, "-c", f"{code}\nimport sys\nprint(' '.join(sys.modules))"],
        check=True,
        capture_output=True,
        text=True,
    )
    return set(out.stdout.split())


def test_importing_the_package_loads_no_heavy_library():
    loaded = _modules_after("import fab2token")
    assert not loaded & {"xarray", "pandas", "pint", "linopy", "duckdb", "plotly"}


def test_the_unit_registry_is_built_only_for_a_quantity_with_units():
    loaded = _modules_after("from fab2token.units import to_unit\nassert to_unit(3, 'MW') == 3.0")
    assert "pint" not in loaded
    # the common "NUMBER UNIT" forms convert without pint; anything else (a compound the table lacks) builds it
    loaded = _modules_after("from fab2token.units import to_unit\nassert to_unit('3 GW', 'MW') == 3000.0")
    assert "pint" not in loaded
    loaded = _modules_after("from fab2token.units import to_unit\nassert to_unit('3e9 kg*m**2/s**3', 'MW') == 3000.0")
    assert "pint" in loaded


def test_every_fast_unit_converts_as_pint_does():
    """The table that spares a command pint's start-up gives pint's own answer for every unit in it, and a string
    outside it still goes to pint (and its errors)."""
    import pytest

    from fab2token.units import FAST_UNITS, _parsed, registry

    ureg = registry()
    for target, units in FAST_UNITS.items():
        for written, factor in units.items():
            expected = float(ureg.Quantity(f"2.5 {written.replace('^', '**')}").to(target).magnitude)
            assert factor * 2.5 == pytest.approx(expected, rel=1e-12), (written, target)
            assert _parsed(f" 2.5  {written} ", target) == pytest.approx(expected, rel=1e-12)
    assert _parsed("1.5e3 kW", "MW") == pytest.approx(1.5)
    with pytest.raises(ValueError, match="convertible to MW"):
        _parsed("5 USD", "MW")  # not in MW's table: pint decides, and refuses it as before
    with pytest.raises(ValueError, match="expected a quantity in MW"):
        _parsed("five MW", "MW")


def test_the_lazy_names_resolve():
    import fab2token

    assert fab2token.simulate.__name__ == "simulate"
    assert issubclass(fab2token.ScenarioError, fab2token.Fab2TokenError)
    assert set(fab2token.__all__) <= set(dir(fab2token))


def test_the_command_line_loads_its_heavy_libraries_only_in_the_commands_that_use_them():
    loaded = _modules_after("import fab2token.cli.main")
    assert not loaded & {"xarray", "pandas", "pint", "linopy", "duckdb", "plotly"}


def test_the_cli_default_store_is_the_stores_default():
    from fab2token.cli.runs import DEFAULT_DB
    from fab2token.io.store import DEFAULT_DB as STORE_DEFAULT

    assert DEFAULT_DB == STORE_DEFAULT


def test_the_command_spares_xarray_its_dask_array_import_and_gives_the_same_run(tmp_path):
    """In the command's process xarray is told no dask array will come (fab2token.cli.startup), so the first Dataset
    no longer imports dask.array; the run's figures are the library's own, bit for bit; the library is unchanged."""
    run = (
        "import json, numpy as np\nfrom fab2token.engine.simulate import simulate\n"
        f"from fab2token.scenario import load_scenario\nds = simulate(load_scenario({str(SMALL)!r})[0])\n"
        "open(OUT, 'w').write(json.dumps({k: np.asarray(ds[k]).tolist() for k in ('accelerators_installed', "
        "'energy_mwh') if k in ds}))"
    )
    cli = _modules_after(
        f"OUT = {str(tmp_path / 'cli.json')!r}\nfrom fab2token.cli.startup import no_dask_arrays\n"
        f"no_dask_arrays()\n{run}"
    )
    lib = _modules_after(f"OUT = {str(tmp_path / 'lib.json')!r}\n{run}")
    assert "xarray" in cli and "dask.array" not in cli
    assert "dask.array" in lib  # the library is left as xarray makes it (dask is installed for the sweeps)
    assert (tmp_path / "cli.json").read_text() == (tmp_path / "lib.json").read_text()
    assert len((tmp_path / "cli.json").read_text()) > 100
