from actors.kubelet import labels as L
from actors.kubelet import naming


def test_container_labels_carry_what_adoption_needs():
    labels = L.container_labels(
        "node-a", "default", "web", "uid-1", "nginx", 3, sandbox_id="sb1", termination_message_path="/dev/t"
    )
    assert labels == {
        "io.jetkube.node": "node-a",
        "io.jetkube.pod.namespace": "default",
        "io.jetkube.pod.name": "web",
        "io.jetkube.pod.uid": "uid-1",
        "io.jetkube.container.name": "nginx",
        "io.jetkube.container.attempt": "3",
        "io.jetkube.type": "container",
        "io.jetkube.sandbox.id": "sb1",
        "io.jetkube.container.termination-message-path": "/dev/t",
    }


def test_extra_labels_cannot_override_ours():
    labels = L.container_labels(
        "n", "ns", "p", "u", "c", 0, sandbox_id="s", extra={L.NODE: "other", "x": "y"}
    )
    assert labels[L.NODE] == "n" and labels["x"] == "y"


def test_sandbox_labels():
    labels = L.sandbox_labels("n", "ns", "p", "u")
    assert labels[L.TYPE] == "sandbox" and labels[L.CONTAINER_NAME] == "POD"


def test_list_filters():
    assert L.list_filters("n") == {"label": ["io.jetkube.node=n"]}
    assert L.list_filters("n", "u", "sandbox") == {
        "label": ["io.jetkube.node=n", "io.jetkube.pod.uid=u", "io.jetkube.type=sandbox"]
    }


def test_name_is_readable_valid_and_unique_per_uid_and_attempt():
    a = naming.container_name("node.1", "default", "web", "nginx", "0d5a2f6e-aaaa-bbbb", 0)
    assert a == "jk_node.1_default_web_nginx_0d5a2f6e_0"
    assert naming.container_name("node.1", "default", "web", "nginx", "11111111-aaaa", 0) != a
    assert naming.container_name("node.1", "default", "web", "nginx", "0d5a2f6e-aaaa-bbbb", 1) != a


def test_name_sanitises_separators_and_odd_characters():
    name = naming.container_name("my_node:x", "ns", "p", "c", "u", 2)
    assert name == "jk_my-node-x_ns_p_c_u_2"
    assert naming.parse_container_name("/" + name) == {
        "node": "my-node-x",
        "namespace": "ns",
        "pod": "p",
        "container": "c",
        "uid8": "u",
        "attempt": "2",
    }
    assert naming.parse_container_name("random") is None
