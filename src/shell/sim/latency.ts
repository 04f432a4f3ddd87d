/**
 * Link latency models: how long a write takes to reach the other end of a virtual link.
 * Links stay FIFO whatever is drawn: the network never lets a later write overtake an earlier one
 * on the same connection, as TCP would not.
 */
import type { Prng } from './prng.js';
import { shown } from '../api/arguments.js';
import { BadArgument } from '../api/errors.js';

/** A one-way latency distribution, in milliseconds. */
export type Latency =
  | { readonly _tag: 'Constant'; readonly ms: number }
  | { readonly _tag: 'Uniform'; readonly minMs: number; readonly maxMs: number }
  /** `minMs` plus an exponential tail with mean `meanMs`, cut at `capMs` if given. */
  | { readonly _tag: 'Exponential'; readonly minMs: number; readonly meanMs: number; readonly capMs?: number };

/**
 * Returns `model` if it is a latency model every draw of which is a finite number of
 * milliseconds ≥ 0: each of its numbers finite and ≥ 0, and a uniform's `minMs` ≤ `maxMs`.
 * Throws `BadArgument` naming the bad field otherwise.
 */
export const checkLatency = (model: Latency): Latency => {
  const m = model as Latency | null | undefined;
  const span = (name: string, ms: unknown): void => {
    if (typeof ms !== 'number' || !Number.isFinite(ms) || ms < 0) throw new BadArgument(`latency ${model._tag}: ${name} must be a finite number of ms ≥ 0, got ${shown(ms)}`);
  };
  switch (m?._tag) {
    case 'Constant':
      span('ms', m.ms);
      return model;
    case 'Uniform':
      span('minMs', m.minMs);
      span('maxMs', m.maxMs);
      if (m.minMs > m.maxMs) throw new BadArgument(`latency Uniform: minMs (${m.minMs}) is above maxMs (${m.maxMs})`);
      return model;
    case 'Exponential':
      span('minMs', m.minMs);
      span('meanMs', m.meanMs);
      if (m.capMs !== undefined) span('capMs', m.capMs);
      return model;
    default:
      throw new BadArgument(`latency must be a Constant, Uniform or Exponential model, got ${shown(model)}`);
  }
};

/** Constructors for the latency models; each throws `BadArgument` as `checkLatency` does. */
export const latency = {
  /** Always `ms`. */
  constant: (ms: number): Latency => checkLatency({ _tag: 'Constant', ms }),
  /** Uniform on [minMs, maxMs]. */
  uniform: (minMs: number, maxMs: number): Latency => checkLatency({ _tag: 'Uniform', minMs, maxMs }),
  /** `minMs` plus an exponential tail of mean `meanMs` (cut at `capMs` if given). */
  exponential: (minMs: number, meanMs: number, capMs?: number): Latency =>
    checkLatency(capMs === undefined ? { _tag: 'Exponential', minMs, meanMs } : { _tag: 'Exponential', minMs, meanMs, capMs }),
} as const;

/** Draws one latency, in whole milliseconds (at least 0). */
export const drawLatency = (model: Latency, rng: Prng): number => {
  switch (model._tag) {
    case 'Constant':
      return Math.max(0, Math.round(model.ms));
    case 'Uniform':
      return Math.max(0, Math.round(model.minMs + rng.float() * (model.maxMs - model.minMs)));
    case 'Exponential': {
      const tail = rng.exponential(model.meanMs);
      const capped = model.capMs === undefined ? tail : Math.min(tail, model.capMs);
      return Math.max(0, Math.round(model.minMs + capped));
    }
  }
};

/** The largest latency a model can draw (the cap for an uncapped exponential is its mean × 20). */
export const latencyBoundMs = (model: Latency): number => {
  switch (model._tag) {
    case 'Constant':
      return model.ms;
    case 'Uniform':
      return model.maxMs;
    case 'Exponential':
      return model.minMs + (model.capMs ?? model.meanMs * 20);
  }
};
