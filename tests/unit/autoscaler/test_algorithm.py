"""The HPA's decision as tables: samples, current replicas, behavior, time -> desired and reason.

Cases follow Kubernetes' replica_calculator_test.go and horizontal_test.go where they exist.
"""

from __future__ import annotations

import pytest

from actors.autoscaler.algorithm import (
    MetricError,
    PodSample,
    Recommendation,
    ScaleEvent,
    normalize,
    recommend,
    resource_proposal,
)


def pods(*usages: float | None, request: float = 1000, ready: tuple[bool, ...] = ()) -> list[PodSample]:
    return [
        PodSample(f"p{i}", ready[i] if i < len(ready) else True, request, u) for i, u in enumerate(usages)
    ]


@pytest.mark.parametrize(
    ("current", "samples", "target", "desired"),
    [
        (3, pods(900, 900, 900), 50, 6),  # 90% against 50%: ceil(1.8 * 3)
        (3, pods(500, 500, 500), 50, 3),  # on target
        (3, pods(540, 540, 540), 50, 3),  # 8% above: within the 10% tolerance
        (3, pods(560, 560, 560), 50, 4),  # 12% above: ceil(1.12 * 3) = 4
        (4, pods(100, 100, 100, 100), 50, 1),  # 10%: ceil(0.2 * 4)
        (5, pods(200, 200, 200, 200, 200), 50, 2),
        # a pod without a sample, scaling up: it counts as idle, which damps the change
        (3, pods(1000, 1000, None), 50, 4),  # 100% over 2; with the missing at 0: 66.7% -> ceil(1.33*3)
        # a pod without a sample, scaling down: it counts as fully busy (100% of its request)
        (3, pods(100, 100, None), 50, 3),  # 10% -> with it at 100%: 40%, ratio 0.8 -> ceil(2.4) = 3
        (4, pods(100, 100, 100, None), 50, 3),  # 47.5%/50 -> ... 32.5%: ratio .65 * 4 = 2.6 -> 3
        # missing data that flips the direction keeps the count
        (2, pods(600, None), 50, 2),  # 120% up; with the missing at 0: 30%, down: keep 2
        # not-ready pods (CPU) are left out going up, and count as idle when they would amplify it
        (3, pods(1000, 1000, 1000, ready=(True, True, False)), 50, 4),  # 200% on 2 ready; +1 at 0: 133%
        (3, pods(100, 100, 1000, ready=(True, True, False)), 50, 1),  # going down: unready ignored
    ],
)
def test_cpu_utilization(current, samples, target, desired):
    assert resource_proposal(current, samples, target, None, "cpu").replicas == desired


def test_memory_counts_unready_pods_and_average_value():
    unready = pods(800, 800, ready=(True, False), request=1000)
    assert resource_proposal(2, unready, 40, None, "memory").replicas == 4  # 80%/40% * 2
    assert resource_proposal(2, pods(300, 300), None, 100.0, "memory").replicas == 6  # avg 300 / 100 * 2


@pytest.mark.parametrize(
    ("samples", "target", "reason", "words"),
    [
        (pods(None, None), 50, "FailedGetResourceMetric", "no metrics returned"),
        (pods(100, 100, request=0), 50, "FailedGetResourceMetric", "missing request for cpu"),
        (pods(100, ready=(False,)), 50, "FailedGetResourceMetric", "no ready pods"),
    ],
)
def test_metric_errors(samples, target, reason, words):
    with pytest.raises(MetricError) as err:
        resource_proposal(len(samples), samples, target, None, "cpu")
    assert err.value.reason == reason and words in err.value.message


def cpu_spec(target: int = 50) -> dict:
    return {
        "metrics": [
            {
                "type": "Resource",
                "resource": {"name": "cpu", "target": {"type": "Utilization", "averageUtilization": target}},
            }
        ]
    }


def test_recommend_takes_the_largest_metric_and_says_why():
    spec = cpu_spec()
    spec["metrics"].append(
        {
            "type": "Resource",
            "resource": {"name": "memory", "target": {"type": "AverageValue", "averageValue": "100"}},
        }
    )
    samples = {"cpu": pods(900, 900), "memory": pods(100, 100)}
    replicas, reason, each = recommend(2, spec, samples)
    assert (replicas, reason) == (4, "cpu resource utilization (percentage of request) above target")
    assert [p.replicas for _, p in each] == [4, 2] and each[0][1].utilization == 90
    replicas, reason, _ = recommend(
        4, spec, {"cpu": pods(100, 100, 100, 100), "memory": pods(10, 10, 10, 10)}
    )
    assert (replicas, reason) == (1, "All metrics below target")


