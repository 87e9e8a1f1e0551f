"""The spec's role table as the tests expect it, written out rather than read from the table
under test (server/authorization.py): users read; everything else (writes, estimates, previews)
is for the admin, service and system roles."""

USER_MAY_CALL = frozenset(
    {
        "GetCampaign",
        "ListCampaigns",
        "GetExecution",
        "ListExecutions",
        "GetMessage",
        "ListMessages",
        "ListTriggerEvaluations",
        "GetContact",
        "ListSuppressions",
        "GetSegment",
        "ListSegments",
        "GetCampaignMetrics",
        "StreamCampaignMetrics",
        "GetExperimentResults",
    }
)
