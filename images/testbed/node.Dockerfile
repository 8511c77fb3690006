# A test-bed node's host: Debian bookworm with its own Docker engine (docker.io), iptables and
# iproute2, and jetkube copied from the jetkube image (the same files, not a second install), for
# the node's service proxy. The kubelet runs in a container of the jetkube image that shares this
# container's network namespace and talks to this engine (compose.yaml).
ARG JETKUBE=jetkube/jetkube:testbed
FROM ${JETKUBE} AS jetkube

FROM jetkube/testbed-node-base:bookworm
COPY --from=jetkube /usr/local/ /usr/local/
COPY node-entrypoint.sh /usr/local/bin/jetkube-node
ENV PYTHONUNBUFFERED=1 DOCKER_HOST=unix:///run/jetkube-node/docker.sock
VOLUME /var/lib/docker
ENTRYPOINT ["/usr/local/bin/jetkube-node"]
