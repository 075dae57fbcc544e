import type { WriteHooks } from '../storage/index.js';

/**
 * Test seams in the write path, awaited at the points where a crash or a leadership change
 * matters most: inside the transaction after the samples were copied (before COMMIT), and
 * after COMMIT before the queue is told. Tests stop or kill the process there; production
 * passes none.
 */
export interface WriteSeams {
  readonly afterCopy?: (queue: string) => Promise<void>;
  readonly afterCommit?: (queue: string) => Promise<void>;
}

/** The HA hooks (or none) with the afterCopy seam run last inside the transaction. */
export function withSeams(hooks: WriteHooks | undefined, seams: WriteSeams | undefined, queue: string): WriteHooks | undefined {
  const afterCopy = seams?.afterCopy;
  if (!afterCopy) return hooks;
  return {
    ...hooks,
    async afterWrite(client, summary) {
      await hooks?.afterWrite?.(client, summary);
      await afterCopy(queue);
    },
  };
}
