/* proxy-to-service: a stand-in for gcr.io/google_containers/proxy-to-service.
 *
 *   proxy-to-service tcp|udp PORT HOST [TIMEOUT]
 *
 * Listens on PORT (all addresses) and forwards to HOST:PORT, resolving HOST through the resolver
 * (/etc/hosts, then DNS) for every new connection (TCP) or client (UDP), so a Service whose
 * address changes is followed. TCP: one forked child per connection copies both directions until
 * both are closed. UDP: one upstream socket per client address; replies go back to that client;
 * a client idle for TIMEOUT seconds (default 60) is forgotten. SIGTERM/SIGINT exit 0. */
#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define MAX_SESSIONS 1024

static const char *g_host, *g_port;

static void on_stop(int sig) { (void)sig; _exit(0); }

static int listen_on(int type, int port) {
    int on = 1, off = 0;
    int s = socket(AF_INET6, type, 0);
    if (s >= 0) {
        setsockopt(s, IPPROTO_IPV6, IPV6_V6ONLY, &off, sizeof off);
        setsockopt(s, SOL_SOCKET, SO_REUSEADDR, &on, sizeof on);
        struct sockaddr_in6 a = {0};
        a.sin6_family = AF_INET6;
        a.sin6_port = htons(port);
        a.sin6_addr = in6addr_any;
        if (bind(s, (struct sockaddr *)&a, sizeof a) == 0) return s;
        close(s);
    }
    s = socket(AF_INET, type, 0);
    if (s < 0) return -1;
    setsockopt(s, SOL_SOCKET, SO_REUSEADDR, &on, sizeof on);
    struct sockaddr_in a4 = {0};
    a4.sin_family = AF_INET;
    a4.sin_port = htons(port);
    if (bind(s, (struct sockaddr *)&a4, sizeof a4) < 0) {
        close(s);
        return -1;
    }
    return s;
}

/* A socket connected to HOST:PORT, or -1. */
static int dial(int type) {
    struct addrinfo hints = {0}, *res, *ai;
    hints.ai_socktype = type;
    int rc = getaddrinfo(g_host, g_port, &hints, &res);
    if (rc != 0) {
        fprintf(stderr, "resolve %s: %s\n", g_host, gai_strerror(rc));
        return -1;
    }
    int s = -1;
    for (ai = res; ai; ai = ai->ai_next) {
        s = socket(ai->ai_family, ai->ai_socktype, ai->ai_protocol);
        if (s < 0) continue;
        if (connect(s, ai->ai_addr, ai->ai_addrlen) == 0) break;
        close(s);
        s = -1;
    }
    freeaddrinfo(res);
    if (s < 0) fprintf(stderr, "connect %s:%s: %s\n", g_host, g_port, strerror(errno));
    return s;
}

static void relay_tcp(int client) {
    int up = dial(SOCK_STREAM);
    if (up < 0) _exit(1);
    struct pollfd p[2] = {{client, POLLIN, 0}, {up, POLLIN, 0}};
    int open_in[2] = {1, 1};
    char buf[65536];
    while (open_in[0] || open_in[1]) {
        if (poll(p, 2, -1) < 0) {
            if (errno == EINTR) continue;
            break;
        }
        for (int i = 0; i < 2; i++) {
            if (!open_in[i] || !(p[i].revents & (POLLIN | POLLHUP | POLLERR))) continue;
            int from = p[i].fd, to = p[1 - i].fd;
            ssize_t n = read(from, buf, sizeof buf);
            if (n <= 0) {
                open_in[i] = 0;
                p[i].fd = -1;
                shutdown(to, SHUT_WR);
                continue;
            }
            for (ssize_t off = 0; off < n;) {
                ssize_t w = write(to, buf + off, n - off);
                if (w <= 0) _exit(0);
                off += w;
            }
        }
    }
    _exit(0);
}

