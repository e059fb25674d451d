// Process bookkeeping for the bench: every child we start is registered here and stopped on
// exit, Ctrl-C, SIGTERM or a crash, by its own pid (never by name). CPU accounting reads /proc,
// so figures are the kernel's, not timers inside the Worker.
import { readdirSync, readFileSync } from 'node:fs';

const cleanups = [];
const pids = new Set();
let exiting = false;

/** Registers an async cleanup (e.g. Miniflare#dispose), run once in reverse order. */
export function onCleanup(fn) {
  cleanups.push(fn);
}

/**
 * Registers a pid we started; SIGKILLed synchronously on process exit if it is still alive and
 * still our child (a pid reused by someone else's process is never touched).
 */
export function trackPid(pid) {
  if (pid) pids.add(pid);
}

export function untrackPid(pid) {
  pids.delete(pid);
}

function parentOf(pid) {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
  } catch {
    return null;
  }
}

export async function runCleanups() {
  while (cleanups.length > 0) {
    const fn = cleanups.pop();
    try {
      await fn();
    } catch (err) {
      console.error(`bench: cleanup failed: ${err instanceof Error ? err.message : String(err)}`);
    }
  }
}

function killTracked() {
  for (const pid of pids) {
    if (parentOf(pid) !== process.pid) continue;
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // Already gone: nothing to do.
    }
  }
  pids.clear();
}

/** Installs the signal and crash handlers once. `main` errors exit 1 after cleanup. */
export function installExitHandlers() {
  const stop = async (code, reason) => {
    if (exiting) return;
    exiting = true;
    if (reason) console.error(`bench: ${reason}; stopping`);
    await runCleanups();
    killTracked();
    process.exit(code);
  };
  process.on('SIGINT', () => void stop(130, 'interrupted'));
  process.on('SIGTERM', () => void stop(143, 'terminated'));
  process.on('uncaughtException', (err) => void stop(1, `uncaught: ${err?.stack ?? err}`));
  process.on('unhandledRejection', (err) => void stop(1, `unhandled rejection: ${err?.stack ?? err}`));
  // Last resort for paths that skip the async cleanup (process.exit elsewhere).
  process.on('exit', killTracked);
  return stop;
}

const CLK_TCK = 100; // Linux USER_HZ: /proc times are in 1/100 s on every mainstream kernel config.

/** Direct children of this process whose command name matches (workerd, spawned by Miniflare). */
export function childPids(comm) {
  const out = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      const name = stat.slice(stat.indexOf('(') + 1, stat.lastIndexOf(')'));
      if (name === comm && parentOf(entry) === process.pid) out.push(Number(entry));
    } catch {
      // The process ended while we listed /proc.
    }
  }
  return out;
}

/** CPU time (ms, user + system) of a process from /proc/<pid>/stat: all threads, including
 * those that already exited, in 10 ms ticks; 0 when the process is gone. */
export function processCpuMs(pid) {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    // After "(comm) ": state is field 0, utime field 11, stime field 12.
    return ((Number(fields[11]) + Number(fields[12])) * 1000) / CLK_TCK;
  } catch {
    return 0;
  }
}

/** Per-thread run time (ns) from each thread's schedstat: precise, but only for live threads. */
function threadTimes(pid) {
  const out = new Map();
  try {
    for (const tid of readdirSync(`/proc/${pid}/task`)) {
      try {
        out.set(tid, Number(readFileSync(`/proc/${pid}/task/${tid}/schedstat`, 'utf8').split(' ')[0]));
      } catch {
        // The thread ended between the listing and the read.
      }
    }
  } catch {
    // Process gone, or no schedstat on this kernel: the tick counters alone will be used.
  }
  return out;
}

function snapshot(pid) {
  return { ticksMs: processCpuMs(pid), threads: threadTimes(pid) };
}

/**
 * CPU ms between two snapshots: nanosecond-precise for the threads alive at the end; when a
 * thread ended in between (its time leaves schedstat), the tick counters, which keep it, give
 * the remainder.
 */
function cpuBetween(a, b) {
  let precise = 0;
  for (const [tid, ns] of b.threads) precise += ns - (a.threads.get(tid) ?? 0);
  precise /= 1e6;
  const ended = [...a.threads.keys()].some((tid) => !b.threads.has(tid));
  const coarse = b.ticksMs - a.ticksMs;
  if (b.threads.size === 0) return coarse;
  return ended ? Math.max(precise, coarse) : precise;
}

/** Machine-wide busy and total CPU time (ms, summed over cores) from /proc/stat. */
export function machineCpuMs() {
  const line = readFileSync('/proc/stat', 'utf8').split('\n')[0].trim().split(/\s+/).slice(1).map(Number);
  const [user, nice, system, idle, iowait, irq, softirq, steal] = line;
  const busy = user + nice + system + irq + softirq + steal;
  return { busy: (busy * 1000) / CLK_TCK, total: ((busy + idle + iowait) * 1000) / CLK_TCK };
}

/**
 * Starts a CPU meter over the given pids, this process and the whole machine. `stop()` returns
 * ms of CPU used by the pids, by this Node process (the load generator), and by everything else.
 */
export function startCpuMeter(targetPids) {
  const t0 = targetPids.map(snapshot);
  const self0 = process.cpuUsage();
  const m0 = machineCpuMs();
  return {
    stop() {
      const target = targetPids.reduce((sum, pid, i) => sum + cpuBetween(t0[i], snapshot(pid)), 0);
      const self = process.cpuUsage(self0);
      const selfMs = (self.user + self.system) / 1000;
      const m1 = machineCpuMs();
      const busy = m1.busy - m0.busy;
      const total = m1.total - m0.total;
      return { targetMs: target, loadGenMs: selfMs, othersMs: Math.max(0, busy - target - selfMs), machineBusyMs: busy, machineTotalMs: total };
    },
  };
}
