/** The remote-read role: POST /read and /api/v1/read answered from PostgreSQL. */
export { registerRead } from './handler.js';
export { PROMETHEUS_MATCHING, prometheusMatching } from './matchers.js';
