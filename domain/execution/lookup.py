"""Finding an execution or a message, or answering NOT_FOUND.

Both are scoped to the caller's organization, and, when the request names a campaign, to that
campaign: an execution of another campaign is as absent as another tenant's.
"""

from __future__ import annotations

from domain.execution.model import Execution, Message
from domain.execution.ports import ExecutionRepository, MessageRepository
from domain.kernel.errors import NotFoundError, required, shown


async def load_execution(
    executions: ExecutionRepository, organization_id: str, campaign_id: str, execution_id: str
) -> Execution:
    found = await executions.get(organization_id, required("execution_id", execution_id))
    if found is None or (campaign_id and found.campaign_id != campaign_id):
        raise NotFoundError(
            f"execution {shown(execution_id)} not found", metadata={"execution_id": execution_id}
        )
    return found


async def load_message(
    messages: MessageRepository, organization_id: str, campaign_id: str, message_id: str
) -> Message:
    found = await messages.get(organization_id, required("message_id", message_id))
    if found is None or (campaign_id and found.campaign_id != campaign_id):
        raise NotFoundError(
            f"message {shown(message_id)} not found", metadata={"message_id": message_id}
        )
    return found
