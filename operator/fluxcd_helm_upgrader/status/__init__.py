"""What the operator writes into status: `reasons` (every condition type and reason, documented once) and
`conditions` (kstatus condition lists: Ready, Reconciling, Stalled). Pure; used by the cycle, the
Git worker and the handlers.
"""
