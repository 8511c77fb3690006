from actors.kubelet.docker_config import container_config, sandbox_config
from actors.kubelet.ports import PortMapping
from actors.kubelet.types import DnsSettings, Mount

POD = {
    "metadata": {"name": "web", "namespace": "prod", "uid": "abcdef12-3456"},
    "spec": {"nodeName": "n1", "securityContext": {"runAsUser": 1000}},
}


def test_sandbox_publishes_host_ports_and_sets_dns_and_hostname():
    name, cfg = sandbox_config(
        node="n1",
        namespace="prod",
        pod_name="web",
        pod_uid="abcdef12-3456",
        hostname="web",
        ports=[PortMapping(53, 5353, "UDP")],
        dns=DnsSettings(servers=("10.0.0.10",), searches=("prod.svc.cluster.local",), options=("ndots:5",)),
    )
    assert name == "jk_n1_prod_web_POD_abcdef12_0"
    assert cfg["Image"] == "jetkube/pause:latest"
    assert cfg["Hostname"] == "web"
    assert cfg["ExposedPorts"] == {"53/udp": {}}
    host = cfg["HostConfig"]
    assert host["PortBindings"] == {"53/udp": [{"HostIp": "", "HostPort": "5353"}]}
    assert host["Dns"] == ["10.0.0.10"] and host["DnsSearch"] == ["prod.svc.cluster.local"]
    assert host["DnsOptions"] == ["ndots:5"]
    assert host["NetworkMode"] == "bridge" and host["IpcMode"] == "shareable"
    assert cfg["Labels"]["io.jetkube.type"] == "sandbox"


def test_sandbox_asks_a_user_defined_network_for_the_address_the_pod_had():
    kw = {"node": "n1", "namespace": "p", "pod_name": "w", "pod_uid": "u", "hostname": "w"}
    kw["ip"] = "10.244.1.7"
    _, cfg = sandbox_config(network="podnet", **kw)
    endpoint = {"IPAMConfig": {"IPv4Address": "10.244.1.7"}}
    assert cfg["NetworkingConfig"] == {"EndpointsConfig": {"podnet": endpoint}}
    for network in (None, "bridge", "host", "none"):  # Docker refuses an address on these
        _, cfg = sandbox_config(network=network, **kw)
        assert "NetworkingConfig" not in cfg, network


def test_sandbox_on_host_network_sets_no_hostname_or_ports():
    _, cfg = sandbox_config(
        node="n1",
        namespace="p",
        pod_name="w",
        pod_uid="u",
        hostname="w",
        ports=[PortMapping(80, 80)],
        network="host",
    )
    assert "Hostname" not in cfg and "PortBindings" not in cfg["HostConfig"]


def test_container_joins_sandbox_and_maps_everything():
    container = {
        "name": "app",
        "image": "busybox",
        "command": ["sh", "-c"],
        "args": ["echo $(X)"],
        "workingDir": "/tmp",
        "tty": True,
        "stdin": True,
        "env": [{"name": "A", "value": "1"}, {"name": "B", "valueFrom": {"fieldRef": {}}}],
        "resources": {"limits": {"memory": "32Mi"}},
        "securityContext": {"readOnlyRootFilesystem": True},
    }
    name, cfg = container_config(
        node="n1",
        pod=POD,
        container=container,
        sandbox_id="sbx",
        attempt=2,
        mounts=[Mount("/h/data", "/data", read_only=True)],
        termination_message_host_path="/state/tl",
    )
    assert name == "jk_n1_prod_web_app_abcdef12_2"
    assert cfg["Entrypoint"] == ["sh", "-c"] and cfg["Cmd"] == ["echo $(X)"]
    assert cfg["Env"] == ["A=1"]
    assert cfg["WorkingDir"] == "/tmp" and cfg["Tty"] and cfg["OpenStdin"]
    assert cfg["User"] == "1000"
    host = cfg["HostConfig"]
    assert host["NetworkMode"] == "container:sbx" and host["IpcMode"] == "container:sbx"
    assert "PidMode" not in host
    assert host["Binds"] == ["/h/data:/data:ro", "/state/tl:/dev/termination-log:rw"]
    assert host["Memory"] == host["MemorySwap"] == 32 * 2**20
    assert host["ReadonlyRootfs"] is True
    assert cfg["Labels"]["io.jetkube.container.attempt"] == "2"
    assert cfg["Labels"]["io.jetkube.container.termination-message-path"] == "/dev/termination-log"


def test_args_only_keep_the_image_entrypoint_and_command_only_clears_cmd():
    _, cfg = container_config(
        node="n",
        pod=POD,
        container={"name": "c", "image": "i", "args": ["/server"]},
        sandbox_id="s",
        attempt=0,
    )
    assert "Entrypoint" not in cfg and cfg["Cmd"] == ["/server"]
    _, cfg = container_config(
        node="n",
        pod=POD,
        container={"name": "c", "image": "i", "command": ["env"]},
        sandbox_id="s",
        attempt=0,
    )
    assert cfg["Entrypoint"] == ["env"] and cfg["Cmd"] == []


def test_resolved_env_and_shared_pid_namespace():
    pod = {**POD, "spec": {**POD["spec"], "shareProcessNamespace": True}}
    _, cfg = container_config(
        node="n",
        pod=pod,
        container={"name": "c", "image": "i"},
        sandbox_id="s",
        attempt=0,
        env={"MY_POD_NAME": "web"},
    )
    assert cfg["Env"] == ["MY_POD_NAME=web"]
    assert cfg["HostConfig"]["PidMode"] == "container:s"
