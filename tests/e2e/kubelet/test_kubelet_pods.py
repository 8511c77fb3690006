"""The kubelet runs pods as a user sees them through the api: phase, IPs, statuses, events."""

from __future__ import annotations

from tests.e2e.kubelet.kubelet_fixtures import KubeletHandle, cstatus, phase, running, waiting_reason

BUSYBOX = "gcr.io/google_containers/busybox"


def pod(name: str, containers: list[dict], **spec: object) -> dict:
    return {"metadata": {"name": name}, "spec": {"containers": containers, **spec}}


async def test_pod_runs_with_ip_statuses_and_events(kubelet: KubeletHandle) -> None:
    await kubelet.create(pod("web", [{"name": "c", "image": BUSYBOX, "command": ["sleep", "3600"]}]))
    p = await kubelet.wait_pod("web", running, what="Running")
    st = p["status"]
    assert st["podIP"].count(".") == 3 and st["hostIP"]
    assert st["qosClass"] == "BestEffort" and st["startTime"]
    c = cstatus(p, "c")
    assert c["ready"] and c["started"] and c["restartCount"] == 0
    assert c["containerID"].startswith("docker://") and c["imageID"].startswith("docker://")
    conds = {x["type"]: x["status"] for x in st["conditions"]}
    assert conds == {
        "PodScheduled": "True",
        "Initialized": "True",
        "ContainersReady": "True",
        "Ready": "True",
    }
    await kubelet.wait_event("web", "Started")
    # the same pod is not restarted by later syncs
    kubelet.kubelet.resync()
    again = await kubelet.wait_pod("web", lambda p: True)
    assert cstatus(again, "c")["containerID"] == c["containerID"]
    assert len(await kubelet.containers("web")) == 1


async def test_init_containers_run_in_order_before_app_containers(kubelet: KubeletHandle, tmp_path) -> None:
    shared = {"name": "work", "emptyDir": {}}
    mount = [{"name": "work", "mountPath": "/work"}]
    spec = pod(
        "init",
        [
            {
                "name": "app",
                "image": BUSYBOX,
                "command": ["sh", "-c", "cat /work/log; sleep 3600"],
                "volumeMounts": mount,
            }
        ],
        initContainers=[
            {
                "name": "one",
                "image": BUSYBOX,
                "command": ["sh", "-c", "echo one >> /work/log"],
                "volumeMounts": mount,
            },
            {
                "name": "two",
                "image": BUSYBOX,
                "command": ["sh", "-c", "echo two >> /work/log"],
                "volumeMounts": mount,
            },
        ],
        volumes=[shared],
    )
    await kubelet.create(spec)
    p = await kubelet.wait_pod("init", running, what="Running")
    inits = p["status"]["initContainerStatuses"]
    assert [s["state"]["terminated"]["reason"] for s in inits] == ["Completed", "Completed"]
    assert inits[0]["state"]["terminated"]["finishedAt"] <= inits[1]["state"]["terminated"]["startedAt"]

    async def logged() -> list[str]:
        return await kubelet.logs("init", "app")

    import asyncio

    for _ in range(50):
        if await logged():
            break
        await asyncio.sleep(0.1)
    assert await logged() == ["one", "two"]


async def test_failing_init_container_with_never_fails_the_pod(kubelet: KubeletHandle) -> None:
    spec = pod(
        "initfail",
        [{"name": "app", "image": BUSYBOX, "command": ["sleep", "3600"]}],
        initContainers=[{"name": "bad", "image": BUSYBOX, "command": ["sh", "-c", "exit 3"]}],
        restartPolicy="Never",
    )
    await kubelet.create(spec)
    p = await kubelet.wait_pod("initfail", lambda p: phase(p) == "Failed", what="Failed")
    init = p["status"]["initContainerStatuses"][0]
    assert init["state"]["terminated"]["exitCode"] == 3
    assert cstatus(p, "app")["state"]["waiting"]["reason"] == "PodInitializing"
    assert not await kubelet.containers("initfail") or all(
        c.container_name == "bad" for c in await kubelet.containers("initfail")
    )


