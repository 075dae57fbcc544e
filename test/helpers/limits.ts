/** The decoder limits an ingress runs with by default, read from the flag table's defaults. */
import { parseConfig } from '../../src/config/index.js';
import type { DecodeLimits } from '../../src/protocol/index.js';

const defaults = parseConfig([], {});

export const DEFAULT_DECODE_LIMITS: DecodeLimits = Object.freeze({
  maxSeriesPerRequest: defaults['web.max-series-per-request'],
  maxSamplesPerRequest: defaults['web.max-samples-per-request'],
  maxSamplesPerSeries: defaults['web.max-samples-per-series'],
  maxLabelsPerSeries: defaults['web.max-labels-per-series'],
  maxLabelNameBytes: defaults['web.max-label-name-length'],
  maxLabelValueBytes: defaults['web.max-label-value-length'],
});

export const DEFAULT_MAX_DECOMPRESSED_BYTES = defaults['web.max-decompressed-bytes'];
export const DEFAULT_MAX_FUTURE_MS = defaults['web.max-future'];
