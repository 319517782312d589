/* SPDX-License-Identifier: Apache-2.0 */
/*
 * cmd_serve.c — `pmirror serve --fixture FILE --listen ADDR`: a recorded backend that
 * answers from a capture or result file (replay/serve*.c does the work). This file
 * handles the arguments, the start line (and --port-file, for scripts that listen on
 * port 0), and the end: SIGINT or SIGTERM stops it, with the answered/unmatched counts.
 *
 * The signals are blocked before the server's threads start and taken with sigwait()
 * here, so no handler and no global state are needed.
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "replay/replay.h"

int cmd_serve(int argc, char **argv)
{
    const char *fixture = NULL, *listen_addr = NULL, *target = NULL, *port_file = NULL, *tls_cert = NULL,
               *tls_key = NULL;
    long delay_ms = 0;
    bool recorded_latency = false, quiet = false;
    const cli_opt opts[] = {
        CLI_OPT_STRING('f', "fixture", &fixture, "FILE", "capture or result file to answer from (.gz or plain)"),
        CLI_OPT_STRING('l', "listen", &listen_addr, "ADDR",
         "127.0.0.1:PORT, [::1]:PORT or :PORT (loopback); port 0 = any free port; or unix:/PATH"),
        CLI_OPT_STRING(0, "target", &target, "NAME", "result files: serve this target's responses"),
        CLI_OPT_INT(0, "delay-ms", &delay_ms, 0, 3600 * 1000, "wait N ms before every answer (a slow backend)"),
        CLI_OPT_FLAG(0, "recorded-latency", &recorded_latency, "wait each exchange's recorded latency_us"),
        CLI_OPT_STRING(0, "tls-cert", &tls_cert, "FILE",
                       "serve HTTPS with this PEM certificate (chain first), standing in for an HTTPS target"),
        CLI_OPT_STRING(0, "tls-key", &tls_key, "FILE", "... and this PEM key (default: in --tls-cert)"),
        CLI_OPT_STRING(0, "port-file", &port_file, "FILE", "write the bound port number to FILE"),
        CLI_OPT_FLAG('q', "quiet", &quiet, "no start and end lines"),
        CLI_OPT_END,
    };
    const cli_command cmd = {
        "serve", "--fixture FILE --listen ADDR [--target NAME] [--delay-ms N] [--tls-cert F --tls-key F] [--port-file FILE]",
        "A recorded backend: answers each request with the recorded response of the same\n"
        "method and target (in recorded order when one was recorded several times; the\n"
        "request body's hash decides between different bodies; then the target without\n"
        "_state, then the path without query). Date is now, absolute Locations point here,\n"
        "upload UUIDs are fresh and read back in later requests. Unmatched requests get a\n"
        "JSON 404. Runs until SIGINT or SIGTERM.",
        "Binds loopback unless the address names another (0.0.0.0:PORT for every interface).\n"
        "Exit codes: 0 stopped by a signal, 2 bad arguments, fixture or address.",
        opts, 0, 0};
    cli_list args;
    int rc = cli_parse(&cmd, argc, argv, &args);
    if (rc != CLI_OK)
        return rc < 0 ? CLI_OK : rc;
    cli_list_free(&args);
    if (!fixture)
        return cli_fail("serve", "--fixture FILE is required");
    if (!listen_addr)
        return cli_fail("serve", "--listen ADDR is required (e.g. 127.0.0.1:8001, or :0 for any free port)");
    if (tls_key && !tls_cert)
        return cli_fail("serve", "--tls-key needs --tls-cert");

    sigset_t stop_signals, previous;
    sigemptyset(&stop_signals);
    sigaddset(&stop_signals, SIGINT);
    sigaddset(&stop_signals, SIGTERM);
    pthread_sigmask(SIG_BLOCK, &stop_signals, &previous); /* inherited by the server's threads */
    replay_serve_options o = {.fixture = fixture, .listen = listen_addr, .target = target,
                              .delay_ms = (unsigned)delay_ms, .recorded_latency = recorded_latency,
                              .tls_cert = tls_cert, .tls_key = tls_key};
    pm_err err;
    replay_server *s = replay_serve_start(&o, &err);
    if (!s) {
        pthread_sigmask(SIG_SETMASK, &previous, NULL);
        return cli_fail("serve", "%s", err.msg);
    }
    if (port_file && cli_write_port_file("serve", port_file, replay_serve_port(s)) != CLI_OK) {
        replay_serve_stop(s);
        pthread_sigmask(SIG_SETMASK, &previous, NULL);
        return CLI_USAGE;
    }
    if (replay_serve_warning(s))
        fprintf(stderr, "pmirror serve: warning: %s\n", replay_serve_warning(s));
    if (!quiet)
        fprintf(stderr, "pmirror serve: %s answers from %s (%zu exchanges, %zu skipped)\n", replay_serve_url(s),
                fixture, replay_serve_count(s), replay_serve_skipped(s));
    int sig = 0;
    while (sigwait(&stop_signals, &sig) != 0)
        ;
    unsigned long long answered = replay_serve_answered(s), unmatched = replay_serve_unmatched(s);
    replay_serve_stop(s);
    pthread_sigmask(SIG_SETMASK, &previous, NULL);
    if (!quiet)
        fprintf(stderr, "pmirror serve: stopped by %s: %llu answered, %llu unmatched\n",
                sig == SIGINT ? "SIGINT" : "SIGTERM", answered, unmatched);
    return CLI_OK;
}
