"""Start-up stays light: importing the package (and reading plain numbers) pulls in none of the heavy libraries;
they load on first use. Speed itself is measured in benchmarks/bench_startup.py, never asserted here."""

from __future__ import annotations

import subprocess
import sys


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
