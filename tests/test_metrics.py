"""Each metric of areanet.training.scoring.metrics against values worked out by hand."""
import math

import numpy as np
import pytest

from areanet.training.scoring.metrics import (
    METRIC_KEYS,
    compute_metrics,
    metrics_by_species,
    nan_to_none,
    rmse_by_strength,
)


def one_structure(f_ref, f_pred, e_ref=-500.0, e_pred=-500.0):
    f_ref = np.asarray(f_ref, dtype=float)
    return [e_ref], [e_pred], [len(f_ref)], f_ref, np.asarray(f_pred, dtype=float)


def test_keys_and_types():
    m = compute_metrics(*one_structure([[1.0, 2.0, 3.0]], [[1.0, 2.0, 3.0]]))
    assert tuple(m) == METRIC_KEYS
    for key in ("n_structures", "n_force_atoms", "n_force_excluded"):
        assert isinstance(m[key], int)
    assert m["force_rmse_x"] == 0.0 and m["force_angle_mae_deg"] == 0.0


def test_energy_error_of_006_ev_on_60_atoms_is_1_mev_per_atom():
    f = np.ones((60, 3))
    m = compute_metrics([-500.0], [-499.94], [60], f, f)
    assert m["energy_rmse_ev"] == pytest.approx(0.06)
    assert m["energy_per_atom_rmse_mev"] == pytest.approx(1.0)
    assert m["energy_mape"] == pytest.approx(0.06 / 500.0)


def test_energy_rmse_and_mape_over_structures():
    # ΔE = +0.03 eV (60 atoms), −0.04 eV (30 atoms)
    f = np.ones((90, 3))
    m = compute_metrics([-300.0, -150.0], [-299.97, -150.04], [60, 30], f, f)
    assert m["n_structures"] == 2
    assert m["energy_rmse_ev"] == pytest.approx(math.sqrt((0.03**2 + 0.04**2) / 2))
    per_atom = [0.03 / 60 * 1e3, 0.04 / 30 * 1e3]  # meV
    assert m["energy_per_atom_rmse_mev"] == pytest.approx(math.sqrt(np.mean(np.square(per_atom))))
    assert m["energy_mape"] == pytest.approx((0.03 / 300 + 0.04 / 150) / 2)


def test_force_components_and_their_mape():
    f_ref = [[1.0, 2.0, 0.5], [-2.0, 4.0, -1.0]]
    f_pred = [[1.5, 2.0, 0.5], [-2.0, 3.0, -0.5]]
    m = compute_metrics(*one_structure(f_ref, f_pred))
    assert m["force_rmse_x"] == pytest.approx(math.sqrt(0.25 / 2))
    assert m["force_rmse_y"] == pytest.approx(math.sqrt(1.0 / 2))
    assert m["force_rmse_z"] == pytest.approx(math.sqrt(0.25 / 2))
    assert m["force_x_mape"] == pytest.approx((0.5 / 1.0 + 0.0) / 2)
    assert m["force_y_mape"] == pytest.approx((0.0 + 1.0 / 4.0) / 2)
    assert m["force_z_mape"] == pytest.approx((0.0 + 0.5 / 1.0) / 2)


def test_force_magnitude_rmse_and_mape():
    # |F_ref| = 5, |F_pred| = 10 (same direction); |F_ref| = 1, |F_pred| = 1 (rotated)
    f_ref = [[3.0, 4.0, 0.0], [0.0, 0.0, 1.0]]
    f_pred = [[6.0, 8.0, 0.0], [1.0, 0.0, 0.0]]
    m = compute_metrics(*one_structure(f_ref, f_pred))
    assert m["force_magnitude_rmse"] == pytest.approx(math.sqrt(25.0 / 2))
    assert m["force_magnitude_mape"] == pytest.approx((5.0 / 5.0 + 0.0) / 2)
    assert m["force_angle_mae_deg"] == pytest.approx((0.0 + 90.0) / 2)


@pytest.mark.parametrize(
    "pred, angle",
    [([0.0, 1.0, 0.0], 90.0), ([-1.0, 0.0, 0.0], 180.0), ([1.0, 1.0, 0.0], 45.0),
     ([2.0, 0.0, 0.0], 0.0), ([0.5, 0.5 * math.sqrt(3.0), 0.0], 60.0)],
)
def test_angle_between_forces(pred, angle):
    m = compute_metrics(*one_structure([[1.0, 0.0, 0.0]], [pred]))
    assert m["force_angle_mae_deg"] == pytest.approx(angle, abs=1e-9)


