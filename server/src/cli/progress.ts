/**
 * Progress on stderr, only once work has taken longer than a moment: redrawn in place on
 * a terminal, an occasional plain line when stderr is a pipe or a CI log.
 */
export class ProgressLine {
  private readonly started = Date.now();
  private lastPrint = 0;
  private shown = false;

  constructor(
    private readonly stream: NodeJS.WriteStream,
    /** Milliseconds of silence before the first progress is shown; Infinity for never. */
    private readonly delayMs: number,
  ) {}

  update(message: string): void {
    const now = Date.now();
    if (now - this.started < this.delayMs) return;
    if (this.stream.isTTY) {
      if (now - this.lastPrint < 80) return;
      this.stream.write(`\r${message.slice(0, Math.max(10, (this.stream.columns ?? 80) - 1))}\x1b[K`);
    } else {
      if (now - this.lastPrint < 5000) return;
      this.stream.write(`${message}\n`);
    }
    this.lastPrint = now;
    this.shown = true;
  }

  clear(): void {
    if (this.shown && this.stream.isTTY) this.stream.write('\r\x1b[K');
    this.shown = false;
  }
}
