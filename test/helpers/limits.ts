/** The decoder limits an ingress runs with by default, read from the flag table's defaults. */
import { parseConfig } from '../../src/config/index.js';
import type { DecodeLimits } from '../../src/protocol/index.js';

const defaults = parseConfig([], {});

export const DEFAULT_DECODE_LIMITS: DecodeLimits = defaults.ingress.limits.decode;

export const DEFAULT_MAX_DECOMPRESSED_BYTES = defaults.ingress.limits.maxDecompressedBytes;
export const DEFAULT_MAX_FUTURE_MS = defaults.ingress.limits.maxFutureMs;
