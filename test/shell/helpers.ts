/**
 * Bounded waits for loopback tests: every wait ends with a value or a clear timeout error.
 */
import { once } from 'node:events';
import type { EventEmitter } from 'node:events';
import net from 'node:net';
import { MeshSocket } from '../../src/shell/api/mesh.js';
import type { MeshDeps, MeshSocketOptions } from '../../src/shell/api/socket.js';
import type { Core } from '../../src/shell/net/runtime.js';

/** How long any single wait in a shell test may take. */
export const WAIT_MS = 5_000;

/** Resolves with an event's arguments, or rejects after `ms`. */
export const waitEvent = async <T extends unknown[]>(emitter: EventEmitter, name: string, ms = WAIT_MS): Promise<T> =>
  (await once(emitter, name, { signal: AbortSignal.timeout(ms) })) as T;

/** Resolves once `check` holds, re-checking whenever `emitter` emits one of `names`; rejects after `ms`. */
export const waitUntil = (emitter: EventEmitter, names: ReadonlyArray<string>, check: () => boolean, what: string, ms = WAIT_MS): Promise<void> =>
  new Promise((resolve, reject) => {
    if (check()) return resolve();
    const timer = setTimeout(() => {
      done();
      reject(new Error(`timed out after ${ms} ms waiting for ${what}`));
    }, ms);
    const listener = (): void => {
      if (check()) {
        done();
        resolve();
      }
    };
    const done = (): void => {
      clearTimeout(timer);
      for (const n of names) emitter.off(n, listener);
    };
    for (const n of names) emitter.on(n, listener);
  });

/** Resolves once `check` holds, re-checked every millisecond (for a change no event announces); rejects after `ms`. */
export const pollUntil = async (check: () => boolean, what: string, ms = WAIT_MS): Promise<void> => {
  const deadline = Date.now() + ms;
  while (!check()) {
    if (Date.now() >= deadline) throw new Error(`timed out after ${ms} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 1));
  }
};

/** `deps` whose cores step through `around`, which is given the core's own `step` to call. */
export const aroundStep = <S>(deps: MeshDeps<S>, around: (step: Core<S>['step'], ...args: Parameters<Core<S>['step']>) => ReturnType<Core<S>['step']>): MeshDeps<S> => ({
  ...deps,
  makeCore: (config) => {
    const core = deps.makeCore(config);
    return { ...core, step: (state, input) => around(core.step, state, input) };
  },
});

/** Rejects with a clear error if `p` has not settled after `ms`. */
export const within = <T>(p: Promise<T>, what: string, ms = WAIT_MS): Promise<T> =>
  new Promise<T>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms waiting for ${what}`)), ms);
    p.then(
      (v) => {
        clearTimeout(timer);
        resolve(v);
      },
      (e: unknown) => {
        clearTimeout(timer);
        reject(e instanceof Error ? e : new Error(String(e)));
      },
    );
  });

/**
 * A raw TCP connection to a loopback node on `port`, and whether it has closed. What the node
 * writes is read and discarded, so its FIN is seen (a test that means not to read pauses it).
 */
export const rawConnection = async (port: number): Promise<{ readonly s: net.Socket; readonly closed: () => boolean }> => {
  const s = net.connect({ host: '127.0.0.1', port });
  let closed = false;
  s.on('error', () => undefined);
  s.on('close', () => (closed = true));
  s.resume();
  await within(waitEvent(s, 'connect'), 'raw connect');
  return { s, closed: () => closed };
};

/**
 * Loopback MeshSockets for one test file: `node(options)` starts one (on 127.0.0.1, silent) once it
 * listens, and `closeAll()` (for `afterEach`) closes every one started since.
 */
export const meshNodes = (): { readonly node: (options?: MeshSocketOptions) => Promise<MeshSocket>; readonly closeAll: () => Promise<void> } => {
  const open: MeshSocket[] = [];
  return {
    node: async (options = {}) => {
      const s = new MeshSocket({ host: '127.0.0.1', debugLevel: 'silent', ...options });
      open.push(s);
      await within(s.ready, 'listen');
      return s;
    },
    closeAll: async () => {
      await Promise.all(open.splice(0).map((s) => s.close()));
    },
  };
};
