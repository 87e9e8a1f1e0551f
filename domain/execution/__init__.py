"""Running campaigns: executions and messages, the scheduler, the executor's fan-out, variant
assignment, throttling, quiet hours, rendering plans and delivery hand-over (BR-CAM-003, 006).

The top of the domain: it reads campaigns and audiences; nothing below reads it.
"""