static int serve_tcp(int port) {
    int s = listen_on(SOCK_STREAM, port);
    if (s < 0 || listen(s, 128) < 0) {
        perror("listen tcp");
        return 1;
    }
    struct sigaction sa = {0};
    sa.sa_handler = SIG_IGN;
    sa.sa_flags = SA_NOCLDWAIT;
    sigaction(SIGCHLD, &sa, NULL);
    fprintf(stderr, "proxying tcp :%d -> %s:%s\n", port, g_host, g_port);
    for (;;) {
        int c = accept(s, NULL, NULL);
        if (c < 0) continue;
        pid_t pid = fork();
        if (pid == 0) {
            close(s);
            relay_tcp(c);
        }
        close(c);
    }
}

struct session {
    struct sockaddr_storage client;
    socklen_t len;
    int up;
    time_t last;
};

static int serve_udp(int port, int timeout) {
    int s = listen_on(SOCK_DGRAM, port);
    if (s < 0) {
        perror("bind udp");
        return 1;
    }
    static struct session ss[MAX_SESSIONS];
    static struct pollfd p[MAX_SESSIONS + 1];
    int n = 0;
    char buf[65536];
    fprintf(stderr, "proxying udp :%d -> %s:%s (timeout %ds)\n", port, g_host, g_port, timeout);
    for (;;) {
        p[0].fd = s;
        p[0].events = POLLIN;
        for (int i = 0; i < n; i++) {
            p[i + 1].fd = ss[i].up;
            p[i + 1].events = POLLIN;
            p[i + 1].revents = 0;
        }
        p[0].revents = 0;
        int rc = poll(p, n + 1, 1000);
        time_t now = time(NULL);
        if (rc < 0 && errno != EINTR) return 1;
        if (rc > 0 && (p[0].revents & POLLIN)) {
            struct sockaddr_storage from;
            socklen_t flen = sizeof from;
            ssize_t got = recvfrom(s, buf, sizeof buf, 0, (struct sockaddr *)&from, &flen);
            if (got >= 0) {
                int k;
                for (k = 0; k < n; k++)
                    if (ss[k].len == flen && memcmp(&ss[k].client, &from, flen) == 0) break;
                if (k == n && n < MAX_SESSIONS) {
                    int up = dial(SOCK_DGRAM);
                    if (up >= 0) {
                        ss[n].client = from;
                        ss[n].len = flen;
                        ss[n].up = up;
                        n++;
                    }
                }
                if (k < n) {
                    ss[k].last = now;
                    (void)!send(ss[k].up, buf, got, 0);
                }
            }
        }
        for (int i = 0; rc > 0 && i < n; i++) {
            if (!(p[i + 1].revents & POLLIN) || p[i + 1].fd != ss[i].up) continue;
            ssize_t got = recv(ss[i].up, buf, sizeof buf, 0);
            if (got >= 0) {
                ss[i].last = now;
                sendto(s, buf, got, 0, (struct sockaddr *)&ss[i].client, ss[i].len);
            }
        }
        for (int i = 0; i < n;) {
            if (now - ss[i].last > timeout) {
                close(ss[i].up);
                ss[i] = ss[--n];
            } else {
                i++;
            }
        }
    }
}

int main(int argc, char **argv) {
    if (argc < 4 || (strcmp(argv[1], "tcp") != 0 && strcmp(argv[1], "udp") != 0)) {
        fprintf(stderr, "usage: %s tcp|udp PORT HOST [TIMEOUT]\n", argv[0]);
        return 2;
    }
    signal(SIGTERM, on_stop);
    signal(SIGINT, on_stop);
    signal(SIGPIPE, SIG_IGN);
    int port = atoi(argv[2]);
    g_port = argv[2];
    g_host = argv[3];
    int timeout = argc > 4 ? atoi(argv[4]) : 60;
    if (timeout <= 0) timeout = 60;
    setvbuf(stderr, NULL, _IOLBF, 0);
    return strcmp(argv[1], "tcp") == 0 ? serve_tcp(port) : serve_udp(port, timeout);
}
