/*
 * main.c: longtail-server's command line.
 *
 *   longtail-server [/path/to/longtail.conf] [--option value ...]
 *   longtail-server --version | --help | --commands-markdown
 */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cmd/command.h"
#include "ds/alloc.h"
#include "server/config.h"
#include "ds/log.h"
#include "server/server.h"

static void usage(void)
{
    fprintf(stderr, "Usage: ./longtail-server [/path/to/longtail.conf] [options] [-]\n"
                    "       ./longtail-server - (read config from stdin)\n"
                    "       ./longtail-server -v or --version\n"
                    "       ./longtail-server -h or --help\n"
                    "       ./longtail-server --commands-markdown\n\n"
                    "Examples:\n"
                    "       ./longtail-server (run the server with default config)\n"
                    "       ./longtail-server /etc/longtail/6379.conf\n"
                    "       ./longtail-server --port 7777\n"
                    "       ./longtail-server --port 7777 --dir /var/lib/longtail --maxmemory 1gb\n"
                    "       ./longtail-server /etc/mylongtail.conf --loglevel verbose\n");
}

static void daemonize(void)
{
    if (fork() != 0)
        exit(0);
    setsid();
    int fd = open("/dev/null", O_RDWR);
    if (fd >= 0) {
        dup2(fd, STDIN_FILENO);
        dup2(fd, STDOUT_FILENO);
        dup2(fd, STDERR_FILENO);
        if (fd > STDERR_FILENO)
            close(fd);
    }
}

int main(int argc, char **argv)
{
    int first_opt = 1;
    if (argc >= 2) {
        if (!strcmp(argv[1], "-v") || !strcmp(argv[1], "--version")) {
            printf("longtail-server v=%s (Redis %s compatible)\n", LT_VERSION, LT_REDIS_VERSION);
            return 0;
        }
        if (!strcmp(argv[1], "-h") || !strcmp(argv[1], "--help")) {
            usage();
            return 0;
        }
        if (!strcmp(argv[1], "--commands-markdown")) {
            command_table_init();
            command_print_markdown();
            return 0;
        }
    }
    config_init_defaults();
    const char *conf = NULL;
    if (argc >= 2 && !(argv[1][0] == '-' && argv[1][1] == '-')) {
        conf = argv[1];
        first_opt = 2;
        char *abs = realpath(conf, NULL);
        server.configfile = abs ? abs : heap_strdup(conf);
    }
    if (config_load(conf, argc - first_opt, argv + first_opt) != 0)
        return 1;
    if (server.logfile[0] && log_set_file(server.logfile) < 0) {
        fprintf(stderr, "Can't open the log file: %s\n", server.logfile);
        return 1;
    }
    log_set_level(server.loglevel);
    if (server.daemonize)
        daemonize();
    log_notice("oO0OoO0OoO0Oo longtail is starting oO0OoO0OoO0Oo");
    log_notice("longtail version=%s, bits=%d, pid=%d, just started", LT_VERSION,
               (int)(sizeof(void *) * 8), (int)getpid());
    if (!conf)
        log_warning("Warning: no config file specified, using the default config. In order to "
                    "specify a config file use ./longtail-server /path/to/longtail.conf");
    if (server_init() != 0) {
        log_warning("Failed to start; exiting.");
        return 1;
    }
    if (server.pidfile[0]) {
        FILE *fp = fopen(server.pidfile, "w");
        if (fp) {
            fprintf(fp, "%d\n", (int)getpid());
            fclose(fp);
        }
    }
    log_notice("Server initialized");
    log_notice("Ready to accept connections tcp");
    server_run();
    return 0;
}