def test_angle_of_parallel_vectors_is_finite_zero():
    # cos can round to 1 + 1e-16: the clip keeps arccos finite
    rng = np.random.default_rng(3)
    f = rng.normal(size=(200, 3))
    m = compute_metrics(*one_structure(f, f * 1.7))
    assert np.isfinite(m["force_angle_mae_deg"])
    assert m["force_angle_mae_deg"] == pytest.approx(0.0, abs=1e-5)


def test_zero_reference_force_left_out_of_angle_and_mape_and_counted():
    f_ref = [[0.0, 0.0, 0.0], [1.0, 0.0, 0.0], [0.0, 2.0, 0.0]]
    f_pred = [[1.0, 0.0, 0.0], [0.0, 1.0, 0.0], [0.0, 2.0, 0.0]]
    m = compute_metrics(*one_structure(f_ref, f_pred))
    assert m["n_force_atoms"] == 3
    assert m["n_force_excluded"] == 1
    assert m["force_angle_mae_deg"] == pytest.approx((90.0 + 0.0) / 2)
    # the zero-force atom still counts in the RMSE ...
    assert m["force_magnitude_rmse"] == pytest.approx(math.sqrt(1.0 / 3))
    # ... but not in the MAPE: atoms 2 and 3 have magnitude errors 0 and 0
    assert m["force_magnitude_mape"] == pytest.approx(0.0)
    assert m["n_mape_excluded"]["magnitude"] == 1


def test_zero_predicted_force_counts_as_90_degrees():
    m = compute_metrics(*one_structure([[1.0, 1.0, 0.0]], [[0.0, 0.0, 0.0]]))
    assert m["force_angle_mae_deg"] == pytest.approx(90.0)
    assert m["n_force_excluded"] == 0


def test_near_zero_components_left_out_of_component_mape():
    # x references 1e-4 (below the 0.01 eV/Å floor) and 2.0; z all zero (a flat sheet)
    f_ref = [[1e-4, 1.0, 0.0], [2.0, 1.0, 0.0]]
    f_pred = [[0.1, 1.0, 0.0], [2.2, 1.0, 0.0]]
    m = compute_metrics(*one_structure(f_ref, f_pred))
    assert m["force_x_mape"] == pytest.approx(0.1)  # only the 2.0 reference counts
    assert m["n_mape_excluded"] == {"energy": 0, "x": 1, "y": 0, "z": 2, "magnitude": 0}
    assert math.isnan(m["force_z_mape"])
    assert m["force_rmse_z"] == 0.0
    # a lower floor lets the tiny reference in: its 99900 % dominates
    low = compute_metrics(*one_structure(f_ref, f_pred), mape_floor=1e-5)
    assert low["force_x_mape"] == pytest.approx(((0.1 - 1e-4) / 1e-4 + 0.1) / 2)


def test_force_mask_selects_atoms():
    rng = np.random.default_rng(0)
    f_ref = rng.normal(size=(10, 3))
    f_pred = f_ref + rng.normal(scale=0.1, size=(10, 3))
    f_pred[::2] = np.nan  # not predicted: masked out, never read
    mask = np.zeros(10, dtype=bool)
    mask[1::2] = True
    e = ([-10.0, -11.0], [-10.1, -11.0], [4, 6])
    masked = compute_metrics(*e, f_ref, f_pred, mask)
    sub = compute_metrics([-1.0], [-1.0], [5], f_ref[mask], f_pred[mask])
    assert masked["n_force_atoms"] == 5
    for key in ("force_rmse_x", "force_y_mape", "force_magnitude_rmse", "force_angle_mae_deg"):
        assert masked[key] == pytest.approx(sub[key])
    assert masked["energy_rmse_ev"] == pytest.approx(math.sqrt(0.01 / 2))
    with pytest.raises(ValueError, match="non-finite"):
        compute_metrics(*e, f_ref, f_pred)  # unmasked NaN is an error


def test_empty_mask_gives_nan_force_metrics():
    f = np.ones((3, 3))
    m = compute_metrics([-1.0], [-1.0], [3], f, f, np.zeros(3, dtype=bool))
    assert m["n_force_atoms"] == 0
    assert math.isnan(m["force_rmse_x"]) and math.isnan(m["force_angle_mae_deg"])