async def test_restart_policies_give_succeeded_and_failed(kubelet: KubeletHandle) -> None:
    await kubelet.create(
        pod("ok", [{"name": "c", "image": BUSYBOX, "command": ["true"]}], restartPolicy="Never")
    )
    await kubelet.create(
        pod(
            "bad", [{"name": "c", "image": BUSYBOX, "command": ["sh", "-c", "exit 2"]}], restartPolicy="Never"
        )
    )
    await kubelet.create(
        pod("onf", [{"name": "c", "image": BUSYBOX, "command": ["true"]}], restartPolicy="OnFailure")
    )
    ok = await kubelet.wait_pod("ok", lambda p: phase(p) == "Succeeded", what="Succeeded")
    term = cstatus(ok, "c")["state"]["terminated"]
    assert term["reason"] == "Completed" and term["exitCode"] == 0
    assert {c["type"]: c.get("reason") for c in ok["status"]["conditions"]}["Ready"] == "PodCompleted"
    bad = await kubelet.wait_pod("bad", lambda p: phase(p) == "Failed", what="Failed")
    assert cstatus(bad, "c")["state"]["terminated"]["reason"] == "Error"
    assert cstatus(bad, "c")["restartCount"] == 0
    onf = await kubelet.wait_pod("onf", lambda p: phase(p) == "Succeeded", what="Succeeded")
    assert cstatus(onf, "c")["restartCount"] == 0


async def test_restart_count_rises_with_back_off_and_crash_loop(kubelet: KubeletHandle) -> None:
    import time
    from datetime import datetime

    await kubelet.create(pod("crash", [{"name": "c", "image": BUSYBOX, "command": ["sh", "-c", "exit 1"]}]))
    p = await kubelet.wait_pod(
        "crash", lambda p: cstatus(p, "c").get("restartCount", 0) >= 2, timeout=40, what="two restarts"
    )
    t0 = time.monotonic()
    p = await kubelet.wait_pod(
        "crash",
        lambda p: "CrashLoopBackOff" == (cstatus(p, "c")["state"].get("waiting") or {}).get("reason"),
        timeout=30,
        what="CrashLoopBackOff",
    )
    c = cstatus(p, "c")
    msg = c["state"]["waiting"]["message"]
    assert msg.startswith("back-off ") and "restarting failed container=c pod=crash_default(" in msg
    assert c["lastState"]["terminated"]["exitCode"] == 1 and c["lastState"]["terminated"]["reason"] == "Error"
    assert p["status"]["phase"] == "Running"  # restartPolicy Always: a crash-looping pod is Running
    n = c["restartCount"]
    p = await kubelet.wait_pod(
        "crash", lambda p: cstatus(p, "c")["restartCount"] > n, timeout=45, what="next restart"
    )
    # back-off spacing: the restart after the second one waits at least 10 s (then 20 s ...)
    assert time.monotonic() - t0 >= 5
    c = cstatus(p, "c")
    ids = sorted(await kubelet.containers("crash"), key=lambda x: x.attempt)
    starts = [datetime.fromisoformat(s.rstrip("Z")) for s in [c["lastState"]["terminated"]["startedAt"]]]
    assert starts and len(ids) >= 2
    await kubelet.wait_event("crash", "BackOff", contains="Back-off restarting failed container")


async def test_termination_message_in_last_state_via_go_template(kubelet: KubeletHandle) -> None:
    from cli.gotemplate import render

    cmd = ["sh", "-c", "echo -n 'Sleep expired' > /dev/termination-log; sleep 0.2; exit 0"]
    await kubelet.create(pod("msg", [{"name": "c", "image": BUSYBOX, "command": cmd}]))
    p = await kubelet.wait_pod(
        "msg",
        lambda p: (cstatus(p, "c").get("lastState") or {}).get("terminated"),
        timeout=30,
        what="a restart",
    )
    out = render("{{range .status.containerStatuses}}{{.lastState.terminated.message}}{{end}}", p)
    assert out == "Sleep expired"


async def test_fallback_to_logs_on_error(kubelet: KubeletHandle) -> None:
    c = {
        "name": "c",
        "image": BUSYBOX,
        "command": ["sh", "-c", "echo first; echo last words; exit 4"],
        "terminationMessagePolicy": "FallbackToLogsOnError",
    }
    await kubelet.create(pod("fallback", [c], restartPolicy="Never"))
    p = await kubelet.wait_pod("fallback", lambda p: phase(p) == "Failed", what="Failed")
    assert cstatus(p, "c")["state"]["terminated"]["message"] == "first\nlast words"