def test_recommend_fails_when_no_metric_can_be_read():
    with pytest.raises(MetricError):
        recommend(2, cpu_spec(), {"cpu": pods(None, None)})


FAST_DOWN = {"scaleDown": {"stabilizationWindowSeconds": 30}}
NOW = 1000.0


@pytest.mark.parametrize(
    ("current", "proposed", "bounds", "behavior", "history", "events", "desired", "reason"),
    [
        # min/max
        (3, 12, (1, 10), None, [], [], 7, "ScaleUpLimit"),  # default up: the larger of +4 pods and +100%
        (3, 2, (3, 10), FAST_DOWN, [], [], 3, "TooFewReplicas"),
        (8, 12, (1, 10), None, [], [], 10, "TooManyReplicas"),
        # scale down waits for the window: the highest recommendation of the last 30 s wins
        (5, 2, (1, 10), FAST_DOWN, [Recommendation(NOW - 10, 5)], [], 5, "ScaleDownStabilized"),
        (5, 2, (1, 10), FAST_DOWN, [Recommendation(NOW - 10, 4)], [], 4, "ScaleDownStabilized"),
        (5, 2, (1, 10), FAST_DOWN, [Recommendation(NOW - 40, 5)], [], 2, "DesiredWithinRange"),
        # the default down window is 5 minutes
        (5, 2, (1, 10), None, [Recommendation(NOW - 200, 5)], [], 5, "ScaleDownStabilized"),
        # a scale-up window takes the lowest recommendation in it
        (
            2,
            6,
            (1, 10),
            {"scaleUp": {"stabilizationWindowSeconds": 60}},
            [Recommendation(NOW - 30, 3)],
            [],
            3,
            "ScaleUpStabilized",
        ),
        # policies: one pod per minute, and what was added this minute counts
        (
            2,
            6,
            (1, 10),
            {"scaleUp": {"policies": [{"type": "Pods", "value": 1, "periodSeconds": 60}]}},
            [],
            [],
            3,
            "ScaleUpLimit",
        ),
        (
            3,
            6,
            (1, 10),
            {"scaleUp": {"policies": [{"type": "Pods", "value": 1, "periodSeconds": 60}]}},
            [],
            [ScaleEvent(NOW - 20, 1)],
            3,
            "ScaleUpLimit",
        ),
        (
            3,
            6,
            (1, 10),
            {"scaleUp": {"policies": [{"type": "Pods", "value": 1, "periodSeconds": 60}]}},
            [],
            [ScaleEvent(NOW - 70, 1)],
            4,
            "ScaleUpLimit",
        ),
        # Percent down, Min picks the policy that changes least
        (
            10,
            1,
            (1, 20),
            {
                "scaleDown": {
                    "stabilizationWindowSeconds": 0,
                    "selectPolicy": "Min",
                    "policies": [
                        {"type": "Percent", "value": 50, "periodSeconds": 60},
                        {"type": "Pods", "value": 2, "periodSeconds": 60},
                    ],
                }
            },
            [],
            [],
            8,
            "ScaleDownLimit",
        ),
        (
            10,
            1,
            (1, 20),
            {
                "scaleDown": {
                    "stabilizationWindowSeconds": 0,
                    "policies": [
                        {"type": "Percent", "value": 50, "periodSeconds": 60},
                        {"type": "Pods", "value": 2, "periodSeconds": 60},
                    ],
                }
            },
            [],
            [],
            5,
            "ScaleDownLimit",
        ),
        # Disabled: no scaling in that direction
        (4, 8, (1, 10), {"scaleUp": {"selectPolicy": "Disabled"}}, [], [], 4, "ScaleUpLimit"),
    ],
)
def test_normalize(current, proposed, bounds, behavior, history, events, desired, reason):
    got = normalize(current, proposed, bounds[0], bounds[1], behavior, history, events, NOW)
    assert (got.replicas, got.reason) == (desired, reason)
    assert got.recommendations[-1] == Recommendation(NOW, proposed)
