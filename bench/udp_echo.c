/* The kernel's floor for the media benchmark: a bare UDP echo, one socket
 * per leg, one epoll loop, nothing else. Each datagram goes back to where it
 * came from. `recvfrom` reads until EAGAIN (what sip_rtp.c did before);
 * `recvmmsg` drains up to 16 per readiness event with one call (what it does
 * now), so the two modes measure what the batching is worth.
 *
 *   udp_echo recvfrom|recvmmsg FIRST_PORT COUNT [THREADS]
 * binds 127.0.0.1:FIRST_PORT.. (every second port, like RTP), runs until
 * SIGTERM, then prints its CPU time in microseconds. With THREADS > 1 the
 * sockets are dealt out to that many threads, each with its own epoll loop:
 * the floor for an engine that runs one worker per core.
 */

#include <arpa/inet.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#define BATCH 16

static volatile sig_atomic_t stop;
static void on_term(int sig) { (void)sig; stop = 1; }

static void echo_recvfrom(int fd) {
    char buf[2048];
    for (;;) {
        struct sockaddr_in from;
        socklen_t fl = sizeof from;
        ssize_t n = recvfrom(fd, buf, sizeof buf, MSG_DONTWAIT, (struct sockaddr *)&from, &fl);
        if (n < 0) return;
        sendto(fd, buf, (size_t)n, MSG_DONTWAIT, (struct sockaddr *)&from, fl);
    }
}

static void echo_recvmmsg(int fd) {
    static char bufs[BATCH][2048];
    struct sockaddr_in from[BATCH];
    struct iovec iov[BATCH];
    struct mmsghdr msgs[BATCH];
    memset(msgs, 0, sizeof msgs);
    for (int i = 0; i < BATCH; ++i) {
        iov[i].iov_base = bufs[i];
        iov[i].iov_len = sizeof bufs[i];
        msgs[i].msg_hdr.msg_iov = &iov[i];
        msgs[i].msg_hdr.msg_iovlen = 1;
        msgs[i].msg_hdr.msg_name = &from[i];
        msgs[i].msg_hdr.msg_namelen = sizeof from[i];
    }
    int got = recvmmsg(fd, msgs, BATCH, MSG_DONTWAIT, NULL);
    for (int i = 0; i < got; ++i)
        sendto(fd, bufs[i], msgs[i].msg_len, MSG_DONTWAIT, (struct sockaddr *)&from[i], msgs[i].msg_hdr.msg_namelen);
}

static int batch;

static void *echo_loop(void *arg) {
    int ep = (int)(intptr_t)arg;
    struct epoll_event evs[64];
    while (!stop) {
        int n = epoll_wait(ep, evs, 64, 200);
        for (int i = 0; i < n; ++i) {
            if (batch) echo_recvmmsg(evs[i].data.fd);
            else echo_recvfrom(evs[i].data.fd);
        }
    }
    return NULL;
}

int main(int argc, char **argv) {
    if (argc != 4 && argc != 5) {
        fprintf(stderr, "usage: udp_echo recvfrom|recvmmsg FIRST_PORT COUNT [THREADS]\n");
        return 2;
    }
    batch = strcmp(argv[1], "recvmmsg") == 0;
    int first = atoi(argv[2]), count = atoi(argv[3]);
    int threads = argc == 5 ? atoi(argv[4]) : 1;
    if (threads < 1 || threads > 64) threads = 1;
    signal(SIGTERM, on_term);
    int eps[64];
    for (int t = 0; t < threads; ++t) eps[t] = epoll_create1(0);
    for (int i = 0; i < count; ++i) {
        int fd = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK, 0);
        struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)(first + 2 * i))};
        inet_pton(AF_INET, "127.0.0.1", &a.sin_addr);
        if (bind(fd, (struct sockaddr *)&a, sizeof a) != 0) {
            perror("bind");
            return 1;
        }
        struct epoll_event ev = {.events = EPOLLIN, .data.fd = fd};
        epoll_ctl(eps[i % threads], EPOLL_CTL_ADD, fd, &ev);
    }
    printf("ready\n");
    fflush(stdout);
    pthread_t ids[64];
    for (int t = 1; t < threads; ++t) pthread_create(&ids[t], NULL, echo_loop, (void *)(intptr_t)eps[t]);
    echo_loop((void *)(intptr_t)eps[0]);
    for (int t = 1; t < threads; ++t) pthread_join(ids[t], NULL);
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    printf("cpu_us %lld\n", (long long)(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) * 1000000LL +
                                ru.ru_utime.tv_usec + ru.ru_stime.tv_usec);
    return 0;
}
