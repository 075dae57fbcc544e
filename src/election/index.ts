export { Elector, type ElectorOptions } from './elector.js';