def test_inconsistent_input_is_refused():
    f = np.ones((4, 3))
    with pytest.raises(ValueError, match="4 rows"):
        compute_metrics([-1.0], [-1.0], [5], f, f)
    with pytest.raises(ValueError, match="disagree"):
        compute_metrics([-1.0, -2.0], [-1.0], [2, 2], f, f)
    with pytest.raises(ValueError, match="shape"):
        compute_metrics([-1.0], [-1.0], [4], f, f[:, :2])
    with pytest.raises(ValueError, match="boolean"):
        compute_metrics([-1.0], [-1.0], [4], f, f, np.ones(4, dtype=int))
    with pytest.raises(ValueError, match="no structures"):
        compute_metrics([], [], [], np.zeros((0, 3)), np.zeros((0, 3)))


def test_metrics_by_species():
    species = ["B", "N", "B", "N"]
    f_ref = [[1.0, 0.0, 0.0], [0.0, 1.0, 0.0], [1.0, 0.0, 0.0], [0.0, 1.0, 0.0]]
    f_pred = [[1.0, 0.0, 0.0], [1.0, 0.0, 0.0], [1.0, 0.0, 0.0], [1.0, 0.0, 0.0]]
    out = metrics_by_species([-10.0], [-10.12], [4], f_ref, f_pred, species)
    assert set(out) == {"all", "B", "N"}
    for block in out.values():  # energy is structure-level: the same everywhere
        assert block["energy_rmse_ev"] == pytest.approx(0.12)
        assert block["energy_per_atom_rmse_mev"] == pytest.approx(30.0)
    assert out["B"]["force_angle_mae_deg"] == pytest.approx(0.0)
    assert out["N"]["force_angle_mae_deg"] == pytest.approx(90.0)
    assert out["all"]["force_angle_mae_deg"] == pytest.approx(45.0)
    assert out["N"]["force_rmse_x"] == pytest.approx(1.0)
    assert out["all"]["force_rmse_x"] == pytest.approx(math.sqrt(0.5))
    assert (out["B"]["n_force_atoms"], out["N"]["n_force_atoms"]) == (2, 2)

    # atomic numbers work too, and a mask restricts every block
    mask = np.array([True, True, False, False])
    by_z = metrics_by_species([-10.0], [-10.12], [4], f_ref, f_pred, [5, 7, 5, 7], mask)
    assert (by_z["B"]["n_force_atoms"], by_z["N"]["n_force_atoms"]) == (1, 1)
    assert by_z["all"]["n_force_atoms"] == 2


def test_rmse_by_strength_groups_levels():
    # three structures of 2 atoms: strengths 1, 1 (+ rounding noise), 2 and one unknown
    strengths = [1.0, 1.0000000001, 2.0, None]
    e_ref = [-10.0, -10.0, -10.0, -10.0]
    e_pred = [-10.02, -9.98, -10.1, -50.0]
    n_atoms = [2, 2, 2, 2]
    f_ref = np.tile([[1.0, 0.0, 0.0]], (8, 1))
    f_pred = f_ref.copy()
    f_pred[4] = [0.0, 1.0, 0.0]   # structure 3 (2 %): one 90° error, magnitude exact
    f_pred[5] = [1.5, 0.0, 0.0]   # and one magnitude error of 0.5
    levels = rmse_by_strength(strengths, e_ref, e_pred, n_atoms, f_ref, f_pred)
    assert [lv["strength_pct"] for lv in levels] == [1.0, 2.0]
    one, two = levels
    assert one["n_structures"] == 2 and one["n_force_atoms"] == 4
    assert one["energy_rmse_ev"] == pytest.approx(0.02)
    assert one["energy_per_atom_rmse_mev"] == pytest.approx(10.0)
    assert one["force_magnitude_rmse"] == 0.0 and one["force_angle_mae_deg"] == 0.0
    assert two["n_structures"] == 1
    assert two["energy_per_atom_rmse_mev"] == pytest.approx(50.0)
    assert two["force_magnitude_rmse"] == pytest.approx(math.sqrt(0.25 / 2))
    assert two["force_angle_mae_deg"] == pytest.approx(45.0)

    with pytest.raises(ValueError, match="strengths"):
        rmse_by_strength([1.0], e_ref, e_pred, n_atoms, f_ref, f_pred)


def test_nan_to_none():
    assert nan_to_none({"a": float("nan"), "b": [1.0, np.float64("inf")], "c": np.int64(3)}) == {
        "a": None, "b": [1.0, None], "c": 3,
    }
