"""Named evaluation protocols: pinned sampling, k per task and prompt conventions."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType

from evalr.types import Sampling


@dataclass(frozen=True)
class Protocol:
    name: str
    sampling: Sampling
    # k attempts per problem; tasks not listed use their own default.
    samples: Mapping[str, int] = field(default_factory=dict)
    assistant_prefix: str = ""


# DeepSeek-R1 (arXiv:2501.12948, section 3.1): T=0.6, top-p 0.95, 32,768 generated tokens,
# pass@1 averaged over k samples; cons@64 for AIME. No system prompt.
R1 = Protocol(
    name="r1",
    sampling=Sampling(temperature=0.6, top_p=0.95, max_tokens=32768),
    samples=MappingProxyType(
        {"aime24": 64, "aime25": 64, "math500": 4, "gpqa_diamond": 8, "livecodebench": 16}
    ),
)

# Named protocols as defined; a run's deviations are measured against these.
PROTOCOLS: Mapping[str, Protocol] = MappingProxyType({R1.name: R1})
