// Processes as /proc and kill(0) see them, for tests that kill and count processes.
export function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}
