"""Every policy rule Glare registers, in one list.

The images, metadata-definition and cache/task/discovery rules carry
Glance 33's names and secure-RBAC defaults (``artifacts/types/
image_policies.py``, ``metadefs/policies.py``), so an operator's Glance
``policy.yaml`` applies unchanged; the other artifact types add their
``artifact:<operation>`` rules.  ``list_rules`` is also the ``glare``
namespace of oslo.policy's tools (``oslopolicy-sample-generator
--namespace glare``), as ``glance.policies.list_rules`` is Glance's.
"""

from artifacts.types.artifact_policies import RULES as ARTIFACT_RULES
from artifacts.types.image_policies import RULES as IMAGE_RULES
from metadefs.policies import RULES as METADEF_RULES


def list_rules():
    """Glare's ``RuleDefault`` objects (Glance's first)."""
    return IMAGE_RULES + METADEF_RULES + ARTIFACT_RULES
