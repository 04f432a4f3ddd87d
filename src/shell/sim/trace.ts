/**
 * A simulation's trace: every input a node stepped on and every effect it produced, in order,
 * with the virtual time. It is folded into a SHA-256 hash as it goes (so two runs compare by one
 * string) and, when asked, the most recent lines are kept in a bounded ring for failure reports.
 */
import { createHash, type Hash } from 'node:crypto';

/** How much of the trace to keep: nothing, the running hash, or the hash and the latest lines. */
export type TraceMode = 'off' | 'hash' | 'lines';

/** Every trace mode. */
export const TRACE_MODES: ReadonlyArray<TraceMode> = ['off', 'hash', 'lines'];

/** Lines kept by default in `lines` mode. */
export const TRACE_LINES_MAX = 10_000;

/** A running trace. */
export class Trace {
  private readonly hash: Hash | undefined;
  private readonly ring: string[] = [];
  private ringStart = 0;
  private count = 0;

  /** A trace in the given mode, keeping at most `linesMax` lines in `lines` mode. */
  constructor(
    readonly mode: TraceMode,
    private readonly linesMax: number = TRACE_LINES_MAX,
  ) {
    this.hash = mode === 'off' ? undefined : createHash('sha256');
  }

  /** Whether anything is recorded (callers skip building lines when not). */
  get on(): boolean {
    return this.hash !== undefined;
  }

  /** Appends a line, with optional bytes that go into the hash (not into the kept line). */
  add(text: string, bytes?: Uint8Array): void {
    if (this.hash === undefined) return;
    this.count++;
    this.hash.update(text);
    this.hash.update('\n');
    if (bytes !== undefined) this.hash.update(bytes);
    if (this.mode !== 'lines') return;
    if (this.ring.length < this.linesMax) this.ring.push(text);
    else {
      this.ring[this.ringStart] = text;
      this.ringStart = (this.ringStart + 1) % this.linesMax;
    }
  }

  /** The hash of everything so far (hex), or '' when the trace is off. */
  digest(): string {
    return this.hash === undefined ? '' : this.hash.copy().digest('hex');
  }

  /** How many lines were added. */
  get length(): number {
    return this.count;
  }

  /** The kept lines, oldest first (empty unless the mode is `lines`). */
  lines(): ReadonlyArray<string> {
    return [...this.ring.slice(this.ringStart), ...this.ring.slice(0, this.ringStart)];
  }
}
