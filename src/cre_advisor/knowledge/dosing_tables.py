"""Schema and loader of dosing.yaml: adult dose rows per agent, by renal band and mode.

Rows are data with citations; `cre_advisor.dosing` picks one for a patient and does the
arithmetic (mg/kg, daily dose split, formula loading doses). Nothing here computes a dose.
Bounds are CrCl in mL/min for `bands` and CRRT effluent in L/h for `crrt` rows.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from cre_advisor.knowledge.schema import Item
from cre_advisor.knowledge.yaml_files import load_knowledge_yaml

# Variant names the engine may ask for; an agent defines the ones its sources give.
VARIANT_NAMES = ("default", "cystitis", "meningitis", "with_ceftazidime_avibactam", "high_exposure", "oral", "oral_cystitis")
# Asked of an agent that lacks them, these fall back to "default" with a note; others are errors.
FALLBACK_VARIANTS = ("cystitis", "meningitis", "high_exposure")


class _Data(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Bounds(_Data):
    gt: float | None = None
    ge: float | None = None
    lt: float | None = None
    le: float | None = None

    def contains(self, value: float) -> bool:
        return (
            (self.gt is None or value > self.gt)
            and (self.ge is None or value >= self.ge)
            and (self.lt is None or value < self.lt)
            and (self.le is None or value <= self.le)
        )

    @property
    def unbounded(self) -> bool:
        return self.gt is None and self.ge is None and self.lt is None and self.le is None


Evidence = Literal["P", "H", "R", "S"]
"""How a row was read (RRT-DOSING.md): P label/guideline text, H hospital dosing guide,
R published study, S secondary source only (never a dose without pharmacist sign-off)."""


class DoseRow(Bounds):
    """One band and what to give in it: a fixed, per-kg or daily dose, or a reason for none.

    An `individualise` row has no maintenance dose but still a first dose: `first_dose_mg` when its
    source gives one, else the variant's normal-function dose (a first dose is not renally reduced).
    """

    band: str = Field(description="The band as the source words it, e.g. 'CrCl 31-50 mL/min'.")
    dose_mg: float | None = Field(default=None, gt=0)
    dose_mg_per_kg: float | None = Field(default=None, gt=0)
    daily_dose_mg: float | None = Field(default=None, gt=0, description="Split evenly by interval_h.")
    daily_dose_mg_per_kg: float | None = Field(default=None, gt=0, description="Split evenly by interval_h.")
    daily_dose_by_formula: bool = Field(default=False, description="Daily dose from the variant's maintenance_formula.")
    dose_mg_per_kg_max: float | None = Field(default=None, gt=0, description="Upper end when the source gives a range.")
    daily_dose_mg_per_kg_max: float | None = Field(default=None, gt=0, description="Upper end of a daily range.")
    interval_h: float | None = Field(default=None, gt=0, description="None: a single dose.")
    infusion_h: float | None = Field(default=None, gt=0)
    loading_dose_mg: float | None = Field(default=None, gt=0)
    loading_dose_mg_per_kg: float | None = Field(default=None, gt=0)
    loading_dose_mg_per_kg_max: float | None = Field(default=None, gt=0, description="Upper end of a loading range.")
    composition: str | None = Field(default=None, description="Components of a combined product, shown beside the dose.")
    not_recommended: str | None = None
    individualise: str | None = Field(default=None, description="Why the maintenance dose is left to the pharmacist.")
    first_dose_mg: float | None = Field(default=None, gt=0, description="An individualise row's sourced first dose.")
    timing: str | None = Field(default=None, description="When to give it on dialysis days, shown with the dose.")
    evidence: Evidence = "P"
    notes: tuple[str, ...] = ()
    citations: tuple[str, ...] = Field(min_length=1)

    @model_validator(mode="after")
    def _one_dose(self) -> DoseRow:
        if self.first_dose_mg is not None and not self.individualise:
            raise ValueError(f"{self.band}: first_dose_mg belongs to an individualise row")
        doses = [
            d for d in (self.dose_mg, self.dose_mg_per_kg, self.daily_dose_mg, self.daily_dose_mg_per_kg,
                        self.daily_dose_by_formula or None) if d is not None
        ]
        if self.not_recommended or self.individualise:
            if doses or self.loading_dose_mg or self.loading_dose_mg_per_kg:
                raise ValueError(f"{self.band}: a not_recommended/individualise row carries no dose")
        elif len(doses) != 1:
            raise ValueError(
                f"{self.band}: give exactly one of dose_mg, dose_mg_per_kg, daily_dose_mg, daily_dose_mg_per_kg, "
                "daily_dose_by_formula"
            )
        if self.evidence == "S" and not (self.individualise or self.not_recommended):
            raise ValueError(f"{self.band}: a secondary-only [S] figure is no dose without pharmacist sign-off: "
                             "make the row individualise and quote the figure in its reason")
        daily = self.daily_dose_mg or self.daily_dose_mg_per_kg or self.daily_dose_by_formula
        if daily and self.interval_h is None:
            raise ValueError(f"{self.band}: a daily dose needs interval_h to split it")
        return self

    @property
    def per_kg(self) -> bool:
        return bool(self.dose_mg_per_kg or self.daily_dose_mg_per_kg or self.loading_dose_mg_per_kg)


class WeightRule(_Data):
    """Which body weight a mg/kg dose uses."""

    basis: Literal["actual", "ideal", "actual_or_adjusted"]
    adjusted_above_ibw_ratio: float | None = Field(
        default=None, gt=1, description="actual_or_adjusted: adjusted weight when actual > ratio x IBW."
    )
    citations: tuple[str, ...] = Field(min_length=1)

    @model_validator(mode="after")
    def _ratio(self) -> WeightRule:
        if (self.basis == "actual_or_adjusted") != (self.adjusted_above_ibw_ratio is not None):
            raise ValueError("adjusted_above_ibw_ratio goes with basis actual_or_adjusted, and only with it")
        return self


class FixedLoading(_Data):
    """The fixed loading dose used when the formula's body weight cannot be worked out."""

    dose_mg: float = Field(gt=0)
    note: str
    citations: tuple[str, ...] = Field(min_length=1)


