// fntrace: runs a program and writes the address of every function it enters, once, in the order they are first
// entered. Used by scripts/link-order.sh to lay out the servers' hot code together (see that script).
//
//   fntrace ADDRESSES OUT PROGRAM [ARGS...]
//
// ADDRESSES lists the program's function start addresses (hexadecimal, as in its symbol table, one per line).
// Every start is overwritten with a breakpoint (int3) before the program runs; the first thread to reach one
// is stopped, the address is written to OUT, the original byte is put back and the thread goes on. After that
// the function runs at full speed, so a traced program slows down only while it meets new code.
// SIGTERM and SIGINT sent to fntrace are passed to the program; fntrace ends when the program does.
// Linux x86-64 only (ptrace, /proc/PID/mem).
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ptrace.h>
#include <sys/user.h>
#include <sys/wait.h>
#include <unistd.h>

typedef struct {
    uint64_t address;
    unsigned char original;
    int entered;
} Function;

static Function *functions;
static size_t count;
static volatile pid_t child;

static int compare(const void *a, const void *b) {
    uint64_t x = ((const Function *)a)->address, y = ((const Function *)b)->address;
    return x < y ? -1 : x > y;
}

static Function *lookup(uint64_t address) {
    size_t low = 0, high = count;
    while (low < high) {
        size_t middle = low + (high - low) / 2;
        if (functions[middle].address < address) low = middle + 1; else high = middle;
    }
    return low < count && functions[low].address == address ? &functions[low] : NULL;
}

static void forward(int signal) {
    if (child > 0) kill(child, signal);
}

static int fail(const char *what) {
    perror(what);
    if (child > 0) kill(child, SIGKILL);
    return 1;
}

int main(int argc, char **argv) {
    if (argc < 4) {
        fprintf(stderr, "usage: fntrace ADDRESSES OUT PROGRAM [ARGS...]\n");
        return 2;
    }
    FILE *list = fopen(argv[1], "r");
    if (!list) return fail(argv[1]);
    size_t capacity = 1 << 16;
    functions = malloc(capacity * sizeof *functions);
    unsigned long long address;
    while (fscanf(list, "%llx", &address) == 1) {
        if (count == capacity) functions = realloc(functions, (capacity *= 2) * sizeof *functions);
        functions[count++] = (Function){address, 0, 0};
    }
    fclose(list);
    qsort(functions, count, sizeof *functions, compare);
    size_t unique = 0;
    for (size_t i = 0; i < count; i++) {
        if (unique == 0 || functions[unique - 1].address != functions[i].address) functions[unique++] = functions[i];
    }
    count = unique;
    FILE *out = fopen(argv[2], "w");
    if (!out) return fail(argv[2]);

    child = fork();
    if (child < 0) return fail("fork");
    if (child == 0) {
        ptrace(PTRACE_TRACEME, 0, 0, 0);
        execv(argv[3], argv + 3);
        perror(argv[3]);
        _exit(127);
    }
    // The program keeps the signal mask it was given; fntrace itself must receive the signals it passes on.
    sigset_t passed;
    sigemptyset(&passed);
    sigaddset(&passed, SIGTERM);
    sigaddset(&passed, SIGINT);
    signal(SIGTERM, forward);
    signal(SIGINT, forward);
    sigprocmask(SIG_UNBLOCK, &passed, NULL);
    int status;
    if (waitpid(child, &status, 0) < 0 || !WIFSTOPPED(status)) return fail("exec");
    ptrace(PTRACE_SETOPTIONS, child, 0, PTRACE_O_TRACECLONE | PTRACE_O_EXITKILL);

    // The load address: the program's first mapping starts at file offset 0.
    char path[64], executable[4096], line[8192];
    snprintf(path, sizeof path, "/proc/%d/exe", (int)child);
    ssize_t length = readlink(path, executable, sizeof executable - 1);
    if (length < 0) return fail(path);
    executable[length] = 0;
    snprintf(path, sizeof path, "/proc/%d/maps", (int)child);
    FILE *maps = fopen(path, "r");
    if (!maps) return fail(path);
    uint64_t base = 0;
    int found = 0;
    while (!found && fgets(line, sizeof line, maps)) {
        unsigned long start, end, offset;
        char name[4096] = "";
        if (sscanf(line, "%lx-%lx %*s %lx %*s %*s %4095s", &start, &end, &offset, name) >= 3 && strcmp(name, executable) == 0) {
            base = start - offset;
            found = 1;
        }
    }
    fclose(maps);
    if (!found) return fail("no mapping of the program");

    snprintf(path, sizeof path, "/proc/%d/mem", (int)child);
    int memory = open(path, O_RDWR);
    if (memory < 0) return fail(path);
    const unsigned char breakpoint = 0xCC;
    for (size_t i = 0; i < count; i++) {
        off_t at = (off_t)(base + functions[i].address);
        if (pread(memory, &functions[i].original, 1, at) != 1 || pwrite(memory, &breakpoint, 1, at) != 1) return fail("patch");
    }

    size_t entered = 0;
    ptrace(PTRACE_CONT, child, 0, 0);
    for (;;) {
        pid_t thread = waitpid(-1, &status, __WALL);
        if (thread < 0) {
            if (errno == EINTR) continue;
            break;
        }
        if (WIFEXITED(status) || WIFSIGNALED(status)) {
            if (thread == child) break;
            continue;
        }
        if (!WIFSTOPPED(status)) continue;
        int signal = WSTOPSIG(status);
        if (status >> 16) {  // a ptrace event (a new thread): nothing to deliver
            ptrace(PTRACE_CONT, thread, 0, 0);
            continue;
        }
        if (signal == SIGTRAP) {
            struct user_regs_struct registers;
            ptrace(PTRACE_GETREGS, thread, 0, &registers);
            Function *function = lookup(registers.rip - 1 - base);
            if (function) {
                // Another thread may have stopped at the same breakpoint before it was removed: it only steps back.
                if (!function->entered) {
                    function->entered = 1;
                    entered++;
                    if (pwrite(memory, &function->original, 1, (off_t)(registers.rip - 1)) != 1) return fail("restore");
                    fprintf(out, "%llx\n", (unsigned long long)function->address);
                }
                registers.rip -= 1;
                ptrace(PTRACE_SETREGS, thread, 0, &registers);
                ptrace(PTRACE_CONT, thread, 0, 0);
                continue;
            }
        }
        // A new thread starts stopped; anything else is the program's own signal.
        ptrace(PTRACE_CONT, thread, 0, signal == SIGSTOP ? 0 : signal);
    }
    fclose(out);
    fprintf(stderr, "fntrace: %s entered %zu of %zu functions\n", argv[3], entered, count);
    return 0;
}
