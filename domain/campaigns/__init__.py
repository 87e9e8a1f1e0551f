"""The campaign aggregate: its definition, lifecycle, validation rules, templates and listing
(BR-CAM-001, 003, 004, 008), and the use cases of CampaignService that change or read it.

Imports the audience (a campaign names its audiences) and the kernel, never execution.
"""
