"""The inputs of model and model-family writes."""

from __future__ import annotations

from pydantic import Field

from service.enums import Modality, TrainingOrigin
from service.inputs.shared import CLEARED, NOT_NULL, Patch
from service.validation import Input, Name, Slug, Text, omitted


class ModelFamilyInput(Input):
    """A product line grouping models (demo data only)."""

    slug: Slug = Field(description="The family's key.")
    name: Name = Field(description="The family's name.")
    lab: Slug | None = Field(None, description="The lab's slug; null for a cross-lab family.")
    description: Text | None = Field(None, description="What it is, for a person to read.")


class ModelInput(Input):
    """A new model, under a lab that is not archived."""

    slug: Slug = Field(description="The model's key, used by every reference to it.")
    name: Name = Field(description="The model's name.")
    lab: Slug = Field(description="The lab's slug.")
    family: Slug | None = Field(None, description="The family's slug; null for none.")
    modality: Modality = Field(Modality.TEXT, description="What it takes in and puts out.")
    open_weights: bool = Field(False, description="Whether its weights are published.")
    license: Name | None = Field(None, description="Its licence, e.g. 'Apache-2.0'.")
    training_origin: TrainingOrigin | None = Field(
        None, description="Trained from scratch or derived; null when not known."
    )
    description: Text | None = Field(None, description="What it is, for a person to read.")


class ModelPatch(Patch):
    """Change a model: only the fields sent change; null clears an optional one."""

    KEYS = frozenset({"slug"})
    REQUIRED = frozenset({"name", "modality", "open_weights"})

    slug: Slug = Field(description="The model's slug.")
    name: Name | None = omitted(f"The model's name. {NOT_NULL}")
    family: Slug | None = omitted(f"The family's slug. {CLEARED}")
    modality: Modality | None = omitted(f"What it takes in and puts out. {NOT_NULL}")
    open_weights: bool | None = omitted(f"Whether its weights are published. {NOT_NULL}")
    license: Name | None = omitted(f"Its licence. {CLEARED}")
    training_origin: TrainingOrigin | None = omitted(f"From scratch or derived. {CLEARED}")
    description: Text | None = omitted(f"What it is. {CLEARED}")
