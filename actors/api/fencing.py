"""The api's side of fenced writes: a write that carries a fencing token (``fence`` in the request)
is made only while the token's lease still names its holder and epoch. The check itself lives in
actors/runtime/fencecheck.py, shared with the scheduler (which writes to the store directly)."""

from actors.runtime.fencecheck import check_fence, fence_refusal, fenced_write, parse_token

__all__ = ["check_fence", "fence_refusal", "fenced_write", "parse_token"]
