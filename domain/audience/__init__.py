"""Who a campaign can reach: contacts, saved segments, conditions and suppressions (BR-CAM-002).

Imports only the kernel. Campaigns and execution read these types; the audience never reads theirs.
"""
