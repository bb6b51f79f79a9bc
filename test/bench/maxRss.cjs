// Preloaded into the CLI process by the benchmark (`node -r test/bench/maxRss.cjs ...`):
// on exit it writes the process's RSS high-water mark, in kilobytes, to the file named by
// IG_BENCH_MAXRSS_FILE. resourceUsage() is getrusage(2), so this is the kernel's own peak
// for the whole process (heap, buffers, native), not a sample that could miss the top.
'use strict';
const { writeFileSync } = require('node:fs');

const out = process.env.IG_BENCH_MAXRSS_FILE;
if (out) {
  process.on('exit', () => {
    writeFileSync(out, String(process.resourceUsage().maxRSS));
  });
}