async def test_image_that_does_not_exist(kubelet: KubeletHandle) -> None:
    c = {"name": "c", "image": "jetkube-test/no-such-image:v9", "imagePullPolicy": "IfNotPresent"}
    await kubelet.create(pod("noimg", [c]))
    p = await kubelet.wait_pod(
        "noimg", lambda p: waiting_reason(p, "c") == "ErrImagePull", what="ErrImagePull"
    )
    assert (
        "jetkube-test/no-such-image:v9" in p["status"]["containerStatuses"][0]["state"]["waiting"]["message"]
    )
    p = await kubelet.wait_pod(
        "noimg", lambda p: waiting_reason(p, "c") == "ImagePullBackOff", timeout=20, what="ImagePullBackOff"
    )
    assert phase(p) == "Pending"
    await kubelet.wait_event("noimg", "Failed", contains="Failed to pull image")


async def test_command_that_does_not_exist(kubelet: KubeletHandle) -> None:
    await kubelet.create(pod("nocmd", [{"name": "c", "image": BUSYBOX, "command": ["/no/such/binary"]}]))
    seen: set[str] = set()

    def check(p: dict) -> bool:
        seen.add(waiting_reason(p, "c"))
        return "CrashLoopBackOff" in seen

    p = await kubelet.wait_pod("nocmd", check, timeout=40, what="CrashLoopBackOff")
    last = cstatus(p, "c")["lastState"]["terminated"]
    assert last["reason"] == "ContainerCannotRun" and "/no/such/binary" in last["message"]
    await kubelet.wait_event("nocmd", "Failed", contains="/no/such/binary")


async def test_host_port_already_taken(kubelet: KubeletHandle) -> None:
    import socket

    s = socket.socket()
    s.bind(("0.0.0.0", 0))
    s.listen()
    port = s.getsockname()[1]
    try:
        c = {
            "name": "c",
            "image": BUSYBOX,
            "command": ["sleep", "3600"],
            "ports": [{"containerPort": 80, "hostPort": port}],
        }
        await kubelet.create(pod("taken", [c]))
        p = await kubelet.wait_pod(
            "taken", lambda p: p["status"].get("reason") == "FailedCreatePodSandBox", what="reason"
        )
        assert str(port) in p["status"]["message"]
        assert waiting_reason(p, "c") == "ContainerCreating" and phase(p) == "Pending"
        await kubelet.wait_event("taken", "FailedCreatePodSandBox")
    finally:
        s.close()
    # once the port is free the pod starts
    await kubelet.wait_pod("taken", running, timeout=40, what="Running after the port was freed")


async def test_oom_killed_is_reported(kubelet: KubeletHandle) -> None:
    c = {
        "name": "c",
        "image": BUSYBOX,
        "command": ["sh", "-c", "x=a; while true; do x=$x$x; done"],
        "resources": {"limits": {"memory": "16Mi"}},
    }
    await kubelet.create(pod("oom", [c], restartPolicy="Never"))
    p = await kubelet.wait_pod("oom", lambda p: phase(p) == "Failed", timeout=60, what="Failed")
    assert cstatus(p, "c")["state"]["terminated"]["reason"] == "OOMKilled"


async def test_security_context_and_resources(kubelet: KubeletHandle) -> None:
    c = {
        "name": "c",
        "image": BUSYBOX,
        "command": ["sh", "-c", "id -u; touch /x 2>/dev/null && echo writable || echo read-only"],
        "securityContext": {"runAsUser": 1234, "readOnlyRootFilesystem": True},
        "resources": {"limits": {"cpu": "500m", "memory": "32Mi"}},
        "workingDir": "/tmp",
    }
    await kubelet.create(pod("sec", [c], restartPolicy="Never"))
    p = await kubelet.wait_pod("sec", lambda p: phase(p) == "Succeeded", what="Succeeded")
    assert p["status"]["qosClass"] == "Guaranteed"
    assert await kubelet.logs("sec") == ["1234", "read-only"]
    raw = await kubelet.runtime.inspect_raw((await kubelet.containers("sec"))[0].id)
    assert raw["HostConfig"]["Memory"] == 32 * 2**20 and raw["HostConfig"]["NanoCpus"] == 500_000_000
    assert raw["Config"]["WorkingDir"] == "/tmp"
