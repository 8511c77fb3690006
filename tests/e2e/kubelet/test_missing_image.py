"""A pod whose image the engine lacks: a clear waiting state and an Event that names the image."""

from __future__ import annotations

from tests.e2e.kubelet.kubelet_fixtures import KubeletHandle, phase, waiting_reason


async def test_never_pull_of_a_missing_image_is_err_image_never_pull(kubelet: KubeletHandle) -> None:
    image = "jetkube-test/never-there:v1"
    c = {"name": "c", "image": image, "imagePullPolicy": "Never"}
    await kubelet.create({"metadata": {"name": "never"}, "spec": {"containers": [c]}})
    p = await kubelet.wait_pod(
        "never", lambda p: waiting_reason(p, "c") == "ErrImageNeverPull", what="reason"
    )
    waiting = p["status"]["containerStatuses"][0]["state"]["waiting"]
    assert waiting["message"] == f'Container image "{image}" is not present with pull policy of Never'
    assert phase(p) == "Pending"
    await kubelet.wait_event("never", "ErrImageNeverPull", contains=image)
