import { logError, trace } from '../trace';

const COMPONENT = 'registration';

/** How long a process without its own signal handler waits for deregistration before it ends. */
export const SIGNAL_DEREGISTER_TIMEOUT_MS = 5_000;

const SIGNALS: readonly NodeJS.Signals[] = ['SIGINT', 'SIGTERM'];

/** One registration's way out, and what it is called in messages. */
interface SignalDeregistration {
  readonly what: string;
  readonly deregister: () => Promise<void>;
}

/** Every registration of this process that asked to be deregistered on SIGINT/SIGTERM. */
const registrations = new Set<SignalDeregistration>();
let installed = false;
let ending = false;

function install(): void {
  if (installed) return;
  installed = true;
  // First in line, so that an application's `once` listener, which Node removes just before it
  // runs, is still attached when we look.
  for (const signal of SIGNALS) process.prependListener(signal, onSignal);
}

function uninstall(): void {
  if (!installed) return;
  installed = false;
  for (const signal of SIGNALS) process.removeListener(signal, onSignal);
}

/**
 * Deregisters every registration, then: if the application listens for the signal too (decided now,
 * synchronously), leaves the exit to it; otherwise, after a bounded wait, ends the process as Node
 * would have without any listener: by the signal, with its default disposition.
 */
function onSignal(signal: NodeJS.Signals): void {
  const applicationHandles = process.listenerCount(signal) > 1;
  if (ending) {
    // A second signal while we wait: stop waiting.
    endBySignal(signal);
    return;
  }
  const pending = [...registrations].map(({ what, deregister }) =>
    deregister().catch((error: unknown) =>
      logError(COMPONENT, `deregistering ${what} on ${signal} failed: ${(error as Error).message}`),
    ),
  );
  registrations.clear();
  trace(
    COMPONENT,
    `${signal}: deregistering ${pending.length} registration(s); ${applicationHandles ? 'the application handles the exit' : 'then the process ends'}`,
  );
  if (applicationHandles) {
    uninstall();
    return;
  }
  ending = true;
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<void>((resolve) => {
    timer = setTimeout(() => {
      logError(
        COMPONENT,
        `${signal}: deregistration did not finish within ${SIGNAL_DEREGISTER_TIMEOUT_MS} ms; ending the process anyway`,
      );
      resolve();
    }, SIGNAL_DEREGISTER_TIMEOUT_MS);
  });
  void Promise.race([Promise.allSettled(pending), timeout]).then(() => {
    clearTimeout(timer);
    endBySignal(signal);
  });
}

function endBySignal(signal: NodeJS.Signals): void {
  uninstall();
  ending = false;
  // The application may have started listening meanwhile: then the signal is its to handle.
  if (process.listenerCount(signal) > 0) return;
  // With no listener left Node restores the default disposition, so this ends the process by the signal.
  process.kill(process.pid, signal);
}

/**
 * Deregisters on SIGINT and SIGTERM, together with every other registration of the process that
 * asked for it. Returns a function that withdraws this registration (call it on deregister()).
 */
export function deregisterOnSignal(what: string, deregister: () => Promise<void>): () => void {
  const entry: SignalDeregistration = { what, deregister };
  registrations.add(entry);
  install();
  return () => {
    registrations.delete(entry);
    if (registrations.size === 0 && !ending) uninstall();
  };
}
