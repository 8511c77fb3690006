/* liveness: behaves like gcr.io/google_containers/liveness's /server. Listens on :8080; GET
 * /healthz answers 200 "ok" for the first 10 seconds after start and 500 "error: ..." after; any
 * other path answers 200 "ok" too, like the original's "/" handler. */
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

static void on_stop(int sig) { (void)sig; _exit(0); }

static double now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec / 1e9;
}

static void answer(int fd, double started) {
    char req[4096];
    ssize_t n = 0, got;
    /* read until the end of the request headers (or the buffer is full) */
    while (n < (ssize_t)sizeof(req) - 1) {
        got = read(fd, req + n, sizeof(req) - 1 - n);
        if (got <= 0) break;
        n += got;
        req[n] = 0;
        if (strstr(req, "\r\n\r\n") || strstr(req, "\n\n")) break;
    }
    req[n > 0 ? n : 0] = 0;
    char method[16] = "", path[1024] = "";
    sscanf(req, "%15s %1023s", method, path);
    char *q = strchr(path, '?');
    if (q) *q = 0;
    double age = now() - started;
    int code = 200;
    char body[256];
    if (strcmp(path, "/healthz") == 0 && age > 10.0) {
        code = 500;
        snprintf(body, sizeof body, "error: %.9g", age);
    } else {
        snprintf(body, sizeof body, "ok");
    }
    char resp[512];
    int len = snprintf(resp, sizeof resp,
                       "HTTP/1.1 %d %s\r\nContent-Type: text/plain; charset=utf-8\r\n"
                       "Content-Length: %zu\r\nConnection: close\r\n\r\n%s",
                       code, code == 200 ? "OK" : "Internal Server Error", strlen(body),
                       strcmp(method, "HEAD") == 0 ? "" : body);
    (void)!write(fd, resp, len);
}

int main(void) {
    double started = now();
    signal(SIGTERM, on_stop);
    signal(SIGINT, on_stop);
    signal(SIGPIPE, SIG_IGN);
    int s = socket(AF_INET6, SOCK_STREAM, 0);
    int off = 0, on = 1;
    setsockopt(s, IPPROTO_IPV6, IPV6_V6ONLY, &off, sizeof off);
    setsockopt(s, SOL_SOCKET, SO_REUSEADDR, &on, sizeof on);
    struct sockaddr_in6 addr = {0};
    addr.sin6_family = AF_INET6;
    addr.sin6_port = htons(8080);
    addr.sin6_addr = in6addr_any;
    if (bind(s, (struct sockaddr *)&addr, sizeof addr) < 0) {
        /* no IPv6 in this namespace: fall back to IPv4 */
        close(s);
        s = socket(AF_INET, SOCK_STREAM, 0);
        setsockopt(s, SOL_SOCKET, SO_REUSEADDR, &on, sizeof on);
        struct sockaddr_in a4 = {0};
        a4.sin_family = AF_INET;
        a4.sin_port = htons(8080);
        if (bind(s, (struct sockaddr *)&a4, sizeof a4) < 0) {
            perror("bind :8080");
            return 1;
        }
    }
    if (listen(s, 64) < 0) {
        perror("listen");
        return 1;
    }
    fprintf(stderr, "listening on :8080\n");
    for (;;) {
        int c = accept(s, NULL, NULL);
        if (c < 0) continue;
        struct timeval tv = {5, 0};
        setsockopt(c, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
        answer(c, started);
        shutdown(c, SHUT_WR);
        close(c);
    }
}
