// The kernel worker pool: persistent threads that spin for a while after each job before
// they sleep. A training step forks a few hundred times, every few hundred microseconds;
// waking a sleeping thread for each fork costs tens of microseconds on bare metal and up to
// ~100 µs on a virtual machine (the idle vCPU must be woken by the host), which is as long
// as the work it was woken for. Spinning between forks is what OpenMP does for PyTorch.

#include "edgenas_kernels.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <time.h>
#include <unistd.h>

// How long an idle worker spins before it sleeps: longer than the gaps between the forks of
// one training step, short enough that a finished step does not keep a core busy.
enum { SPIN_NANOSECONDS = 300 * 1000 };

static pthread_once_t startOnce = PTHREAD_ONCE_INIT;
static int workerCount;  // threads besides the caller; 0 when the machine has one processor

// One job at a time, owned by the caller that holds `ownerLock`. `ticket` packs the job's
// generation (high 32 bits) with the next unclaimed iteration (low 32 bits), so that a
// claim can never take an iteration of a job other than the one it saw published.
static pthread_mutex_t ownerLock = PTHREAD_MUTEX_INITIALIZER;
static uint64_t generation;  // guarded by ownerLock
static _Atomic uint64_t ticket;
static _Atomic long jobIterations;
static _Atomic(edgenas_pool_body) jobBody;
static _Atomic(void *) jobContext;
static _Atomic long unfinished;

static pthread_mutex_t sleepLock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t wakeUp = PTHREAD_COND_INITIALIZER;
static _Atomic int sleepers;

static inline void cpu_relax(void) {
#if defined(__x86_64__) || defined(__i386__)
    __builtin_ia32_pause();
#elif defined(__aarch64__)
    __asm__ __volatile__("yield");
#endif
}

static inline uint64_t now_nanoseconds(void) {
    struct timespec time;
    clock_gettime(CLOCK_MONOTONIC, &time);
    return (uint64_t)time.tv_sec * 1000000000u + (uint64_t)time.tv_nsec;
}

// Claims the next iteration of job `jobGeneration`; 0 when it has none left (or is over).
static int claim(uint64_t jobGeneration, long *index) {
    uint64_t current = atomic_load_explicit(&ticket, memory_order_acquire);
    for (;;) {
        if ((current >> 32) != jobGeneration) return 0;
        const long next = (long)(current & 0xffffffffu);
        if (next >= atomic_load_explicit(&jobIterations, memory_order_relaxed)) return 0;
        if (atomic_compare_exchange_weak_explicit(&ticket, &current, current + 1, memory_order_acq_rel,
                                                  memory_order_acquire)) {
            *index = next;
            return 1;
        }
    }
}

// Runs every iteration of job `jobGeneration` this thread can claim.
static void work_on(uint64_t jobGeneration) {
    long index;
    while (claim(jobGeneration, &index)) {
        // Read after the claim: the job cannot end, nor be replaced, while an iteration is unfinished.
        edgenas_pool_body body = atomic_load_explicit(&jobBody, memory_order_relaxed);
        void *context = atomic_load_explicit(&jobContext, memory_order_relaxed);
        body(context, index);
        atomic_fetch_sub_explicit(&unfinished, 1, memory_order_release);
    }
}

static void *worker_main(void *unused) {
    (void)unused;
    uint64_t seen = 0;
    for (;;) {
        uint64_t current = atomic_load_explicit(&ticket, memory_order_acquire) >> 32;
        if (current == seen) {
            const uint64_t start = now_nanoseconds();
            unsigned spins = 0;
            while ((current = atomic_load_explicit(&ticket, memory_order_acquire) >> 32) == seen) {
                cpu_relax();
                if (++spins % 256 == 0 && now_nanoseconds() - start > SPIN_NANOSECONDS) {
                    pthread_mutex_lock(&sleepLock);
                    atomic_fetch_add(&sleepers, 1);  // sequentially consistent: pairs with the publisher's load
                    while ((current = atomic_load(&ticket) >> 32) == seen) pthread_cond_wait(&wakeUp, &sleepLock);
                    atomic_fetch_sub(&sleepers, 1);
                    pthread_mutex_unlock(&sleepLock);
                    break;
                }
            }
        }
        seen = current;
        work_on(seen);
    }
    return NULL;
}

static void start_workers(void) {
    const long processors = sysconf(_SC_NPROCESSORS_ONLN);
    const int wanted = processors > 1 ? (int)(processors - 1) : 0;
    pthread_attr_t attributes;
    pthread_attr_init(&attributes);
    pthread_attr_setdetachstate(&attributes, PTHREAD_CREATE_DETACHED);
    for (int i = 0; i < wanted; i++) {
        pthread_t thread;
        if (pthread_create(&thread, &attributes, worker_main, NULL) == 0) workerCount++;
    }
    pthread_attr_destroy(&attributes);
}

int edgenas_pool_run(long iterations, edgenas_pool_body body, void *context) {
    if (iterations <= 0) return 1;
    if (iterations > 0xffffffffL) return 0;
    pthread_once(&startOnce, start_workers);
    if (workerCount == 0) return 0;
    if (pthread_mutex_trylock(&ownerLock) != 0) return 0;  // another run's job: the caller falls back
    const uint64_t jobGeneration = ++generation;
    atomic_store_explicit(&jobIterations, iterations, memory_order_relaxed);
    atomic_store_explicit(&jobBody, body, memory_order_relaxed);
    atomic_store_explicit(&jobContext, context, memory_order_relaxed);
    atomic_store_explicit(&unfinished, iterations, memory_order_relaxed);
    atomic_store(&ticket, jobGeneration << 32);  // publishes the job (sequentially consistent)
    if (atomic_load(&sleepers) > 0) {
        pthread_mutex_lock(&sleepLock);
        pthread_cond_broadcast(&wakeUp);
        pthread_mutex_unlock(&sleepLock);
    }
    work_on(jobGeneration);
    while (atomic_load_explicit(&unfinished, memory_order_acquire) > 0) cpu_relax();
    pthread_mutex_unlock(&ownerLock);
    return 1;
}
