"""Config models of the sinks (owned by shipper.sinks)."""

from __future__ import annotations

from typing import Annotated, Literal, Union

from pydantic import Field

from shipper.units import Duration, Model


class BatchSettings(Model):
    max_records: int = Field(1000, ge=1)
    max_bytes: int = Field(1_048_576, ge=1024)
    max_wait: Duration = 1.0


class StdoutSinkSettings(Model):
    type: Literal["stdout"] = "stdout"
    name: str = "stdout"
    batch: BatchSettings = BatchSettings(max_records=512, max_wait=0.2)


SinkSettings = Annotated[Union[StdoutSinkSettings], Field(discriminator="type")]