class LoadingFormula(_Data):
    """Loading dose = target average steady-state concentration x factor x weight, capped (colistin)."""

    name: Literal["colistin_nation_2017"]
    target_css_mg_l: float = Field(gt=0)
    factor_l_per_kg: float = Field(gt=0)
    max_mg: float = Field(gt=0)
    without_weight: FixedLoading | None = None
    citations: tuple[str, ...] = Field(min_length=1)


class MaintenanceFormula(_Data):
    """Daily dose = target Css,avg x 10^(slope x CrCl + intercept) (colistin, Nation 2017 equation 2)."""

    name: Literal["colistin_nation_2017"]
    target_css_mg_l: float = Field(gt=0)
    slope: float = Field(gt=0)
    intercept: float
    citations: tuple[str, ...] = Field(min_length=1)


class AltUnit(_Data):
    """A second unit shown beside mg (million IU of colistimethate, IU of polymyxin B)."""

    name: str
    mg_per_unit: float = Field(gt=0)
    citations: tuple[str, ...] = Field(min_length=1)


class HepaticChange(_Data):
    """What changes in Child-Pugh C; a field left empty keeps the renal row's value."""

    dose_mg: float | None = Field(default=None, gt=0)
    dose_mg_per_kg: float | None = Field(default=None, gt=0)
    dose_factor: float | None = Field(default=None, gt=0, lt=1)
    loading_dose_mg: float | None = Field(default=None, gt=0)
    interval_h: float | None = Field(default=None, gt=0)
    individualise: str | None = None
    notes: tuple[str, ...] = ()
    replaces_variant_notes: bool = Field(
        default=False, description="The variant's own notes describe the regimen this change replaces: leave them out."
    )
    citations: tuple[str, ...] = Field(min_length=1)


class Variant(_Data):
    route: str = "IV"
    dose_unit: str = Field(default="mg", description="How doses read, e.g. 'mg CBA' for colistin.")
    weight: WeightRule | None = None
    renal_adjusted: bool = True
    bands: tuple[DoseRow, ...] = Field(min_length=1)
    hemodialysis: DoseRow | None = None
    hemodialysis_by_residual_crcl: tuple[DoseRow, ...] = Field(
        default=(), description="On haemodialysis, rows by residual CrCl (mL/min); used instead of `hemodialysis`."
    )
    crrt: tuple[DoseRow, ...] = ()
    full_early_dosing: bool = Field(
        default=False, description="Wide therapeutic index: full dose for the first 48 h when creatinine is unstable."
    )
    kidney_failure_notes: tuple[str, ...] = Field(
        default=(), description="Shown only in kidney failure: CrCl < 15 mL/min or renal replacement therapy."
    )
    loading_formula: LoadingFormula | None = None
    maintenance_formula: MaintenanceFormula | None = None
    alt_unit: AltUnit | None = None
    child_pugh_c: HepaticChange | None = None
    notes: tuple[str, ...] = ()

    @model_validator(mode="after")
    def _consistent(self) -> Variant:
        if not self.renal_adjusted and len(self.bands) != 1:
            raise ValueError("a variant without renal adjustment has exactly one band")
        if self.hemodialysis is not None and self.hemodialysis_by_residual_crcl:
            raise ValueError("give hemodialysis or hemodialysis_by_residual_crcl, not both")
        rows = [r for r in (*self.bands, *self.crrt, *self.hemodialysis_by_residual_crcl, self.hemodialysis)
                if r is not None]
        if (any(r.per_kg for r in rows) or self.loading_formula) and self.weight is None:
            raise ValueError("a variant with mg/kg doses names its weight rule")
        if any(r.daily_dose_by_formula for r in rows) and self.maintenance_formula is None:
            raise ValueError("daily_dose_by_formula needs the variant's maintenance_formula")
        return self


class AgentDosing(Item):
    variants: dict[str, Variant]
    monitoring: tuple[str, ...] = ()

    @model_validator(mode="after")
    def _variants(self) -> AgentDosing:
        unknown = set(self.variants) - set(VARIANT_NAMES)
        if "default" not in self.variants or unknown:
            raise ValueError(f"{self.id}: needs a 'default' variant; allowed names: {', '.join(VARIANT_NAMES)}")
        return self


class Principle(_Data):
    """A dosing rule that holds across agents, with its source."""

    note: str
    citations: tuple[str, ...] = Field(min_length=1)


class Principles(_Data):
    first_dose: Principle = Field(description="Why a first dose is given where no maintenance dose is sourced.")
    early_full_dose: Principle = Field(description="Full dosing in the first 48 h while creatinine is unstable.")


class DosingTables(_Data):
    version: str
    principles: Principles
    agents: dict[str, AgentDosing]


def load_dosing_tables(directory: Path, item_defaults: dict[str, Any]) -> DosingTables:
    with (directory / "dosing.yaml").open(encoding="utf-8") as handle:
        data = load_knowledge_yaml(handle)
    agents = {
        agent: {**item_defaults, "id": f"dosing:{agent}", **row} for agent, row in data["agents"].items()
    }
    return DosingTables.model_validate({"version": data["version"], "principles": data["principles"], "agents": agents})
