"""Security for the doors an outside system calls: who may call, and how a call proves it.

`client_tokens` verifies the signed JWT a CDS Hooks client (an EHR) sends with every call.
"""
