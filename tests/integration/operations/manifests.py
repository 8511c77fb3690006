"""The old-version manifests the upgrade test starts from."""

OLD = """
apiVersion: extensions/v1beta1
kind: Deployment
metadata:
  name: frontend
spec:
  replicas: 2
  template:
    metadata:
      labels: {app: frontend}
    spec:
      containers:
      - {name: web, image: nginx}
---
apiVersion: apps/v1beta2
kind: ReplicaSet
metadata:
  name: cache
spec:
  replicas: 1
  selector: {matchLabels: {app: cache}}
  template:
    metadata:
      labels: {app: cache}
    spec:
      containers:
      - {name: cache, image: busybox, command: [sleep, "3600"]}
---
apiVersion: batch/v1beta1
kind: CronJob
metadata:
  name: tick
spec:
  schedule: "0 0 1 1 *"
  jobTemplate:
    spec:
      template:
        spec:
          restartPolicy: Never
          containers:
          - {name: tick, image: busybox, command: [date]}
---
apiVersion: v1
kind: Service
metadata:
  name: frontend
spec:
  selector: {app: frontend}
  ports: [{port: 80}]
"""

ALPHA_CRONJOB = """
apiVersion: batch/v2alpha1
kind: CronJob
metadata:
  name: alpha
spec:
  schedule: "0 0 1 1 *"
  jobTemplate:
    spec:
      template:
        spec:
          restartPolicy: Never
          containers:
          - {name: a, image: busybox}
"""
